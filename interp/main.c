/*
** interp/main.c -- the luagil command-line program: the stock lua
** program's options, error reports and REPL, plus luagil's long options.
** See LICENSE for copyright and licence (MIT).
**
** The program behaves like Debian's lua5.4 (Lua 5.4.4) wherever that one
** defines a behaviour, so scripts, shell wrappers and habits carry over.
** Everything that can fail runs inside 'pmain', a C function called in
** protected mode, so that tracebacks end in "[C]: in ?" as stock lua's do.
** At the end the interpreter is shut down (non-daemon threads are joined)
** and closed.
*/

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "explore.h"
#include "luagil.h"
#include "readline.h"


#define PROGNAME      "luagil"
#define PROMPT        "> "
#define PROMPT2       ">> "
#define EOFMARK       "<eof>"
#define INIT_VAR      "LUA_INIT"
#define INIT_VAR_VER  "LUA_INIT_5_4"

/* loadline results besides Lua's status codes */
#define REPL_EOF      (-1)
#define REPL_CANCEL   (-2)

/* Name in front of error messages; NULL inside the REPL, as lua does. */
static const char *progname = PROGNAME;


/* {====================================================================
** Command-line settings
** =====================================================================*/

/* What the command line asked for, filled before the state exists. */
typedef struct Settings {
  int script;              /* index of the script in argv; 0: none */
  int bad;                 /* index of a bad option; 0: none */
  int has_i, has_v, has_e, has_E;
  int help;                /* --help */
  int version;             /* --version */
  double switch_interval;  /* --switch-interval; 0: default */
  const char *preempt;     /* --preempt; NULL: default */
  int dis;                 /* --dis: list the script instead of running it */
  int gil_stats;           /* --gil-stats */
  const char *gil_policy;  /* --gil-policy; NULL: default */
  const char *seed;        /* --seed; NULL: none */
  const char *gil_trace;   /* --gil-trace; NULL: none */
  double dump_after;       /* --dump-after; 0: none */
  int faulthandler;        /* --faulthandler */
  int check_deadlocks;     /* --check-deadlocks */
  long explore;            /* --explore[=RUNS]; 0: none */
  long explore_depth;      /* --explore-depth; 0: default */
  const char *explore_seed;      /* --explore-seed; NULL: 0 */
  const char *explore_strategy;  /* --explore-strategy; NULL: pct */
  const char *explore_trace;     /* --explore-trace; NULL: none */
  long explore_budget;     /* --explore-budget; 0: default (--explore) */
  double explore_tbudget;  /* --explore-time-budget; 0: default */
  int check_locks;         /* --check-locks */
  double gil_warn;         /* --gil-warn; 0: none */
} Settings;


/* How a long option's value is checked and stored. */
typedef enum OptKind {
  OPT_FLAG,      /* no value; stores 1 in an int */
  OPT_POSNUM,    /* a number > 0, stored in a double */
  OPT_CHOICE,    /* one of the words in 'choices', stored as a string */
  OPT_STRING,    /* any non-empty value, stored as a string */
  OPT_COUNT,     /* an integer > 0, stored in a long */
  OPT_OPTCOUNT   /* OPT_COUNT, or no value: -1 */
} OptKind;


/*
** luagil's own options, "--name" or "--name=value". A new option is one
** line here plus its field in Settings.
*/
typedef struct LongOpt {
  const char *name;      /* without the leading "--" */
  OptKind kind;
  size_t field;          /* offsetof the destination in Settings */
  const char *choices;   /* OPT_CHOICE: "a|b|c"; else the value's name */
  const char *help;
} LongOpt;

