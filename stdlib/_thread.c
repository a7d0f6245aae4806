/*
** stdlib/_thread.c -- the '_thread' module: low-level threads.
** See LICENSE for copyright and licence (MIT).
**
** A thread handle is shared by two owners: the Lua userdata that the
** starter holds and the worker running the thread's task. It is malloc'ed
** and reference-counted, never Lua memory, because the worker reads and
** writes it after it has let the GIL go, when a collection may free any Lua
** object.
** Each thread is a task (vm/task.h) that runs on its own lua_State, made
** with lua_newthread and anchored in the registry until the thread ends.
** The handle is the task: it starts with one.
*/

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "fork.h"
#include "gil.h"
#include "istate.h"
#include "lglib.h"
#include "park.h"
#include "stats.h"
#include "task.h"
#include "tstate.h"
#include "waitq.h"

#define HANDLE  "_thread._ThreadHandle"
#define MAXARGS  1000000    /* Lua's own limit on a stack (LUAI_MAXSTACK) */



typedef struct Handle {
  lg_Task task;             /* first: a task is its handle */
  struct Handle *prev, *next;  /* handles.mutex: every live handle */
  atomic_int refs;          /* the userdata and the running thread */
  pthread_mutex_t mutex;
  lg_WaitQueue joiners;     /* mutex */
  int done;                 /* mutex */
  int ref;                  /* registry ref anchoring task.L (GIL) */
  int quiet;                /* don't report an uncaught error */
  int begun;                /* its function was called (GIL) */
  int daemon;               /* read-only: not joined at exit */
  char name[64];            /* GIL: its threading name, for the dumps */
} Handle;


static struct {             /* every live handle, for fork() */
  pthread_mutex_t mutex;
  Handle *all;              /* handles.mutex */
} handles = {PTHREAD_MUTEX_INITIALIZER, NULL};
static size_t stacksize;    /* _thread.stack_size(), guarded by the GIL */
static char EXIT_KEY;       /* registry key of the _thread.exit() marker */
static char BASES_KEY;      /* registry key of the set of running threads'
                               base states, by address */


static void link_handle (Handle *h) {
  lg_check(pthread_mutex_lock(&handles.mutex));
  h->prev = NULL;
  h->next = handles.all;
  if (handles.all)
    handles.all->prev = h;
  handles.all = h;
  lg_check(pthread_mutex_unlock(&handles.mutex));
}


static void release (Handle *h) {
  if (atomic_fetch_sub(&h->refs, 1) == 1) {
    lg_check(pthread_mutex_lock(&handles.mutex));
    if (h->prev)
      h->prev->next = h->next;
    else
      handles.all = h->next;
    if (h->next)
      h->next->prev = h->prev;
    lg_check(pthread_mutex_unlock(&handles.mutex));
    pthread_mutex_destroy(&h->mutex);
    free(h);
  }
}


/*
** fork() handlers: in the child only the forking thread exists, so every
** other thread's handle is done (joining it returns at once) and its
** mutex, which a vanished thread may have held, is made anew.
*/
static void forkhandler (int phase) {
  if (phase == LG_FORK_PREPARE) {
    lg_check(pthread_mutex_lock(&handles.mutex));
    return;
  }
  if (phase == LG_FORK_CHILD) {
    for (Handle *h = handles.all; h != NULL; h = h->next)
      atomic_store(&h->task.interp->nthreads, 0);
    for (Handle *h = handles.all; h != NULL; h = h->next) {
      lg_mutex_init(&h->mutex);
      h->joiners.head = h->joiners.tail = NULL;
      if (!h->done && h->task.ident == lg_self_ident())
        atomic_fetch_add(&h->task.interp->nthreads, 1);  /* the forking
                                                            thread's own */
      else {
        h->done = 1;
        lg_waitq_forget_task(&h->task);
      }
    }
  }
  lg_check(pthread_mutex_unlock(&handles.mutex));
}


