/*
** interp/luagil.c -- the interpreter's lifecycle: install, open, shut down.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "breaker.h"
#include "embed.h"
#include "fork.h"
#include "gil.h"
#include "lglib.h"
#include "luagil.h"
#include "sigint.h"
#include "stats.h"
#include "trace.h"
#include "tstate.h"
#include "waitq.h"


static lua_State *installed;  /* the one interpreter of this process */
static lg_IState *interp;     /* its state */
static const void *installed_main;  /* its main thread */
static int shut_down;         /* luagil_shutdown ran (even if interrupted) */
static int closed;            /* luagil_close ran: 'installed' may be freed */
static int print_stats;       /* --gil-stats */
static char *only;            /* luagil_Options.modules, or NULL: all */
static int has_seed;          /* --seed: math.random is seeded from it */
static long long seed;


/* "name" or "name:N" -> a policy and its count (0: the default). */
static int parsepolicy (const char *spec, int *policy, long *count) {
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  long n = 0;
  if (colon != NULL) {
    char *end;
    n = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || n <= 0 || n > 1000000000)
      return 0;
  }
  for (int p = 0; lg_gil_policynames[p] != NULL; p++) {
    const char *name = lg_gil_policynames[p];
    if (strlen(name) == len && strncmp(spec, name, len) == 0) {
      if (colon != NULL && p != LG_POLICY_TICKS &&
          p != LG_POLICY_DETERMINISTIC)
        return 0;  /* only the counting policies take N */
      if (policy != NULL) {
        *policy = p;
        *count = n;
      }
      return 1;
    }
  }
  return 0;
}


/* Can 'path' be written (made if need be)? errno says why not. */
static int writable (const char *path) {
  FILE *f = fopen(path, "a");
  if (f == NULL)
    return 0;
  fclose(f);
  return 1;
}


int luagil_install (lua_State *L, const luagil_Options *opts) {
  luagil_Options none = {0};
  lg_TState *ts;
  if (L == NULL)
    return LUA_ERRRUN;  /* nowhere to put a message */
  if (opts == NULL)
    opts = &none;
  if (installed != NULL) {
    lua_pushliteral(L, "luagil is already installed in this process "
                       "(one interpreter per process)");
    return LUA_ERRRUN;
  }
  if (!(opts->switch_interval >= 0) ||  /* NaN too */
      opts->switch_interval > LG_MAX_INTERVAL) {
    lua_pushliteral(L, "switch interval must be strictly positive");
    return LUA_ERRRUN;
  }
  if (opts->policy != NULL && !parsepolicy(opts->policy, NULL, NULL)) {
    lua_pushfstring(L, "bad GIL policy '%s' (interval, ticks[:N], "
                    "priority-io, deterministic[:N])", opts->policy);
    return LUA_ERRRUN;
  }
  if (opts->preempt != NULL && strcmp(opts->preempt, "any") != 0 &&
      strcmp(opts->preempt, "safe") != 0) {
    lua_pushfstring(L, "unknown preemption mode '%s' (any or safe)",
                    opts->preempt);
    return LUA_ERRRUN;
  }
  if (opts->trace != NULL && !writable(opts->trace)) {  /* not at close */
    lua_pushfstring(L, "cannot open file '%s' (%s)", opts->trace,
                    strerror(errno));
    return LUA_ERRRUN;
  }
  if (opts->modules != NULL && (only = strdup(opts->modules)) == NULL) {
    lua_pushliteral(L, "not enough memory");
    return LUA_ERRMEM;
  }
  installed = L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  installed_main = lua_topointer(L, -1);
  lua_pop(L, 1);
  lg_fork_init();
  lg_os_setcloser(luagil_close);  /* os.exit(code, true) */
  if (interp == NULL && ((interp = lg_istate_new()) == NULL ||
                         lg_stats_init(interp) != 0))
    ts = NULL;  /* 'interp' half made is kept for a later install */
  else
    ts = lg_tstate_register(interp, L, 1);
  if (ts == NULL || (ts->stats = lg_stats_new(interp, "MainThread",
                                              ts->ident)) == NULL ||
      lg_gil_init(interp, ts) != 0) {
    installed = NULL;  /* a later install may try again */
    if (ts != NULL)
      lg_tstate_unregister(ts);
    lua_pushliteral(L, "not enough memory");
    return LUA_ERRMEM;
  }
  lg_breaker_init(opts->signo > 0 ? opts->signo : SIGURG, ts);
  if (opts->switch_interval > 0)
    lg_gil_setinterval(interp, opts->switch_interval);
  if (opts->preempt != NULL)
    luagil_setpreempt(opts->preempt);
  if (opts->has_seed) {
    lg_gil_seed(interp, (unsigned long)opts->seed);
    has_seed = 1;
    seed = opts->seed;
  }
  if (opts->policy != NULL)
    luagil_setpolicy(opts->policy);
  if (opts->catch_sigint)
    lg_breaker_catch_sigint(1);
  print_stats = opts->print_stats;
  if (opts->trace != NULL)
    lg_trace_start(opts->trace);
  return lg_embed_init(L);
}