static const LongOpt longopts[] = {
  {"switch-interval", OPT_POSNUM, offsetof(Settings, switch_interval),
   "SECONDS", "GIL switch interval (default 0.005)"},
  {"preempt", OPT_CHOICE, offsetof(Settings, preempt),
   "any|safe", "where threads may be switched (default any)"},
  {"gil-policy", OPT_STRING, offsetof(Settings, gil_policy),
   "POLICY", "GIL switching policy (default interval): interval[:free],"
   " ticks[:N], priority-io[:K], deterministic[:N], gvl[:MS]"},
  {"seed", OPT_STRING, offsetof(Settings, seed),
   "N", "seed the deterministic policy, 'any' and math.random"},
  {"gil-stats", OPT_FLAG, offsetof(Settings, gil_stats),
   NULL, "print per-thread GIL statistics on stderr at exit"},
  {"gil-trace", OPT_STRING, offsetof(Settings, gil_trace),
   "FILE.json|FILE.html", "record a GIL timeline (Perfetto JSON or HTML)"},
  {"gil-warn", OPT_POSNUM, offsetof(Settings, gil_warn),
   "SECONDS", "warn of a thread keeping the GIL past a request"},
  {"dis", OPT_FLAG, offsetof(Settings, dis),
   NULL, "list the script's bytecode instead of running it"},
  {"dump-after", OPT_POSNUM, offsetof(Settings, dump_after),
   "SECONDS", "dump every thread's traceback and exit 1 if still running"},
  {"faulthandler", OPT_FLAG, offsetof(Settings, faulthandler),
   NULL, "on a fatal signal, write where each thread was"},
  {"check-deadlocks", OPT_FLAG, offsetof(Settings, check_deadlocks),
   NULL, "a wait that would close a cycle raises DeadlockError"},
  {"explore", OPT_OPTCOUNT, offsetof(Settings, explore),
   "RUNS", "try up to RUNS schedules (100); print how to replay a "
   "failure"},
  {"explore-depth", OPT_COUNT, offsetof(Settings, explore_depth),
   "D", "PCT's depth, D - 1 change points (default 3)"},
  {"explore-seed", OPT_STRING, offsetof(Settings, explore_seed),
   "S", "seed of the search (default 0)"},
  {"explore-strategy", OPT_CHOICE, offsetof(Settings, explore_strategy),
   "pct|random", "how --explore draws schedules"},
  {"explore-trace", OPT_STRING, offsetof(Settings, explore_trace),
   "FILE.html|FILE.json", "the failing run's GIL timeline"},
  {"explore-budget", OPT_COUNT, offsetof(Settings, explore_budget),
   "STEPS", "instructions a deterministic run may take"},
  {"explore-time-budget", OPT_POSNUM, offsetof(Settings, explore_tbudget),
   "SECONDS", "virtual seconds a deterministic run may take"},
  {"check-locks", OPT_FLAG, offsetof(Settings, check_locks),
   NULL, "report locks taken in both orders"},
  {"help", OPT_FLAG, offsetof(Settings, help),
   NULL, "show this help and exit"},
  {"version", OPT_FLAG, offsetof(Settings, version),
   NULL, "show luagil's and Lua's versions and exit"},
  {NULL, OPT_FLAG, 0, NULL, NULL}
};


static void writeout (const char *s) {
  fputs(s, stdout);
  fflush(stdout);
}


static void message (const char *pname, const char *msg) {
  if (pname != NULL)
    fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}


/* -v, and the REPL's banner: stock lua's line alone, since scripts and
   build tools parse it. */
static void print_version (void) {
  writeout(LUA_COPYRIGHT "\n");
}


/* --version: luagil's version, then the Lua it runs. */
static void print_luagil_version (void) {
  writeout(LUAGIL_VERSION "\n" LUA_COPYRIGHT "\n");
}


static void print_stock_options (FILE *f) {
  fprintf(f,
    "usage: %s [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat   execute string 'stat'\n"
    "  -i        enter interactive mode after executing 'script'\n"
    "  -l mod    require library 'mod' into global 'mod'\n"
    "  -l g=mod  require library 'mod' into global 'g'\n"
    "  -v        show version information\n"
    "  -E        ignore environment variables\n"
    "  -W        turn warnings on\n"
    "  --        stop handling options\n"
    "  -         stop handling options and execute stdin\n",
    progname);
}