int lg_thread_fork (lua_State *L) {
  pid_t pid;
  int n = lg_istate_nlive();
  if (n > 1)  /* the child would get the others' threads' locks */
    return luaL_error(L, "cannot fork while %d interpreters are open "
                      "(close the others first)", n);
  pid = lg_fork();
  if (pid == 0) {  /* tell threading that the other threads are gone */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "threading") == LUA_TTABLE &&
        lua_getfield(L, -1, "_after_fork") == LUA_TFUNCTION)
      lua_call(L, 0, 0);
    else
      lua_pop(L, 1);
    lua_pop(L, 2);
  }
  return (int)pid;
}


/*
** The thread's native id: a new OS thread sets it as its first act, so
** this waits (microseconds, and only for the first reader) until then.
*/
static long native_id (Handle *h) {
  long id;
  while ((id = atomic_load(&h->task.native_id)) == 0)
    sched_yield();
  return id;
}


/* Is 'co' the base state of a running thread? Not a coroutine, then. */
int lg_thread_isbase (lua_State *L, lua_State *co) {
  int r = 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &BASES_KEY) == LUA_TTABLE) {
    r = lua_rawgetp(L, -1, co) != LUA_TNIL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return r;
}


/* Add (b true) or remove 'co' from the set of base states. */
static void setbase (lua_State *L, lua_State *co, int b) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &BASES_KEY);
  if (b)
    lua_pushboolean(L, 1);
  else
    lua_pushnil(L);
  lua_rawsetp(L, -2, co);
  lua_pop(L, 1);
}


static Handle *tohandle (lua_State *L, int arg) {
  return *(Handle **)luaL_checkudata(L, arg, HANDLE);
}


int lg_thread_alive (lg_IState *I) {
  return atomic_load(&I->nthreads);
}


/*
** For the dumps (stdlib/diag.c): every thread of 'I' that _thread
** started and that has not ended, under the handles' mutex (which keeps
** each handle alive), newest first.
*/
void lg_thread_foreach (lg_IState *I,
                        void (*fn) (const lg_ThreadRef *r, void *ud),
                        void *ud) {
  lg_check(pthread_mutex_lock(&handles.mutex));
  for (Handle *h = handles.all; h != NULL; h = h->next) {
    lg_ThreadRef r;
    if (h->task.interp != I || atomic_load(&h->task.state) ==
        LG_TASK_DEAD)
      continue;
    lg_check(pthread_mutex_lock(&h->mutex));
    r.done = h->done;
    lg_check(pthread_mutex_unlock(&h->mutex));
    if (r.done)
      continue;
    r.w = &h->task.waiter;
    r.task = &h->task;
    r.ts = NULL;
    r.name = h->name;
    r.ident = h->task.ident;
    r.native_id = atomic_load(&h->task.native_id);
    r.daemon = h->daemon;
    r.begun = h->begun;
    fn(&r, ud);
  }
  lg_check(pthread_mutex_unlock(&handles.mutex));
}


/* Is the value at 'arg' the marker that _thread.exit() raises? */
static int isexit (lua_State *L, int arg) {
  int r;
  arg = lua_absindex(L, arg);  /* -1 would be the marker pushed below */
  r = lua_rawgetp(L, LUA_REGISTRYINDEX, &EXIT_KEY) != LUA_TNIL &&
      lua_rawequal(L, arg, -1);  /* a nil error is no exit */
  lua_pop(L, 1);
  return r;
}


/*
** {======================================================
** The task: what the thread runs
** =======================================================
*/

/* tostring(err), for report: err's __tostring may raise. */
static int errortext (lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}


/*
** Print the error on top of 'L' (left there). Its text comes from a
** protected call: outside one, a __tostring that raises would panic.
*/
static void report (lua_State *L, Handle *h) {
  const char *msg;
  lua_pushcfunction(L, errortext);
  lua_pushvalue(L, -2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushfstring(L, "(error object is a %s value)",
                    luaL_typename(L, -1));
  }
  msg = lua_tostring(L, -1);
  fflush(stdout);
  fprintf(stderr, "Unhandled error in thread started by %s:\n%s\n",
          h->task.name, msg);
  fflush(stderr);
  lua_pop(L, 1);
}


