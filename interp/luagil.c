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
#include "task.h"
#include "trace.h"
#include "tstate.h"
#include "waitq.h"


/* The interpreters, newest first: the live ones, which every search
** runs through, and the closed ones, kept (their addresses stay theirs:
** no new interpreter can be taken for a closed one) and looked at only by
** a search for a state, which a host may still hold. */
static pthread_mutex_t ilist_mutex = PTHREAD_MUTEX_INITIALIZER;
static lg_Interp *ilist;       /* ilist_mutex: the live ones */
static lg_Interp *closedlist;  /* ilist_mutex: the closed ones */
static atomic_int anyinstalled;  /* set by the first install */


/* The live interpreter whose vm/ part is 'I', or NULL. */
lg_Interp *lg_interp_byistate (lg_IState *I) {
  lg_Interp *p;
  lg_check(pthread_mutex_lock(&ilist_mutex));
  for (p = ilist; p != NULL && p->I != I; p = p->next)
    ;
  lg_check(pthread_mutex_unlock(&ilist_mutex));
  return p;
}


/* fn(p, ud) for each live interpreter 'p', newest first. */
void lg_interp_foreach (void (*fn) (lg_Interp *p, void *ud), void *ud) {
  lg_check(pthread_mutex_lock(&ilist_mutex));
  for (lg_Interp *p = ilist; p != NULL; p = p->next)
    fn(p, ud);
  lg_check(pthread_mutex_unlock(&ilist_mutex));
}


/* The first of list 'p' whose state is 'L' (or, if 'L' is NULL, that is
** the process's first), or NULL; the caller holds ilist_mutex. */
static lg_Interp *search (lg_Interp *p, lua_State *L) {
  while (p != NULL && (L != NULL ? p->L != L : !p->first))
    p = p->next;
  return p;
}


/* search() in both lists, the live one first. */
static lg_Interp *searchboth (lua_State *L) {
  lg_Interp *p;
  lg_check(pthread_mutex_lock(&ilist_mutex));
  p = search(ilist, L);
  if (p == NULL)
    p = search(closedlist, L);
  lg_check(pthread_mutex_unlock(&ilist_mutex));
  return p;
}


lg_Interp *lg_interp_bystate (lua_State *L) {
  return L != NULL ? searchboth(L) : NULL;
}


/*
** The live interpreter that 'L' (maybe NULL) is a state of, or NULL. The
** pointer is compared first (an interpreter's own state); any other state
** is asked for its main thread, which only a live state can answer: the
** caller holds its GIL (luagil.h).
*/
lg_Interp *lg_interp_find (lua_State *L) {
  lg_Interp *p;
  const void *main;
  if (L == NULL)
    return NULL;
  p = lg_interp_bystate(L);
  if (p != NULL)  /* a closed one's state may be freed: not touched */
    return atomic_load(&p->closed) ? NULL : p;
  if (!atomic_load(&anyinstalled) || lg_interp_current() == NULL)
    return NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main = lua_topointer(L, -1);
  lua_pop(L, 1);
  lg_check(pthread_mutex_lock(&ilist_mutex));
  for (p = ilist; p != NULL && p->main != main; p = p->next)
    ;
  lg_check(pthread_mutex_unlock(&ilist_mutex));
  return p;
}


lg_Interp *lg_interp_here (void) {
  lg_IState *I = lg_interp_current();
  lg_Interp *p;
  if (I != NULL)
    return lg_interp_byistate(I);
  lg_check(pthread_mutex_lock(&ilist_mutex));
  p = ilist;
  lg_check(pthread_mutex_unlock(&ilist_mutex));
  return p;
}


/* A PCT schedule: "pct" or "pct:P1,P2,..." (ascending step numbers). */
typedef struct Pct {
  int on, n;
  long points[LG_PCT_MAXPOINTS];
} Pct;


static int parsepct (const char *spec, Pct *pct) {
  const char *p = spec + 3;
  long last = 0;
  if (strncmp(spec, "pct", 3) != 0 || (*p != '\0' && *p != ':'))
    return 0;
  pct->on = 1;
  pct->n = 0;
  while (*p == ':' || (*p == ',' && pct->n > 0)) {
    char *end;
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v <= last || pct->n == LG_PCT_MAXPOINTS)
      return 0;
    pct->points[pct->n++] = last = v;
    p = end;
  }
  return *p == '\0';
}