/* The same report as stock lua's, word for word, on a bad option. */
static void print_usage (const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if (badoption[1] == 'e' || badoption[1] == 'l')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  print_stock_options(stderr);
  fflush(stderr);
}


static void print_help (void) {
  const LongOpt *o;
  print_stock_options(stdout);
  printf("luagil options (anywhere before the script name):\n");
  for (o = longopts; o->name != NULL; o++) {
    char left[64];
    if (o->kind == OPT_FLAG)
      snprintf(left, sizeof left, "--%s", o->name);
    else if (o->kind == OPT_OPTCOUNT)
      snprintf(left, sizeof left, "--%s[=%s]", o->name, o->choices);
    else
      snprintf(left, sizeof left, "--%s=%s", o->name, o->choices);
    printf("  %-26s %s\n", left, o->help);
  }
  fflush(stdout);
}


static int choice_ok (const char *choices, const char *value) {
  size_t len = strlen(value);
  const char *p = choices;
  while (len > 0) {
    const char *bar = strchr(p, '|');
    size_t n = (bar != NULL) ? (size_t)(bar - p) : strlen(p);
    if (n == len && strncmp(p, value, len) == 0)
      return 1;
    if (bar == NULL)
      return 0;
    p = bar + 1;
  }
  return 0;
}


/*
** Check and store the value of one long option. Returns 0 after writing
** a message when the value is missing or wrong.
*/
static int set_longopt (Settings *s, const LongOpt *o, const char *value) {
  char *dest = (char *)s + o->field;
  char *end;
  double d;
  if (o->kind == OPT_FLAG) {
    if (value == NULL) {
      *(int *)dest = 1;
      return 1;
    }
    fprintf(stderr, "%s: option '--%s' takes no value\n", progname, o->name);
    return 0;
  }
  if (o->kind == OPT_OPTCOUNT && value == NULL) {
    *(long *)dest = -1;
    return 1;
  }
  if (value == NULL) {
    fprintf(stderr, "%s: option '--%s' needs a value: --%s=%s\n",
            progname, o->name, o->name, o->choices);
    return 0;
  }
  switch (o->kind) {
    case OPT_POSNUM:
      errno = 0;
      d = strtod(value, &end);
      if (end != value && *end == '\0' && errno == 0 && isfinite(d)
          && d > 0) {
        *(double *)dest = d;
        return 1;
      }
      fprintf(stderr, "%s: bad value '%s' for option '--%s' "
              "(a number of seconds greater than 0 expected)\n",
              progname, value, o->name);
      return 0;
    case OPT_CHOICE:
      if (choice_ok(o->choices, value)) {
        *(const char **)dest = value;
        return 1;
      }
      fprintf(stderr, "%s: bad value '%s' for option '--%s' "
              "(expected one of: %s)\n", progname, value, o->name, o->choices);
      return 0;
    case OPT_COUNT: case OPT_OPTCOUNT: {
      long v;
      errno = 0;
      v = strtol(value, &end, 10);
      if (end != value && *end == '\0' && errno == 0 && v > 0) {
        *(long *)dest = v;
        return 1;
      }
      fprintf(stderr, "%s: bad value '%s' for option '--%s' "
              "(an integer greater than 0 expected)\n",
              progname, value, o->name);
      return 0;
    }
    case OPT_STRING:
      if (*value != '\0') {
        *(const char **)dest = value;
        return 1;
      }
      fprintf(stderr, "%s: option '--%s' needs a value: --%s=%s\n",
              progname, o->name, o->name, o->choices);
      return 0;
    default:
      return 0;
  }
}


/*
** A "--name[=value]" argument. Returns 1 if it is a known option with a
** good value, 0 if it is unknown (a usage error), -1 if its value is bad
** (the message is already written).
*/
static int longopt (Settings *s, const char *arg) {
  const LongOpt *o;
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  size_t len = (eq != NULL) ? (size_t)(eq - name) : strlen(name);
  for (o = longopts; o->name != NULL; o++) {
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
      return set_longopt(s, o, eq != NULL ? eq + 1 : NULL) ? 1 : -1;
  }
  return 0;
}