/*
** Run the thread's function, or go on with it after a wait that yielded
** (vm/task.h). A yield that no lg_task_* made came from a C module at the
** thread's top level: that is an error, as outside any coroutine. An
** error leaves the state as it failed; resetting it then closes its
** pending to-be-closed variables, as a pcall would have.
*/
static int run (lg_Task *t) {
  Handle *h = (Handle *)t;
  lua_State *L = t->L;
  int nargs = h->begun ? 0 : lua_gettop(L) - 1;  /* stack: f args */
  int nres, status;
  h->begun = 1;
  status = lua_resume(L, NULL, nargs, &nres);
  if (status == LUA_YIELD && t->yielding) {
    t->yielding = 0;
    return LG_TASK_WAITING;
  }
  if (status == LUA_YIELD) {
    status = LUA_ERRRUN;
    lua_pushliteral(L, "attempt to yield from outside a coroutine");
  }
  if (status != LUA_OK && !h->quiet && !isexit(L, -1))
    report(L, h);
  if (status != LUA_OK)
    lua_resetthread(L);
  lua_settop(L, 0);
  setbase(L, L, 0);
  luaL_unref(L, LUA_REGISTRYINDEX, h->ref);  /* L may now be collected */
  return LG_TASK_DONE;
}


/*
** The thread has ended; its worker still holds the GIL, so that under the
** deterministic policy the wake-up is ordered like every other. It stops
** counting as alive first: it touches no Lua state any more, and a joiner
** that then closes the interpreter must not think it might.
*/
static void done (lg_Task *t) {
  Handle *h = (Handle *)t;
  atomic_fetch_sub(&t->interp->nthreads, 1);
  if (t->waiter.nheld > 0)  /* it ended holding locks */
    lg_lockorder_forget(&t->waiter);
  lg_check(pthread_mutex_lock(&h->mutex));
  {
    h->done = 1;
    lg_waitq_wake_locked(&h->joiners, -1);
  }
  lg_check(pthread_mutex_unlock(&h->mutex));
  lg_waitq_check(t->interp);  /* every thread left may be blocked */
}


static void release_task (lg_Task *t) {
  release((Handle *)t);
}


/*
** Start 'f' at stack index 'fi' with the 'nargs' values above 'fi' on a
** new thread named 'name'; pushes the handle. The Lua allocations, which
** raise "not enough memory" themselves, come first; after them every
** failure undoes what was done and raises "can't start new thread".
*/
static Handle *start (lua_State *L, int fi, int nargs, const char *name,
                      int quiet, int daemon) {
  Handle **box = lua_newuserdatauv(L, sizeof *box, 0);
  lg_IState *I = lg_interp_current();
  Handle *h;
  lua_State *co;
  int ref, err = ENOMEM;
  *box = NULL;  /* valid but empty until the start succeeded */
  luaL_setmetatable(L, HANDLE);
  if (lg_gil_finalizing(I))
    luaL_error(L, "can't create new thread at interpreter shutdown");
  co = lua_newthread(L);
  lua_pushvalue(L, fi);
  for (int i = 1; i <= nargs; i++)
    lua_pushvalue(L, fi + i);
  lua_xmove(L, co, nargs + 1);
  ref = luaL_ref(L, LUA_REGISTRYINDEX);  /* pops co */
  setbase(L, co, 1);
  h = calloc(1, sizeof *h);
  if (h != NULL) {
    atomic_init(&h->refs, 2);
    lg_mutex_init(&h->mutex);
    lg_task_init(&h->task, I);
    h->task.run = run;
    h->task.done = done;
    h->task.release = release_task;
    snprintf(h->task.name, sizeof h->task.name, "%s", name);
    snprintf(h->name, sizeof h->name, "%s", name);
    h->daemon = daemon;
    h->task.stacksize = (stacksize == 0 || stacksize >= LG_TASK_MINSTACK)
                        ? stacksize : LG_TASK_MINSTACK;
    h->task.ident = (unsigned long)h;  /* unique while it runs */
    h->task.waiter.shield = 1;  /* until _run lifts it (stdlib/cancel.c) */
    h->quiet = quiet;
    h->task.L = co;
    h->ref = ref;
    h->task.stats = lg_stats_new(I, name, h->task.ident);
  }
  if (h != NULL && h->task.stats != NULL) {
    atomic_fetch_add(&I->nthreads, 1);
    err = lg_task_start(&h->task);
    if (err != 0) {
      atomic_fetch_sub(&I->nthreads, 1);
      lg_stats_discard(h->task.stats);
    }
  }
  if (err != 0) {  /* removing a key or a reference allocates nothing */
    setbase(L, co, 0);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    if (h != NULL) {
      pthread_mutex_destroy(&h->mutex);
      free(h);
    }
    luaL_error(L, "can't start new thread (%s)", strerror(err));
  }
  link_handle(h);
  *box = h;
  return h;
}