/*
** "name" or "name:N" -> a policy and its count (0: the default);
** "interval:handoff" and "interval:free" (LG_INTERVAL_*);
** "deterministic:pct[:P1,P2...]" a PCT schedule into 'pct' (if not NULL).
*/
static int parsepolicy (const char *spec, int *policy, long *count,
                        Pct *pct) {
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  long n = 0;
  Pct dummy;
  if (pct == NULL)
    pct = &dummy;
  pct->on = 0;
  if (colon != NULL && len == 8 && strncmp(spec, "interval", 8) == 0) {
    if (strcmp(colon + 1, "free") == 0)
      n = LG_INTERVAL_FREE;
    else if (strcmp(colon + 1, "handoff") != 0)
      return 0;
    if (policy != NULL) {
      *policy = LG_POLICY_INTERVAL;
      *count = n;
    }
    return 1;
  }
  if (colon != NULL && len == strlen("deterministic") &&
      strncmp(spec, "deterministic", len) == 0 &&
      strncmp(colon + 1, "pct", 3) == 0) {
    if (!parsepct(colon + 1, pct))
      return 0;
    colon = NULL;
  }
  else if (colon != NULL) {
    char *end;
    n = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || n <= 0 || n > 1000000000)
      return 0;
  }
  for (int p = 0; lg_gil_policynames[p] != NULL; p++) {
    const char *name = lg_gil_policynames[p];
    if (strlen(name) == len && strncmp(spec, name, len) == 0) {
      if (colon != NULL && p != LG_POLICY_TICKS &&
          p != LG_POLICY_DETERMINISTIC && p != LG_POLICY_GVL &&
          p != LG_POLICY_PRIORITY_IO)
        return 0;  /* interval takes only :free */
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


/* Is 'opts' valid? Else push why on 'L' and return false. */
int lg_interp_checkopts (lua_State *L, const luagil_Options *opts) {
  if (!(opts->switch_interval >= 0) ||  /* NaN too */
      opts->switch_interval > LG_MAX_INTERVAL) {
    lua_pushliteral(L, "switch interval must be strictly positive");
    return 0;
  }
  if (opts->policy != NULL &&
      !parsepolicy(opts->policy, NULL, NULL, NULL)) {
    lua_pushfstring(L, "bad GIL policy '%s' (interval[:free], ticks[:N], "
                    "priority-io[:K], deterministic[:N], "
                    "deterministic:pct[:P1,P2...], gvl[:SLICE_MS])",
                    opts->policy);
    return 0;
  }
  if (opts->preempt != NULL && strcmp(opts->preempt, "any") != 0 &&
      strcmp(opts->preempt, "safe") != 0) {
    lua_pushfstring(L, "unknown preemption mode '%s' (any or safe)",
                    opts->preempt);
    return 0;
  }
  if (opts->trace != NULL && !writable(opts->trace)) {  /* not at close */
    lua_pushfstring(L, "cannot open file '%s' (%s)", opts->trace,
                    strerror(errno));
    return 0;
  }
  return 1;
}


/*
** A new interpreter on 'L' with 'opts' (checked), the calling thread
** registered there as its main thread, holding its GIL ('first': the
** process's first interpreter; 'is_main': Ctrl-C interrupts the thread).
** NULL, with the message pushed on 'L', if memory runs out: then nothing
** of it is left but the lg_Interp record, closed.
*/
lg_Interp *lg_interp_setup (lua_State *L, const luagil_Options *opts,
                            int first, int is_main) {
  lg_Interp *p = calloc(1, sizeof *p);
  lg_IState *I = NULL;
  lg_TState *ts = NULL;
  if (p == NULL || (opts->modules != NULL &&
                    (p->only = strdup(opts->modules)) == NULL) ||
      (I = lg_istate_new()) == NULL || lg_stats_init(I) != 0 ||
      (ts = lg_tstate_register(I, L, is_main)) == NULL ||
      (ts->stats = lg_stats_new(I, "MainThread", ts->ident)) == NULL ||
      lg_gil_init(I, ts) != 0 || lg_embed_init(p, I, L) != 0) {
    if (ts != NULL)
      lg_tstate_unregister(ts);
    if (p != NULL)
      free(p->only);
    free(p);  /* I's parts (if any) stay: too small to matter */
    lua_pushliteral(L, "not enough memory");
    return NULL;
  }
  p->I = I;
  I->main_ident = ts->ident;
  p->L = L;
  p->first = first;
  p->mainstats = ts->stats;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  p->main = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (opts->switch_interval > 0)
    lg_gil_setinterval(I, opts->switch_interval);
  if (opts->preempt != NULL)
    lg_breaker_setpreempt(I, strcmp(opts->preempt, "safe") == 0
                             ? LG_PREEMPT_SAFE : LG_PREEMPT_ANY);
  if (opts->has_seed) {
    lg_gil_seed(I, (unsigned long)opts->seed);
    p->has_seed = 1;
    p->seed = opts->seed;
  }
  if (opts->policy != NULL) {
    int policy;
    long n;
    Pct pct;
    parsepolicy(opts->policy, &policy, &n, &pct);
    lg_gil_setpolicy(I, policy, n);
    if (policy == LG_POLICY_DETERMINISTIC)
      lg_clock_setvirtual();  /* for the whole process (vm/clock.h) */
    if (pct.on)
      lg_gil_setpct(I, pct.points, pct.n);
  }
  p->print_stats = opts->print_stats;
  if (opts->detect_deadlocks)
    atomic_store(&I->deadlocks, LG_DEADLOCKS_ALL);
  lg_check(pthread_mutex_lock(&ilist_mutex));
  p->next = ilist;
  ilist = p;
  lg_check(pthread_mutex_unlock(&ilist_mutex));
  return p;
}


int luagil_install (lua_State *L, const luagil_Options *opts) {
  luagil_Options none = {0};
  int first;
  if (L == NULL)
    return LUA_ERRRUN;  /* nowhere to put a message */
  if (opts == NULL)
    opts = &none;
  if (atomic_load(&anyinstalled) && lg_interp_current() != NULL &&
      lg_interp_find(L) != NULL) {
    lua_pushliteral(L, "luagil is already installed on this state");
    return LUA_ERRRUN;
  }
  if (lg_interp_current() != NULL) {
    lua_pushliteral(L, "luagil is already installed in this thread's "
                       "interpreter (one interpreter per thread: install "
                       "another from another thread, or use "
                       "interpreters.create)");
    return LUA_ERRRUN;
  }
  if (!lg_interp_checkopts(L, opts))
    return LUA_ERRRUN;
  first = !atomic_load(&anyinstalled);
  lg_fork_init();
  lg_os_setcloser(luagil_close);  /* os.exit(code, true) */
  if (lg_interp_setup(L, opts, first, first) == NULL)
    return LUA_ERRMEM;
  if (first) {
    atomic_store(&anyinstalled, 1);
    lg_breaker_init(opts->signo > 0 ? opts->signo : SIGURG,
                    lg_tstate_current());
  }
  if (opts->catch_sigint)
    lg_breaker_catch_sigint(1);
  if (opts->trace != NULL)
    lg_trace_start(opts->trace);
  return LUA_OK;
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
  {"socket.core", luaopen_socket_core},
  {"dis", luaopen_dis},
  {"queue", luaopen_queue},
  {"concurrent.futures", luaopen_concurrent_futures},
  {"logging", luaopen_logging},
  {"gil", luaopen_gil},
  {"multiprocessing", luaopen_multiprocessing},
  {"_multiprocessing", luaopen__multiprocessing},
  {"_interpreters", luaopen__interpreters},
  {"interpreters", luaopen_interpreters},
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


/* 'p' is closed: it moves to the closed list. */
static void markclosed (lg_Interp *p) {
  lg_Interp **q;
  lg_check(pthread_mutex_lock(&ilist_mutex));
  for (q = &ilist; *q != p; q = &(*q)->next)
    LG_ASSERT(*q != NULL);
  *q = p->next;
  p->next = closedlist;
  closedlist = p;
  atomic_store(&p->closed, 1);
  atomic_store(&p->I->closed, 1);
  lg_check(pthread_mutex_unlock(&ilist_mutex));
}


lg_Interp *lg_interp_firstone (void) {
  return searchboth(NULL);
}


int lg_interp_owns (lua_State *L) {
  return lg_interp_find(L) != NULL;
}


/* Is module 'name' in luagil_Options.modules (a word of it)? */
static int wanted (const char *only, const char *name) {
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


void luagil_openlibs (lua_State *L) {
  lg_Interp *p = lg_interp_find(L);
  if (p == NULL)
    return;
  luaL_openlibs(L);
  lg_open_coroutine(L);
  lg_open_debug(L);
  lg_open_os(L);
  lg_open_io(L);
  lg_open_print(L);
  lg_open_require(L);
  if (p->has_seed) {  /* --seed makes math.random reproducible too */
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, (lua_Integer)p->seed);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  }
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = modules; m->name != NULL; m++) {
    if (!wanted(p->only, m->name))
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


/* Is 'L' the state of an interpreter that was closed? Then it may be
** freed: nothing may touch it. */
static int closedstate (lua_State *L) {
  lg_Interp *p = lg_interp_bystate(L);
  return p != NULL && atomic_load(&p->closed);
}


int luagil_shutdown (lua_State *L) {
  int status;
  lg_Interp *p;
  if (L == NULL || closedstate(L))
    return LUA_ERRRUN;  /* L may be freed: leave it alone */
  if ((p = lg_interp_find(L)) == NULL) {
    lua_pushliteral(L, "luagil is not installed on this state");
    return LUA_ERRRUN;
  }
  p->shut_down = 1;
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, shutdown_threads);
  status = lua_pcall(L, 0, 0, -2);
  lua_remove(L, status == LUA_OK ? -1 : -2);  /* the handler */
  return status;  /* on error, the message is on the stack */
}


int luagil_close (lua_State *L) {
  lg_Interp *p = L != NULL && !closedstate(L) ? lg_interp_find(L) : NULL;
  lg_TState *ts = lg_tstate_current();
  if (p == NULL)
    return -1;  /* not luagil's, or closed already: nothing to free */
  /* After an interrupted shutdown, do not wait for the threads again. */
  if (!p->shut_down && luagil_shutdown(L) != LUA_OK)
    lua_pop(L, 1);
  lg_interp_closechildren(p);  /* those it made and left open */
  /* Host threads already in luagil_ensure get through; later ones fail. */
  lg_embed_closing(p, ts);
  /* From here on no other thread runs Lua: one that wants the GIL parks. */
  lg_gil_finalize(p->I);
  if (p->first) {
    luagil_catch_sigint(0);
    if (lg_trace_stop() < 0)
      perror("luagil: cannot write the GIL trace");
  }
  if (p->print_stats)
    lg_stats_print(p->I, stderr, lg_gil_switches(p->I));
  lg_embed_closed(p);
  markclosed(p);
  /* A daemon or a host thread may still touch L: leave it. */
  if (lg_thread_alive(p->I) > 0 || lg_embed_inside(p) > 0) {
    fflush(NULL);
    return 0;
  }
  lua_close(L);
  lg_task_free(p->I, !p->first);  /* no task is left: its threads may go
                                    (the first's, once idle long enough) */
  if (!p->first && ts != NULL && ts->interp == p->I) {
    lg_gil_drop(ts, LG_DROP_PLAIN);  /* the thread may install another */
    ts->stats = NULL;
    lg_tstate_unregister(ts);
    lg_gil_free(p->I);
  }
  return 1;
}


int luagil_daemons_alive (void) {
  lg_Interp *p = lg_interp_here();
  return p != NULL ? lg_thread_alive(p->I) : 0;
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


/* The current interpreter's vm/ part, or NULL. */
static lg_IState *cur (void) {
  lg_Interp *p = lg_interp_here();
  return p != NULL ? p->I : NULL;
}


double luagil_getswitchinterval (void) {
  lg_IState *I = cur();
  return I != NULL && I->gil != NULL ? lg_gil_getinterval(I)
                                     : LG_DEFAULT_INTERVAL;
}


int luagil_setswitchinterval (double s) {
  if (!(s > 0 && s <= LG_MAX_INTERVAL))  /* NaN too */
    return 0;
  if (cur() == NULL || cur()->gil == NULL)
    return 0;
  lg_gil_setinterval(cur(), s);
  return 1;
}


int luagil_setpreempt (const char *mode) {
  if (mode == NULL || cur() == NULL)
    return 0;
  if (strcmp(mode, "any") == 0)
    lg_breaker_setpreempt(cur(), LG_PREEMPT_ANY);
  else if (strcmp(mode, "safe") == 0)
    lg_breaker_setpreempt(cur(), LG_PREEMPT_SAFE);
  else
    return 0;
  return 1;
}


int luagil_setpolicy (const char *spec) {
  int policy;
  long n;
  Pct pct;
  if (spec == NULL || !parsepolicy(spec, &policy, &n, &pct) ||
      cur() == NULL ||
      cur()->gil == NULL)
    return 0;
  lg_gil_setpolicy(cur(), policy, n);
  if (pct.on)
    lg_gil_setpct(cur(), pct.points, pct.n);
  return 1;
}


luagil_Thread *luagil_save_thread (void) {
  return (luagil_Thread *)lg_blocking_begin();
}


void luagil_restore_thread (luagil_Thread *t) {
  lg_blocking_end((lg_TState *)t);
}