/*
** Scan the options before the script name, with stock lua's rules plus
** the long options. Sets s->script (0 when there is none) and, on a
** usage error, s->bad. Returns 0 on a bad long-option value.
*/
static int collectargs (char **argv, Settings *s) {
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (a[0] != '-') {  /* the script name */
      s->script = i;
      return 1;
    }
    switch (a[1]) {
      case '-':
        if (a[2] == '\0') {  /* "--": the next argument is the script */
          s->script = (argv[i + 1] != NULL) ? i + 1 : 0;
          return 1;
        }
        switch (longopt(s, a)) {
          case 1: break;
          case 0: s->bad = i; return 1;
          default: return 0;
        }
        break;
      case '\0':  /* "-": the script is stdin */
        s->script = i;
        return 1;
      case 'E': case 'W': case 'i': case 'v':
        if (a[2] != '\0') {
          s->bad = i;
          return 1;
        }
        if (a[1] == 'E') s->has_E = 1;
        else if (a[1] == 'i') s->has_i = s->has_v = 1;  /* -i implies -v */
        else if (a[1] == 'v') s->has_v = 1;
        break;
      case 'e': case 'l':
        if (a[1] == 'e') s->has_e = 1;
        if (a[2] == '\0') {  /* the argument is the next word */
          if (argv[i + 1] == NULL || argv[i + 1][0] == '-') {
            s->bad = i;
            return 1;
          }
          i++;
        }
        break;
      default:
        s->bad = i;
        return 1;
    }
  }
  s->script = 0;
  return 1;
}

/* }==================================================================== */


/* {====================================================================
** Running chunks
** =====================================================================*/

/*
** The text of an error object, as a string pushed on the stack: a string
** (or number) as is, else what __tostring makes of it, else its type.
*/
static const char *pusherrortext (lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1);
  }
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (lua_type(L, -1) == LUA_TSTRING)
      return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return lua_pushfstring(L, "(error object is a %s value)",
                         luaL_typename(L, idx));
}


/*
** Set when a chunk ended by _thread.exit() (Python's SystemExit): the
** program runs nothing more and exits with status 0, saying nothing.
*/
static int quietexit = 0;


/* Report a failed status: the message on top of the stack is popped. */
static int report (lua_State *L, int status) {
  if (status != LUA_OK && luagil_isexit(L, -1)) {
    quietexit = 1;
    lua_pop(L, 1);  /* the exit object */
  }
  else if (status != LUA_OK) {
    lg_explore_mainerror(pusherrortext(L, -1));
    message(progname, lua_tostring(L, -1));
    lua_pop(L, 2);  /* the text and the error object */
  }
  return status;
}


/* Is the value at 'idx' a threading.DeadlockError? */
static int isdeadlock (lua_State *L, int idx) {
  int top = lua_gettop(L), r = 0;
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "threading") == LUA_TTABLE &&
      lua_getfield(L, -1, "DeadlockError") != LUA_TNIL &&
      lua_getfield(L, -1, "is") == LUA_TFUNCTION) {
    lua_insert(L, -2);  /* is, DeadlockError */
    lua_pushvalue(L, idx);
    r = lua_pcall(L, 2, 1, 0) == LUA_OK && lua_toboolean(L, -1);
  }
  lua_settop(L, top);
  return r;
}


/* An uncaught deadlock report was made: the threads it found blocked stay
** so, and the wait for them at exit (luagil_shutdown) does not say it
** again. */
static int deadlock_reported = 0;


/*
** Message handler: a traceback after the message. An error object with a
** __tostring that gives a string is shown by that string alone, as stock
** lua does.
*/
static int msghandler (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (luagil_isexit(L, 1))
    return 1;  /* no traceback: report() ends the program quietly */
  if (isdeadlock(L, 1))
    deadlock_reported = 1;
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}