lua_State *luagil_newstate (const luagil_Options *opts) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "luagil: cannot create state: not enough memory\n");
    return NULL;
  }
  if (luagil_install(L, opts) != LUA_OK) {
    fprintf(stderr, "luagil: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}


static const luaL_Reg modules[] = {
  {"threading", luaopen_threading},
  {"_thread", luaopen__thread},
  {"time", luaopen_time},
  {"socket", luaopen_socket},
  {"dis", luaopen_dis},
  {"queue", luaopen_queue},
  {"concurrent.futures", luaopen_concurrent_futures},
  {"logging", luaopen_logging},
  {"gil", luaopen_gil},
  {"multiprocessing", luaopen_multiprocessing},
  {"_multiprocessing", luaopen__multiprocessing},
  {NULL, NULL}
};


/* The opener of "luagil.<name>", upvalue 1: require "<name>". */
static int alias (lua_State *L) {
  const char *name = lua_tostring(L, lua_upvalueindex(1));
  lua_getglobal(L, "require");
  lua_pushstring(L, name + sizeof("luagil.") - 1);
  lua_call(L, 1, 1);
  return 1;
}


lg_IState *lg_interp_istate (void) {
  return interp;
}


int lg_interp_owns (lua_State *L) {
  int owns;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  owns = installed != NULL && lua_topointer(L, -1) == installed_main;
  lua_pop(L, 1);
  return owns;
}


/* Is module 'name' in luagil_Options.modules (a word of it)? */
static int wanted (const char *name) {
  size_t len = strlen(name);
  if (only == NULL || strcmp(name, "_thread") == 0)
    return 1;
  for (const char *p = only; (p = strstr(p, name)) != NULL; p += len) {
    int starts = (p == only || p[-1] == ' ' || p[-1] == ',');
    int ends = (p[len] == '\0' || p[len] == ' ' || p[len] == ',');
    if (starts && ends)
      return 1;
  }
  return 0;
}


/*
** Is 'L' (maybe NULL) a state of the live interpreter? A closed one's
** pointer is not looked at: it may have been freed.
*/
static int live (lua_State *L) {
  return L != NULL && installed != NULL && !closed && lg_interp_owns(L);
}


void luagil_openlibs (lua_State *L) {
  if (!live(L))
    return;
  luaL_openlibs(L);
  lg_open_coroutine(L);
  lg_open_debug(L);
  lg_open_os(L);
  lg_open_io(L);
  lg_open_print(L);
  lg_open_require(L);
  if (has_seed) {  /* --seed makes math.random reproducible too */
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, (lua_Integer)seed);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  }
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = modules; m->name != NULL; m++) {
    if (!wanted(m->name))
      continue;
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
    lua_pushfstring(L, "luagil.%s", m->name);  /* one table, two names */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, alias, 1);
    lua_setfield(L, -3, lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  lua_pushcfunction(L, luagil_openmodule);
  lua_setfield(L, -2, "luagil");
  lua_pop(L, 1);
}


static int shutdown_threads (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "threading") == LUA_TTABLE &&
      lua_getfield(L, -1, "_shutdown") == LUA_TFUNCTION)
    lua_call(L, 0, 0);
  return 0;
}