/* }====================================================== */


/*
** {======================================================
** Thread handles
** =======================================================
*/

static void checkcallable (lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TFUNCTION) {
    luaL_argexpected(L, luaL_getmetafield(L, arg, "__call") != LUA_TNIL,
                     arg, "function");
    lua_pop(L, 1);
  }
}


/* _thread.start_joinable_thread(f [, name [, quiet [, daemon]]]) ->
** handle */
static int thread_start_joinable (lua_State *L) {
  checkcallable(L, 1);
  const char *name = luaL_optstring(L, 2, "Thread");
  int quiet = lua_toboolean(L, 3);
  int daemon = lua_toboolean(L, 4);
  lua_settop(L, 4);
  start(L, 1, 0, name, quiet, daemon);
  return 1;
}


/* The end of a join, with h->mutex locked; 'r' says how the wait ended. */
static int joined (lua_State *L, Handle *h, int r) {
  int done = h->done;
  lg_check(pthread_mutex_unlock(&h->mutex));
  lg_wait_end();
  if (r == LG_INTERRUPTED && !done)
    return lg_breaker_raise_interrupt(L);
  lua_pushboolean(L, done);
  return 1;
}


static int join_k (lua_State *L, int status, lua_KContext ctx) {
  Handle *h = tohandle(L, 1);
  (void)status; (void)ctx;
  return joined(L, h, lg_waitq_waited(&h->joiners, &h->mutex));
}


/*
** handle:join([timeout]) -> boolean (true once the thread has ended).
** Only the thread's end wakes a joiner, so one wait is enough.
*/
static int handle_join (lua_State *L) {
  Handle *h = tohandle(L, 1);
  double timeout = lg_opttimeout(L, 2);
  struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
  luaL_argcheck(L, h != NULL, 1, "thread was never started");
  if (timeout != 0 && !h->done)  /* (done is ours to read: GIL) */
    lg_wait_begin(L, "join", h, NULL, NULL, &h->task.waiter);
  lg_check(pthread_mutex_lock(&h->mutex));
  return joined(L, h, h->done ? LG_WOKEN :
                lg_waitq_once(L, &h->joiners, &h->mutex, deadline, join_k));
}


/* handle:_cancel([message]) -> true if the thread's function was still
** running (stdlib/cancel.c) */
static int handle_cancel (lua_State *L) {
  Handle *h = tohandle(L, 1);
  int done = 1;
  lua_settop(L, 2);
  if (h != NULL) {
    lg_check(pthread_mutex_lock(&h->mutex));
    done = h->done;
    lg_check(pthread_mutex_unlock(&h->mutex));
  }
  lua_pushboolean(L, !done && lg_cancel(L, &h->task.waiter, 2));
  return 1;
}