/*
** Call the function below 'narg' arguments with the message handler.
** No SIGINT handler here: luagil turns Ctrl-C into an error by itself.
*/
static int docall (lua_State *L, int narg, int nres) {
  int status;
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}


/*
** The chunk on stdin, loaded as luaL_loadfile(L, NULL) would (a UTF-8 BOM
** and a first line starting with '#' are skipped, the line's newline kept
** for the line numbers, even before a binary chunk, as lua5.4 keeps it
** for stdin), but read first with the GIL released and Ctrl-C aware: the
** wait for a script piped in slowly, or typed, ends with "interrupted!"
** as other waits do.
*/
static int loadstdin (lua_State *L) {
  char *data;
  size_t len, start = 0;
  int status;
  switch (readstdin_nogil(&data, &len)) {
    case 1:
      lua_pushliteral(L, "interrupted!");
      return LUA_ERRRUN;
    case -1:
      lua_pushfstring(L, "cannot read stdin: %s", strerror(errno));
      return LUA_ERRFILE;
  }
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
    start = 3;
  if (start < len && data[start] == '#') {  /* up to its newline */
    const char *nl = memchr(data + start, '\n', len - start);
    start = (nl != NULL) ? (size_t)(nl - data) : len;
  }
  status = luaL_loadbufferx(L, data + start, len - start, "=stdin", NULL);
  free(data);
  return status;
}


/* luaL_loadfile, except for stdin (NULL): loadstdin. */
static int loadfile (lua_State *L, const char *name) {
  return name != NULL ? luaL_loadfile(L, name) : loadstdin(L);
}


static int dochunk (lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return report(L, status);
}


static int dofile (lua_State *L, const char *name) {
  return dochunk(L, loadfile(L, name));
}


static int dostring (lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}


/* -l mod, or -l g=mod: global g = require("mod"). */
static int dolibrary (lua_State *L, const char *spec) {
  int status;
  const char *eq = strchr(spec, '=');
  const char *modname = (eq != NULL) ? eq + 1 : spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  status = docall(L, 1, 1);
  if (status == LUA_OK) {
    if (eq != NULL)
      lua_pushlstring(L, spec, (size_t)(eq - spec));
    else
      lua_pushstring(L, spec);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));  /* the name stays anchored */
    lua_pop(L, 1);
  }
  return report(L, status);
}


/* Push arg[1..#arg]; they become the main chunk's '...'. */
static int pushargs (lua_State *L) {
  int i, n;
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}


/* --dis: push require("dis").dis below the loaded script on top. */
static void dis_script (lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "dis");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "dis");
  lua_remove(L, -2);  /* the module */
  lua_insert(L, -2);  /* dis.dis, f */
}


static int handle_script (lua_State *L, char **argv, int dis) {
  int status;
  const char *fname = argv[0];
  /* "-" is stdin, except after "--", where it names a file */
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
    fname = NULL;
  status = loadfile(L, fname);
  if (status == LUA_OK && dis) {
    dis_script(L);
    status = docall(L, 1, 0);
  }
  else if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}


/*
** arg[0] is the script; options and the interpreter take the negative
** indices, script arguments the positive ones. With no script, the
** interpreter is arg[0].
*/
static void createargtable (lua_State *L, char **argv, int argc, int script) {
  int i;
  lua_createtable(L, argc - script - 1, script + 1);  /* never negative */
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}


static int handle_luainit (lua_State *L) {
  const char *name = "=" INIT_VAR_VER;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=" INIT_VAR;
    init = getenv(name + 1);
  }
  if (init == NULL)
    return LUA_OK;
  if (init[0] == '@')
    return dofile(L, init + 1);
  return dostring(L, init, name);
}


/* Run -e, -l and -W in order, up to the script. Returns 0 on a failure. */
static int runargs (lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option == 'e' || option == 'l') {
      int status;
      const char *extra = argv[i] + 2;
      if (*extra == '\0')
        extra = argv[++i];
      status = (option == 'e') ? dostring(L, extra, "=(command line)")
                               : dolibrary(L, extra);
      if (status != LUA_OK)
        return 0;
    }
    else if (option == 'W')
      lua_warning(L, "@on", 0);
  }
  return 1;
}