static int traceback (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg != NULL)
    luaL_traceback(L, L, msg, 1);
  return 1;
}


int luagil_shutdown (lua_State *L) {
  int status;
  if (L == NULL || closed)
    return LUA_ERRRUN;  /* L may be freed: leave it alone */
  if (!live(L)) {
    lua_pushliteral(L, "luagil is not installed on this state");
    return LUA_ERRRUN;
  }
  shut_down = 1;
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, shutdown_threads);
  status = lua_pcall(L, 0, 0, -2);
  lua_remove(L, status == LUA_OK ? -1 : -2);  /* the handler */
  return status;  /* on error, the message is on the stack */
}


int luagil_close (lua_State *L) {
  if (!live(L))
    return -1;  /* not luagil's, or closed already: nothing to free */
  /* After an interrupted shutdown, do not wait for the threads again. */
  if (!shut_down && luagil_shutdown(L) != LUA_OK)
    lua_pop(L, 1);
  /* Host threads already in luagil_ensure get through; later ones fail. */
  lg_embed_closing(lg_tstate_current());
  /* From here on no other thread runs Lua: one that wants the GIL parks. */
  lg_gil_finalize(interp);
  luagil_catch_sigint(0);
  if (lg_trace_stop() < 0)
    perror("luagil: cannot write the GIL trace");
  if (print_stats)
    lg_stats_print(interp, stderr, lg_gil_switches(interp));
  lg_embed_closed();
  closed = 1;
  /* A daemon or a host thread may still touch L: leave it. */
  if (lg_thread_alive() > 0 || lg_embed_inside() > 0) {
    fflush(NULL);
    return 0;
  }
  lua_close(L);
  return 1;
}


int luagil_daemons_alive (void) {
  return lg_thread_alive();
}


int luagil_isexit (lua_State *L, int idx) {
  return L != NULL && lg_thread_isexit(L, idx);
}


void luagil_catch_sigint (int on) {
  lg_breaker_catch_sigint(on);
}


int luagil_take_sigint (void) {
  return lg_sigint_take();
}


int luagil_sigint_fd (void) {
  return lg_sigint_fd();
}


/* The interpreter the calling thread runs in, else the installed one. */
static lg_IState *current (void) {
  lg_IState *I = lg_interp_current();
  return I != NULL ? I : interp;
}


double luagil_getswitchinterval (void) {
  lg_IState *I = current();
  return I != NULL && I->gil != NULL ? lg_gil_getinterval(I)
                                     : LG_DEFAULT_INTERVAL;
}


int luagil_setswitchinterval (double s) {
  if (!(s > 0 && s <= LG_MAX_INTERVAL))  /* NaN too */
    return 0;
  if (current() == NULL || current()->gil == NULL)
    return 0;
  lg_gil_setinterval(current(), s);
  return 1;
}


int luagil_setpreempt (const char *mode) {
  if (mode == NULL || current() == NULL)
    return 0;
  if (strcmp(mode, "any") == 0)
    lg_breaker_setpreempt(current(), LG_PREEMPT_ANY);
  else if (strcmp(mode, "safe") == 0)
    lg_breaker_setpreempt(current(), LG_PREEMPT_SAFE);
  else
    return 0;
  return 1;
}


int luagil_setpolicy (const char *spec) {
  int policy;
  long n;
  if (spec == NULL || !parsepolicy(spec, &policy, &n) || current() == NULL ||
      current()->gil == NULL)
    return 0;
  lg_gil_setpolicy(current(), policy, n);
  return 1;
}


luagil_Thread *luagil_save_thread (void) {
  return (luagil_Thread *)lg_blocking_begin();
}


void luagil_restore_thread (luagil_Thread *t) {
  lg_blocking_end((lg_TState *)t);
}