/* handle:_setname(name): the name the dumps show */
static int handle_setname (lua_State *L) {
  Handle *h = tohandle(L, 1);
  const char *name = luaL_checkstring(L, 2);
  if (h != NULL) {
    snprintf(h->name, sizeof h->name, "%s", name);
    lg_stats_setname(h->task.stats, name);
  }
  return 0;
}


/* handle:is_done() -> boolean */
static int handle_is_done (lua_State *L) {
  Handle *h = tohandle(L, 1);
  int done = 1;
  if (h != NULL) {
    lg_check(pthread_mutex_lock(&h->mutex));
    done = h->done;
    lg_check(pthread_mutex_unlock(&h->mutex));
  }
  lua_pushboolean(L, done);
  return 1;
}


/* handle.ident, handle.native_id, and the methods */
static int handle_index (lua_State *L) {
  Handle *h = tohandle(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (h != NULL && strcmp(k, "ident") == 0)
    lua_pushinteger(L, (lua_Integer)h->task.ident);
  else if (h != NULL && strcmp(k, "native_id") == 0)
    lua_pushinteger(L, (lua_Integer)native_id(h));
  else {
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}


static int handle_gc (lua_State *L) {
  Handle **box = luaL_checkudata(L, 1, HANDLE);
  if (*box != NULL) {
    release(*box);
    *box = NULL;
  }
  return 0;
}


static int handle_tostring (lua_State *L) {
  Handle *h = tohandle(L, 1);
  if (h == NULL)
    lua_pushfstring(L, "<%s (empty) %p>", HANDLE, (void *)h);
  else
    lua_pushfstring(L, "<%s %I %s>", HANDLE, (lua_Integer)h->task.ident,
                    h->done ? "done" : "running");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Module functions
** =======================================================
*/

/* _thread.start_new_thread(f [, args]) -> ident */
static int thread_start_new (lua_State *L) {
  int n = 0;
  checkcallable(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer len;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "n") == LUA_TNIL)
      len = luaL_len(L, 2);
    else {
      luaL_argcheck(L, lua_isinteger(L, -1), 2,
                    "field 'n' must be an integer");
      len = lua_tointeger(L, -1);
    }
    luaL_argcheck(L, len >= 0, 2, "field 'n' must be >= 0");
    /* no stack holds more: checked before n + 4 could overflow */
    luaL_argcheck(L, len <= MAXARGS, 2, "too many arguments");
    n = (int)len;
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  luaL_checkstack(L, n + 4, "too many arguments");
  for (int i = 1; i <= n; i++)
    lua_geti(L, 2, i);  /* stack: f args-table a1..an */
  lua_pushvalue(L, 1);
  lua_replace(L, 2);    /* stack: f f a1..an */
  Handle *h = start(L, 2, n, "Dummy", 0, 1);
  lua_pushinteger(L, (lua_Integer)h->task.ident);
  return 1;
}


/* _thread.get_ident() -> integer */
static int thread_get_ident (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lg_self_ident());
  return 1;
}


/*
** _thread.get_native_id() -> integer: a thread keeps the native id of the
** OS thread it began on, as its Thread.native_id says, even if it went on
** on another after a wait (vm/task.h).
*/
static int thread_get_native_id (lua_State *L) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL && ts->task != NULL)
    lua_pushinteger(L, (lua_Integer)atomic_load(&ts->task->native_id));
  else
    lua_pushinteger(L, (lua_Integer)gettid());
  return 1;
}


/* _thread.main_ident() -> the ident of the interpreter's main thread:
** the one that installed it or, for interpreters.create, created it */
static int thread_main_ident (lua_State *L) {
  lg_IState *I = lg_interp_current();
  lua_pushinteger(L, (lua_Integer)(I != NULL ? I->main_ident
                                   : (unsigned long)lg_main_pthread()));
  return 1;
}