/* }==================================================================== */


/* {====================================================================
** The REPL, as stock lua's
** =====================================================================*/

/*
** The prompt, from _PROMPT or _PROMPT2 if set (any value, converted as
** tostring does, __tostring included), else the default. Leaves one value
** on the stack for the caller to pop. A __tostring that fails raises.
*/
static const char *get_prompt (lua_State *L, int firstline) {
  const char *p;
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
    return firstline ? PROMPT : PROMPT2;
  p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);  /* the global's value; its string stays */
  return p;
}


/* Is the syntax error in the message on top the end of an unfinished chunk? */
static int incomplete (lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg, lmark = sizeof(EOFMARK) - 1;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}


/*
** Push the next line. Returns READ_LINE, or READ_EOF / READ_CANCEL with
** nothing pushed.
*/
static ReadResult pushline (lua_State *L, int firstline) {
  char *b = NULL;
  size_t l;
  ReadResult r = readline_nogil(get_prompt(L, firstline), &b);
  lua_pop(L, 1);  /* the prompt */
  if (r != READ_LINE)
    return r;
  l = strlen(b);
  if (l > 0 && b[l - 1] == '\n')
    b[--l] = '\0';
  if (firstline && b[0] == '=')  /* "=expr", the Lua 5.1 shorthand */
    lua_pushfstring(L, "return %s", b + 1);
  else
    lua_pushlstring(L, b, l);
  free(b);
  return READ_LINE;
}


/* Try the line on top as "return line;": the REPL prints expressions. */
static int addreturn (lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);  /* the modified line */
    saveline(line);
  }
  else
    lua_pop(L, 2);  /* the error and the modified line */
  return status;
}


/* Add lines while the chunk is incomplete. */
static int multiline (lua_State *L) {
  for (;;) {
    size_t len;
    ReadResult r;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status)) {
      saveline(line);
      return status;
    }
    r = pushline(L, 0);
    if (r == READ_CANCEL)
      return REPL_CANCEL;
    if (r == READ_EOF) {
      /* report the unfinished chunk, as lua does */
      saveline(line);
      return luaL_loadbuffer(L, line, len, "=stdin");
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}


/*
** Read a statement and compile it: leaves the function on the stack.
** Returns a Lua status, REPL_EOF or REPL_CANCEL.
*/
static int loadline (lua_State *L) {
  int status;
  ReadResult r;
  lua_settop(L, 0);
  r = pushline(L, 1);
  if (r == READ_EOF)
    return REPL_EOF;
  if (r == READ_CANCEL)
    return REPL_CANCEL;
  if ((status = addreturn(L)) != LUA_OK)
    status = multiline(L);
  lua_remove(L, 1);  /* the line */
  return status;
}


/* Print the values on the stack with the global 'print'. */
static void l_print (lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
      message(progname, lua_pushfstring(L, "error calling 'print' (%s)",
                                        lua_tostring(L, -1)));
  }
}


static void doREPL (lua_State *L) {
  int status;
  const char *oldprogname = progname;
  progname = NULL;  /* errors at the prompt carry no program name */
  readline_init(PROGNAME);
  while ((status = loadline(L)) != REPL_EOF) {
    if (status == REPL_CANCEL)
      continue;
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      l_print(L);
    else if (report(L, status), quietexit)
      break;  /* _thread.exit() at the prompt ends the REPL */
  }
  lua_settop(L, 0);
  writeout("\n");
  progname = oldprogname;
}

/* }==================================================================== */


/*
** When threads go wrong: Ctrl-\ (SIGQUIT) dumps every thread's traceback,
** and the options that ask for more (--dump-after, --faulthandler,
** --check-deadlocks, --check-locks) turn on what _thread has for
** them.
*/
static void diagnostics (lua_State *L, const Settings *s) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "_thread");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "_dump_on_signal");
  lua_pushboolean(L, 1);
  lua_call(L, 1, 0);
  if (s->dump_after > 0) {
    lua_getfield(L, -1, "_dump_later");
    lua_pushnumber(L, s->dump_after);
    lua_pushboolean(L, 0);
    lua_pushboolean(L, 1);  /* then exit with status 1 */
    lua_call(L, 3, 0);
  }
  if (s->faulthandler) {
    lua_getfield(L, -1, "_faulthandler");
    lua_pushboolean(L, 1);
    lua_call(L, 1, 0);
  }
  if (s->check_deadlocks) {
    lua_getfield(L, -1, "setcheckdeadlocks");
    lua_pushboolean(L, 1);
    lua_call(L, 1, 0);
  }
  if (s->check_locks) {
    lua_getfield(L, -1, "setchecklocks");
    lua_pushboolean(L, 1);
    lua_call(L, 1, 0);
  }
  lua_pop(L, 1);
  if (s->gil_warn > 0) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "gil");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "setwarn");
    lua_pushnumber(L, s->gil_warn);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  }
}


/* pmain's result when a chunk failed: success if it was _thread.exit(). */
static int stopped (lua_State *L) {
  lua_pushboolean(L, quietexit);
  return 1;
}


/*
** The program proper, in protected mode: argument 1 is the Settings,
** 2 argc, 3 argv. Returns true when everything ran without error.
*/
static int pmain (lua_State *L) {
  Settings *s = (Settings *)lua_touserdata(L, 1);
  int argc = (int)lua_tointeger(L, 2);
  char **argv = (char **)lua_touserdata(L, 3);
  int optlim = (s->script > 0) ? s->script : argc;
  luaL_checkversion(L);
  if (s->has_v)
    print_version();
  if (s->has_E) {  /* tell the libraries to ignore LUA_PATH and LUA_CPATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luagil_openlibs(L);
  diagnostics(L, s);
  createargtable(L, argv, argc, s->script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);  /* as stock lua */
  if (!s->has_E && handle_luainit(L) != LUA_OK)
    return stopped(L);
  if (!runargs(L, argv, optlim))
    return stopped(L);
  if (s->script > 0 && handle_script(L, argv + s->script, s->dis) != LUA_OK)
    return stopped(L);
  if (s->has_i)
    doREPL(L);
  else if (s->script == 0 && !s->has_e && !s->has_v) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      doREPL(L);
    }
    else if (dofile(L, NULL) != LUA_OK)
      return stopped(L);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** A standard descriptor closed when the program starts would be taken by
** the first descriptor luagil opens (the Ctrl-C eventfd), and a read of
** stdin would then wait on that. Each closed one gets /dev/null opened the
** wrong way round instead: reading stdin (or writing stdout) still fails
** with EBADF, as with the descriptor closed, and the number stays taken.
*/
static void reserve_stdfds (void) {
  int fd;
  for (fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int nfd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
      if (nfd >= 0 && nfd != fd) {  /* a lower one was open: move it */
        dup2(nfd, fd);
        close(nfd);
      }
    }
  }
}


/* What a run needs: the settings and the program's arguments. */
typedef struct Program {
  const Settings *s;
  int argc;
  char **argv;
} Program;