/*
** _thread.stack_size([size]) -> previous size. A size the OS accepts but
** a Lua thread cannot use safely is remembered as given, and rounded up
** to LG_TASK_MINSTACK when a thread starts.
*/
static int thread_stack_size (lua_State *L) {
  size_t old = stacksize;
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n == 0 || n >= 32768, 1, "size not valid: 32768 bytes "
                  "or more, or 0");
    stacksize = (size_t)n;
  }
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}


/* _thread.exit(): ends the calling thread quietly */
static int thread_exit (lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &EXIT_KEY);
  return lua_error(L);
}


int lg_thread_isexit (lua_State *L, int idx) {
  return isexit(L, idx);
}


/* _thread._note(kind, thread, message): a failure note for --explore */
static int thread_note (lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  const char *thread = luaL_checkstring(L, 2);
  const char *msg = luaL_checkstring(L, 3);
  lg_note(kind, thread, msg);
  return 0;
}


/* _thread.is_exit(err) -> true if 'err' was raised by _thread.exit() */
static int thread_is_exit (lua_State *L) {
  lua_pushboolean(L, isexit(L, 1));
  return 1;
}


/* _thread._fork() -> pid (0 in the child), or fail, message, errno */
static int thread_fork (lua_State *L) {
  int pid = lg_thread_fork(L);
  if (pid < 0)
    return luaL_fileresult(L, 0, NULL);
  lua_pushinteger(L, pid);
  return 1;
}


/* _thread.interrupt_main(): as if Ctrl-C were pressed */
static int thread_interrupt_main (lua_State *L) {
  (void)L;
  lg_breaker_interrupt_main();
  return 0;
}


static const luaL_Reg thread_funcs[] = {
  {"start_joinable_thread", thread_start_joinable},
  {"start_new_thread", thread_start_new},
  {"get_ident", thread_get_ident},
  {"get_native_id", thread_get_native_id},
  {"main_ident", thread_main_ident},
  {"stack_size", thread_stack_size},
  {"exit", thread_exit},
  {"is_exit", thread_is_exit},
  {"_note", thread_note},
  {"interrupt_main", thread_interrupt_main},
  {"_fork", thread_fork},
  {NULL, NULL}
};

static const luaL_Reg handle_methods[] = {
  {"join", handle_join},
  {"is_done", handle_is_done},
  {"_cancel", handle_cancel},
  {"_setname", handle_setname},
  {NULL, NULL}
};

static const luaL_Reg handle_meta[] = {
  {"__index", handle_index},
  {"__gc", handle_gc},
  {"__tostring", handle_tostring},
  {NULL, NULL}
};


static void createmeta (lua_State *L) {
  luaL_newmetatable(L, HANDLE);
  luaL_setfuncs(L, handle_meta, 0);
  luaL_newlib(L, handle_methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
}


int luaopen__thread (lua_State *L) {
  lg_fork_register(forkhandler);
  luaL_newlib(L, thread_funcs);
  createmeta(L);
  /* allocate_lock, RLock, ... (stdlib/lock.c, semaphore.c) */
  lg_open_lock(L);
  lg_open_semaphore(L);
  lg_open_guard(L);  /* what guard() returns (stdlib/lock.c) */
  lg_open_lockorder(L);  /* --check-locks (stdlib/lockorder.c) */
  lg_open_diag(L);   /* dumps, deadlocks (stdlib/diag.c) */
  lg_open_cancel(L);  /* shield, Cancelled (stdlib/cancel.c) */
  lg_open_watchdog(L);  /* Ctrl-\, later and fatal dumps (watchdog.c) */
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &EXIT_KEY) == LUA_TNIL) {
    lua_newtable(L);  /* a unique value that prints clearly */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "_thread.exit");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &EXIT_KEY);
  }
  lua_pop(L, 1);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &BASES_KEY) == LUA_TNIL) {
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &BASES_KEY);
  }
  lua_pop(L, 1);
  lua_pushnumber(L, LG_TIMEOUT_MAX);
  lua_setfield(L, -2, "TIMEOUT_MAX");
  return 1;
}

/* }====================================================== */