/* Run the program once with the settings 's'; returns its exit status. */
static int runprogram (const Settings *s, int argc, char **argv) {
  luagil_Options o = {0};
  lua_State *L;
  int status, ok;
  o.switch_interval = s->switch_interval;
  o.preempt = s->preempt;
  o.print_stats = s->gil_stats;
  o.policy = s->gil_policy;
  if (s->seed != NULL) {
    char *end;
    o.seed = strtoll(s->seed, &end, 10);
    if (end == s->seed || *end != '\0') {
      fprintf(stderr, "%s: bad value '%s' for option '--seed' "
              "(an integer expected)\n", progname, s->seed);
      return EXIT_FAILURE;
    }
    o.has_seed = 1;
  }
  o.trace = s->gil_trace;
  o.catch_sigint = 1;
  o.detect_deadlocks = 1;
  L = luagil_newstate(&o);
  if (L == NULL)
    return EXIT_FAILURE;  /* luagil_newstate wrote why */
  lg_explore_start(L, s->explore_budget, s->explore_tbudget);
  lua_gc(L, LUA_GCSTOP);  /* no collections while the state is built */
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, (void *)s);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 3, 1, 0);
  ok = (status == LUA_OK) && lua_toboolean(L, -1);
  report(L, status);
  lua_settop(L, 0);
  /* Python's rule: the program ends when its non-daemon threads do */
  if (luagil_shutdown(L) != LUA_OK) {  /* interrupted (Ctrl-C), or a
                                          deadlock */
    if (deadlock_reported && isdeadlock(L, -1))
      lua_pop(L, 1);  /* the same blocked threads: reported already */
    else
      report(L, LUA_ERRRUN);
    ok = 0;
  }
  lg_explore_end(L);
  luagil_close(L);  /* no second join; leaves L to running daemons */
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}


/* lg_RunOnce: one run of an exploration, in its child. */
static int runscheduled (void *ud, const lg_Schedule *sc) {
  const Program *p = ud;
  Settings s = *p->s;
  s.gil_policy = sc->policy;
  s.seed = sc->seed;
  s.gil_trace = sc->trace;
  s.explore_budget = sc->budget;
  s.explore_tbudget = sc->tbudget;
  s.gil_stats = 0;
  return runprogram(&s, p->argc, p->argv);
}


/* --explore and its options, checked. Returns 0 after a message. */
static int explore (const Settings *s, int argc, char **argv) {
  lg_Explore e;
  Program p = {s, argc, argv};
  memset(&e, 0, sizeof e);
  if (s->script == 0 || strcmp(argv[s->script], "-") == 0) {
    fprintf(stderr, "%s: option '--explore' needs a script file\n",
            progname);
    return EXIT_FAILURE;
  }
  e.runs = s->explore > 0 ? s->explore : 100;
  e.depth = s->explore_depth > 0 ? s->explore_depth : 3;
  if (e.depth > LG_EXPLORE_MAXDEPTH) {
    fprintf(stderr, "%s: bad value '%ld' for option '--explore-depth' "
            "(at most %d)\n", progname, e.depth, LG_EXPLORE_MAXDEPTH);
    return EXIT_FAILURE;
  }
  if (s->explore_seed != NULL) {
    char *end;
    e.seed = strtoll(s->explore_seed, &end, 10);
    if (end == s->explore_seed || *end != '\0') {
      fprintf(stderr, "%s: bad value '%s' for option '--explore-seed' "
              "(an integer expected)\n", progname, s->explore_seed);
      return EXIT_FAILURE;
    }
  }
  e.random = s->explore_strategy != NULL &&
             strcmp(s->explore_strategy, "random") == 0;
  e.trace = s->explore_trace;
  e.budget = s->explore_budget > 0 ? s->explore_budget : 10000000;
  e.tbudget = s->explore_tbudget > 0 ? s->explore_tbudget : 3600;
  return lg_explore(&e, argv, s->script, runscheduled, &p);
}


int main (int argc, char **argv) {
  Settings s;
  memset(&s, 0, sizeof s);
  reserve_stdfds();
  if (argv[0] != NULL && argv[0][0] != '\0')
    progname = argv[0];
  if (!collectargs(argv, &s))
    return EXIT_FAILURE;
  if (s.bad > 0) {
    print_usage(argv[s.bad]);
    return EXIT_FAILURE;
  }
  if (s.help) {
    print_help();
    return EXIT_SUCCESS;
  }
  if (s.version) {
    print_luagil_version();
    return EXIT_SUCCESS;
  }
  if (s.dis && s.script == 0) {
    fprintf(stderr, "%s: option '--dis' needs a script\n", progname);
    return EXIT_FAILURE;
  }
  if (s.explore != 0)
    return explore(&s, argc, argv);
  return runprogram(&s, argc, argv);
}
