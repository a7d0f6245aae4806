/*
** stdlib/diag.c -- when threads go wrong: every thread's traceback, the
** deadlock reports and their wait-for cycles (threading.dump_tracebacks,
** tracebacks, deadlocks, DeadlockError).
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** The threads. An interpreter's threads are the tasks that _thread
** started (lg_thread_foreach) and the OS threads registered there that
** are no worker: its main thread and host threads (lg_tstate_foreach).
** Each is a waiter (vm/tstate.h): what it blocks in (lg_Wait, filled by
** the synchronisation objects just before they block, stdlib/sync.c),
** the OS thread it runs on now, and its Lua state. A snapshot of them is
** copied into C memory under the registries' mutexes ('Entries'), and
** only then read with Lua calls, which may raise.
**
** Reading another thread's stack is safe only while that thread runs no
** Lua: the caller holds the GIL, so every other thread is blocked, waits
** for the GIL, or is off any OS thread (a task that yielded). The state
** of each is read from what the GIL orders: the statistics record
** (waiting for the GIL since t_ready; blocked since t_released), the
** blocking flag of its OS thread, or its task's state.
**
** Holders. A Lock or RLock keeps the waiter that took it. A thread that
** ended may leave a lock held, and its waiter (in its thread handle) may
** be freed after that: a holder is looked up among the live threads'
** waiters, never dereferenced.
**
** Cycles. A thread blocked for good (its wait queue node counted by the
** deadlock detector, vm/waitq.c) in a wait that has an owner -- a Lock's
** or RLock's holder, the thread a join waits for -- has one edge to that
** owner. Each thread has one edge at most, so following edges from every
** thread finds every cycle.
*/

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"
#include "stats.h"
#include "task.h"
#include "waitq.h"

#define DEADLOCKERROR  "threading.DeadlockError"
#define DEADLOCK_ALL   "deadlock: every thread is blocked"


/*
** {======================================================
** A snapshot of the threads
** =======================================================
*/

typedef struct Entry {
  lg_Waiter *w;
  lg_Task *task;            /* a task's, else NULL */
  lg_TState *ts;            /* an OS thread's (not a task), else NULL */
  char name[64];
  unsigned long ident;
  long native_id;
  int daemon, begun, ismain;
  int mark;                 /* the cycle search's */
} Entry;

typedef struct Entries {
  Entry *e;
  int n, cap;
  int oom;                  /* some thread is missing */
} Entries;


static Entry *add (Entries *E) {
  if (E->n == E->cap) {
    int cap = E->cap ? 2 * E->cap : 16;
    Entry *e = realloc(E->e, (size_t)cap * sizeof *e);
    if (e == NULL) {
      E->oom = 1;
      return NULL;
    }
    E->e = e;
    E->cap = cap;
  }
  memset(&E->e[E->n], 0, sizeof E->e[0]);
  return &E->e[E->n++];
}


static void addstate (lg_TState *ts, void *ud) {
  Entry *e = add(ud);
  if (e == NULL)
    return;
  e->w = &ts->self;
  e->ts = ts;
  e->ismain = ts->is_main;
  snprintf(e->name, sizeof e->name, "%s",
           ts->is_main ? "MainThread" : "Dummy");
  e->ident = ts->ident;
  e->native_id = ts->native_id;
  e->daemon = !ts->is_main;
  e->begun = 1;
}


static void addtask (const lg_ThreadRef *r, void *ud) {
  Entry *e = add(ud);
  if (e == NULL)
    return;
  e->w = r->w;
  e->task = r->task;
  snprintf(e->name, sizeof e->name, "%s", r->name);
  e->ident = r->ident;
  e->native_id = r->native_id;
  e->daemon = r->daemon;
  e->begun = r->begun;
}


/*
** The threads of 'I': the main thread first, then host threads, then the
** tasks oldest first (the handles come newest first).
*/
static void collect (lg_IState *I, Entries *E) {
  int first;
  memset(E, 0, sizeof *E);
  lg_tstate_foreach(I, addstate, E);
  for (int i = 0; i < E->n; i++)
    if (E->e[i].ismain && i > 0) {
      Entry t = E->e[0];
      E->e[0] = E->e[i];
      E->e[i] = t;
    }
  first = E->n;
  lg_thread_foreach(I, addtask, E);
  for (int i = first, j = E->n - 1; i < j; i++, j--) {
    Entry t = E->e[i];
    E->e[i] = E->e[j];
    E->e[j] = t;
  }
}


static void release (Entries *E) {
  free(E->e);
  E->e = NULL;
  E->n = E->cap = 0;
}


/* The entry of waiter 'w' among the live threads, or NULL. */
static Entry *find (Entries *E, const lg_Waiter *w) {
  for (int i = 0; w != NULL && i < E->n; i++)
    if (E->e[i].w == w)
      return &E->e[i];
  return NULL;
}

/* }====================================================== */


/*
** {======================================================
** What each thread does
** =======================================================
*/

#define ST_RUNNING   0  /* holds the GIL: the caller */
#define ST_GIL       1  /* waits for the GIL */
#define ST_BLOCKED   2  /* in a wait or a blocking call */
#define ST_READY     3  /* woken, waiting for a worker to run it */
#define ST_STARTING  4  /* not run yet */
#define ST_OUTSIDE   5  /* a host thread outside luagil_ensure */
#define ST_HOLDING   6  /* holds the GIL (seen without it) */

static const char *const statenames[] = {
  "running", "waiting for the GIL", "blocked", "ready to run", "starting",
  "outside Lua", "holding the GIL"
};


static lg_Stats *statsof (const Entry *e, lg_TState *ts) {
  return e->task != NULL ? e->task->stats : ts != NULL ? ts->stats : NULL;
}


/*
** The state of 'e' and since when (ns, 0 if unknown). 'self' is the
** caller's waiter, which runs (NULL: the caller is not one of them).
*/
static int stateof (const Entry *e, const lg_Waiter *self, long *since) {
  lg_TState *ts = atomic_load(&e->w->ts);
  lg_Stats *st = statsof(e, ts);
  *since = 0;
  if (e->w == self)
    return ST_RUNNING;
  if (ts == NULL) {  /* a task off any worker */
    int s = atomic_load(&e->task->state);
    if (s == LG_TASK_SLEEPING) {
      *since = st != NULL ? atomic_load(&st->t_released) : 0;
      return ST_BLOCKED;
    }
    return e->begun ? ST_READY : ST_STARTING;
  }
  if (atomic_load(&ts->blocking)) {
    *since = st != NULL ? atomic_load(&st->t_released) : 0;
    return ST_BLOCKED;
  }
  if (ts->host && atomic_load(&ts->running) == NULL)
    return ST_OUTSIDE;
  if (atomic_load(&ts->in_lua)) {
    *since = st != NULL ? atomic_load(&st->t_acquired) : 0;
    return ST_HOLDING;
  }
  if (!e->begun)
    return ST_STARTING;
  /* not running Lua, not blocked: it wants the GIL, or will at once */
  if (st != NULL && (*since = atomic_load(&st->t_ready)) == 0)
    *since = atomic_load(&st->t_released);
  return ST_GIL;
}


/* The wait queue node that counts 'w' as blocked, if it is. */
static const lg_WaitNode *nodeof (const Entry *e) {
  lg_TState *ts = atomic_load(&e->w->ts);
  return ts != NULL ? &ts->wq : &e->task->wq;
}


static int counted (const Entry *e) {
  return atomic_load(&nodeof(e)->counted) != NULL;
}


/* The owner of the wait 'wt' among the live threads, or NULL. */
static Entry *ownerof (Entries *E, const lg_Wait *wt) {
  if (wt->target != NULL)
    return find(E, wt->target);
  if (wt->holder != NULL)
    return find(E, *wt->holder);
  return NULL;
}


/*
** Push what 'wt' waits in: "Lock.acquire on Lock@x.lua:3 held by
** Thread-2", "join Thread-3", "time.sleep".
*/
static void pushwait (lua_State *L, Entries *E, const lg_Wait *wt) {
  const char *what = atomic_load(&wt->what);
  luaL_Buffer b;
  Entry *o = ownerof(E, wt);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, what != NULL ? what : "a C call");
  if (what != NULL && wt->site != NULL) {
    luaL_addstring(&b, " on ");
    lg_site_push(L, wt->site);
    luaL_addvalue(&b);
  }
  if (what != NULL && wt->target != NULL) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, o != NULL ? o->name : "a thread that has ended");
  }
  else if (what != NULL && wt->holder != NULL && *wt->holder != NULL) {
    luaL_addstring(&b, " held by ");
    luaL_addstring(&b, o != NULL ? o->name : "a thread that has ended");
  }
  luaL_pushresult(&b);
}


/* The wait record of 'e' to show: an override for the caller's own. */
static const lg_Wait *recordof (const Entry *e, const lg_Waiter *self,
                                const lg_Wait *mine) {
  return e->w == self && mine != NULL ? mine : &e->w->wait;
}


/*
** Push the state line of 'e': "blocked in Lock.acquire on Lock@x.lua:3
** held by Thread-2 for 2.001 s". 'mine' (or NULL) is what the caller was
** blocked in when an interrupt ended its wait: the caller shows as
** blocked in it.
*/
static int pushstate (lua_State *L, Entries *E, const Entry *e,
                      const lg_Waiter *self, const lg_Wait *mine) {
  long since;
  int st = stateof(e, self, &since);
  const lg_Wait *wt = recordof(e, self, mine);
  if (st == ST_RUNNING && mine != NULL) {
    pushwait(L, E, wt);
    lua_pushfstring(L, "blocked in %s", lua_tostring(L, -1));
    lua_remove(L, -2);
    return ST_BLOCKED;
  }
  if (st == ST_BLOCKED) {
    pushwait(L, E, wt);
    lua_pushfstring(L, "blocked in %s", lua_tostring(L, -1));
    lua_remove(L, -2);
  }
  else
    lua_pushstring(L, statenames[st]);
  if (since > 0) {
    char num[32];
    snprintf(num, sizeof num, "%.3f", (double)(lg_now_ns() - since) * 1e-9);
    lua_pushfstring(L, "%s for %s s", lua_tostring(L, -1), num);
    lua_remove(L, -2);
  }
  return st;
}


/* The Lua state 'e' runs now (a coroutine maybe), or NULL. */
static lua_State *runningof (const Entry *e) {
  lg_TState *ts = atomic_load(&e->w->ts);
  if (ts != NULL)
    return atomic_load(&ts->running);
  return e->task != NULL ? e->task->L : NULL;
}


/*
** Push the traceback of 'e' (stock luaL_traceback), from 'level' of its
** running state, and of its base state if it runs in a coroutine.
*/
static void pushtraceback (lua_State *L, const Entry *e, int level) {
  lua_State *co = runningof(e);
  lua_State *base = e->w->base;
  if (co == NULL) {
    lua_pushliteral(L, "stack traceback:\n\t(no Lua state)");
    return;
  }
  luaL_traceback(L, co, NULL, co == L ? level : 0);
  if (base != NULL && base != co) {
    luaL_traceback(L, base, "(in a coroutine resumed by)", 0);
    lua_pushfstring(L, "%s\n%s", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
}


/* Push the locks 'e' holds, as "Lock@x.lua:3, RLock@x.lua:5", or "". */
static void pushheld (lua_State *L, const Entry *e) {
  luaL_Buffer b;
  lua_Integer n;
  lg_lock_pushheld(L, e->w);
  n = luaL_len(L, -1);
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addstring(&b, ", ");
    lua_rawgeti(L, -2, i);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2);
}


/*
** Push one thread's block of a dump:
**
**   Thread-2 (ident 123, native_id 4567, daemon=false)
**     blocked in Lock.acquire on Lock@x.lua:3 held by Thread-1 for 2 s
**     holds Lock@x.lua:4
**   stack traceback:
**           [C]: in method 'acquire'
**           ...
*/
static void pushblock (lua_State *L, Entries *E, const Entry *e,
                       const lg_Waiter *self, const lg_Wait *mine,
                       int level) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "%s (ident %I, native_id %I, daemon=%s)\n  ", e->name,
                  (lua_Integer)e->ident, (lua_Integer)e->native_id,
                  e->daemon ? "true" : "false");
  luaL_addvalue(&b);
  pushstate(L, E, e, self, mine);
  luaL_addvalue(&b);
  luaL_addchar(&b, '\n');
  pushheld(L, e);
  if (lua_rawlen(L, -1) > 0) {
    luaL_addstring(&b, "  holds ");
    luaL_addvalue(&b);
    luaL_addchar(&b, '\n');
  }
  else
    lua_pop(L, 1);
  pushtraceback(L, e, level);
  luaL_addvalue(&b);
  luaL_pushresult(&b);
}


/* Push the dump of every thread in 'E'; the caller's traceback begins
** at 'level'. */
static void pushdump (lua_State *L, Entries *E, const lg_Waiter *self,
                      const lg_Wait *mine, int level) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "%d thread%s, most recent call first:\n", E->n,
                  E->n == 1 ? "" : "s");
  luaL_addvalue(&b);
  for (int i = 0; i < E->n; i++) {
    luaL_addchar(&b, '\n');
    pushblock(L, E, &E->e[i], self, mine, level);
    luaL_addvalue(&b);
    luaL_addchar(&b, '\n');
  }
  if (E->oom)
    luaL_addstring(&b, "\n(not enough memory: some threads are missing)\n");
  luaL_pushresult(&b);
}

/* }====================================================== */


/*
** {======================================================
** Wait-for cycles
** =======================================================
*/

/*
** The thread that 'e' waits for (its one edge), or NULL: 'e' must be
** blocked for good, or be the caller with the wait 'mine' that an
** interrupt ended.
*/
static Entry *edge (Entries *E, const Entry *e, const lg_Waiter *self,
                    const lg_Wait *mine) {
  if (e->w == self && mine != NULL)
    return ownerof(E, mine);
  if (!counted(e))
    return NULL;
  return ownerof(E, &e->w->wait);
}


/* Add "A waits for Lock@x.lua:3 held by B" (or "A joins B") to 'b'. */
static void addstep (lua_State *L, luaL_Buffer *b, Entries *E,
                     const Entry *e, const lg_Waiter *self,
                     const lg_Wait *mine) {
  const lg_Wait *wt = recordof(e, self, mine);
  Entry *o = ownerof(E, wt);
  luaL_addstring(b, e->name);
  if (wt->target != NULL) {
    luaL_addstring(b, " joins ");
    luaL_addstring(b, o != NULL ? o->name : "?");
    return;
  }
  luaL_addstring(b, " waits for ");
  if (wt->site != NULL) {
    lg_site_push(L, wt->site);
    luaL_addvalue(b);
  }
  luaL_addstring(b, " held by ");
  luaL_addstring(b, o != NULL ? o->name : "?");
}


/*
** Push a sequence of the cycles of 'E' as strings. The path from the
** first thread (the main one) into its cycle is part of that cycle's
** string, if 'prefix'.
*/
static void pushcycles (lua_State *L, Entries *E, const lg_Waiter *self,
                        const lg_Wait *mine, int prefix) {
  lua_Integer ncycles = 0;
  lua_newtable(L);
  for (int i = 0; i < E->n; i++)
    E->e[i].mark = 0;
  for (int i = 0; i < E->n; i++) {
    int stamp = i + 1;
    Entry *e = &E->e[i], *start;
    luaL_Buffer b;
    if (e->mark != 0)
      continue;
    for (start = e; start != NULL && start->mark == 0;
         start = edge(E, start, self, mine))
      start->mark = stamp;
    if (start == NULL || start->mark != stamp)
      continue;  /* no cycle, or one found from an earlier thread */
    luaL_buffinit(L, &b);
    if (!(prefix && i == 0))
      e = start;
    for (int first = 1, in = e == start; ; first = 0) {
      Entry *next = edge(E, e, self, mine);
      if (!first)
        luaL_addstring(&b, "; ");
      addstep(L, &b, E, e, self, mine);
      in = in || e == start;
      if (in && next == start)
        break;  /* round the cycle once */
      e = next;
    }
    luaL_pushresult(&b);
    lua_rawseti(L, -2, ++ncycles);
  }
}

/* }====================================================== */


/*
** {======================================================
** Snapshots owned by Lua
** =======================================================
*/

#define SNAP  "_thread._Snapshot"

/*
** A snapshot of the caller's interpreter's threads in a userdata, so that
** a Lua error (memory) on the way does not leak it.
*/
static Entries *snapshot (lua_State *L) {
  Entries *E = lua_newuserdatauv(L, sizeof *E, 0);
  memset(E, 0, sizeof *E);
  luaL_setmetatable(L, SNAP);
  collect(lg_interp_current(), E);
  return E;
}


static int snap_gc (lua_State *L) {
  release(luaL_checkudata(L, 1, SNAP));
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Deadlock errors
** =======================================================
*/

/*
** Push the message of a deadlock of every thread: its first line, each
** wait-for cycle, then the dump. The caller's own wait was 'mine'.
*/
static void pushdeadlock (lua_State *L, const lg_Waiter *self,
                          const lg_Wait *mine) {
  Entries *E = snapshot(L);
  luaL_Buffer b;
  lua_Integer n;
  pushcycles(L, E, self, mine, 1);
  n = luaL_len(L, -1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, DEADLOCK_ALL "\n");
  for (lua_Integer i = 1; i <= n; i++) {
    luaL_addstring(&b, "wait-for cycle: ");
    lua_rawgeti(L, -2, i);
    luaL_addvalue(&b);
    luaL_addchar(&b, '\n');
  }
  luaL_addchar(&b, '\n');
  pushdump(L, E, self, mine, 0);
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  lua_replace(L, -3);  /* stack: message cycles */
  lua_pop(L, 1);
}


static int raisedeadlock (lua_State *L) {
  lg_error_push(L, DEADLOCKERROR, lua_tostring(L, -1));
  return lua_error(L);
}


/*
** The raiser (vm/breaker.h) of the interrupts of waiter 'w', the caller:
** a deadlock report is raised once (the next wait that is blocked for
** good reports again); a cancellation as stdlib/cancel.c says.
*/
static int raiser (lua_State *L, lg_Waiter *w) {
  int intr = atomic_load(&w->intr);
  lg_wait_end();
  if (intr & LG_INTR_DEADLOCK) {
    atomic_fetch_and(&w->intr, ~LG_INTR_DEADLOCK);
    pushdeadlock(L, w, &w->ended);
    return raisedeadlock(L);
  }
  return lg_cancel_raise(L, w);
}


void lg_diag_cycle (lua_State *L, lg_Waiter *w) {
  Entries *E = snapshot(L);
  Entry *o = ownerof(E, &w->wait), *me = find(E, w);
  int n = 0;
  luaL_Buffer b;
  while (o != NULL && o != me && n++ <= E->n) {
    if (!counted(o)) {
      lua_pop(L, 1);
      return;
    }
    o = ownerof(E, &o->w->wait);
  }
  if (o == NULL || o != me) {
    lua_pop(L, 1);
    return;
  }
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "deadlock: ");
  do {
    if (o != me)
      luaL_addstring(&b, "; ");
    addstep(L, &b, E, o, w, &w->wait);
    o = o == me ? ownerof(E, &w->wait) : ownerof(E, &o->w->wait);
  } while (o != me);
  luaL_pushresult(&b);
  lua_remove(L, -2);  /* the snapshot */
  lg_wait_end();
  raisedeadlock(L);
}

/* }====================================================== */


/*
** {======================================================
** Lua functions
** =======================================================
*/

/* _thread._dump([level]) -> the dump of every thread, as a string; the
** caller's traceback from 'level' (default 1: the caller of _dump) */
static int diag_dump (lua_State *L) {
  int level = (int)luaL_optinteger(L, 1, 1);
  Entries *E = snapshot(L);
  pushdump(L, E, lg_waiter_self(), NULL, level);
  return 1;
}


/*
** _thread._tracebacks([level]) -> {[ident] = {name=, ident=, native_id=,
**   daemon=, state=, waiting=, since=, holds={...}, traceback=}}
*/
static int diag_tracebacks (lua_State *L) {
  int level = (int)luaL_optinteger(L, 1, 1);
  Entries *E = snapshot(L);
  const lg_Waiter *self = lg_waiter_self();
  lua_createtable(L, 0, E->n);
  for (int i = 0; i < E->n; i++) {
    const Entry *e = &E->e[i];
    long since;
    int st = stateof(e, self, &since);
    lua_createtable(L, 0, 10);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, (lua_Integer)e->ident);
    lua_setfield(L, -2, "ident");
    lua_pushinteger(L, (lua_Integer)e->native_id);
    lua_setfield(L, -2, "native_id");
    lua_pushboolean(L, e->daemon);
    lua_setfield(L, -2, "daemon");
    lua_pushstring(L, statenames[st]);
    lua_setfield(L, -2, "state");
    if (st == ST_BLOCKED) {
      pushwait(L, E, &e->w->wait);
      lua_setfield(L, -2, "waiting");
    }
    if (since > 0) {
      lua_pushnumber(L, (double)(lg_now_ns() - since) * 1e-9);
      lua_setfield(L, -2, "since");
    }
    lg_lock_pushheld(L, e->w);
    lua_setfield(L, -2, "holds");
    pushtraceback(L, e, level);
    lua_setfield(L, -2, "traceback");
    lua_rawseti(L, -2, (lua_Integer)e->ident);
  }
  return 1;
}


/* _thread.deadlocks() -> a sequence of the wait-for cycles, as strings */
static int diag_deadlocks (lua_State *L) {
  Entries *E = snapshot(L);
  pushcycles(L, E, lg_waiter_self(), NULL, 0);
  return 1;
}


/* Set (on true) or clear (on false) 'bit' of the caller's interpreter's
** deadlock checks; returns whether it was set. */
static int setbit (lua_State *L, int bit) {
  lg_IState *I = lg_interp_current();
  int old;
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  if (lua_toboolean(L, 1))
    old = atomic_fetch_or(&I->deadlocks, bit);
  else
    old = atomic_fetch_and(&I->deadlocks, ~bit);
  lua_pushboolean(L, (old & bit) != 0);
  return 1;
}


/* _thread.setcheckdeadlocks(on) -> was it on: a wait that would close a
** cycle raises DeadlockError in the thread that makes it */
static int diag_setcheckdeadlocks (lua_State *L) {
  return setbit(L, LG_DEADLOCKS_CYCLE);
}


/* _thread.setdetectdeadlocks(on) -> was it on: a deadlock of every thread
** raises DeadlockError in the main thread */
static int diag_setdetectdeadlocks (lua_State *L) {
  return setbit(L, LG_DEADLOCKS_ALL);
}


static const luaL_Reg diag_funcs[] = {
  {"_dump", diag_dump},
  {"_tracebacks", diag_tracebacks},
  {"deadlocks", diag_deadlocks},
  {"setcheckdeadlocks", diag_setcheckdeadlocks},
  {"setdetectdeadlocks", diag_setdetectdeadlocks},
  {NULL, NULL}
};


void lg_open_diag (lua_State *L) {
  if (luaL_newmetatable(L, SNAP)) {
    lua_pushcfunction(L, snap_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lg_breaker_setraiser(raiser);
  luaL_setfuncs(L, diag_funcs, 0);
  lg_error_pushkind(L, DEADLOCKERROR, NULL);
  lua_setfield(L, -2, "DeadlockError");
}

/* }====================================================== */


/*
** {======================================================
** Dumps without Lua: without the GIL, or from a fatal signal
** =======================================================
*/

void lg_diag_pushdump (lua_State *L, int level) {
  Entries *E = snapshot(L);
  pushdump(L, E, lg_waiter_self(), NULL, level);
  lua_remove(L, -2);
}


static void writeall (int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}


/* snprintf into 'buf' (at most 'size' bytes) and write it to 'fd'. */
static void writef (int fd, char *buf, size_t size, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void writef (int fd, char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  if (n > 0)
    writeall(fd, buf, (size_t)n < size ? (size_t)n : size - 1);
}


/*
** Without the GIL, nothing of Lua may be read: each thread's name, ids,
** state and the name of its wait (a static string), which may change as
** it is read; a site is an object's, which may be gone.
*/
void lg_diag_write_nogil (lg_IState *I, int fd, const char *why) {
  Entries E;
  char buf[256];
  const Entry *holder = NULL;
  long now = lg_now_ns(), hsince = 0;
  collect(I, &E);
  for (int i = 0; i < E.n && holder == NULL; i++) {
    long since;
    if (stateof(&E.e[i], NULL, &since) == ST_HOLDING) {
      holder = &E.e[i];
      hsince = since;
    }
  }
  writef(fd, buf, sizeof buf, "luagil: %s", why);
  if (holder != NULL && hsince > 0)
    writef(fd, buf, sizeof buf, "; %s holds the GIL (for %.3f s: a C "
           "function that does not let it go?)", holder->name,
           (double)(now - hsince) * 1e-9);
  else if (holder != NULL)
    writef(fd, buf, sizeof buf, "; %s holds the GIL", holder->name);
  writef(fd, buf, sizeof buf, "\n%d thread%s, without tracebacks:\n", E.n,
         E.n == 1 ? "" : "s");
  for (int i = 0; i < E.n; i++) {
    const Entry *e = &E.e[i];
    long since;
    int st = stateof(e, NULL, &since);
    const char *what = atomic_load(&e->w->wait.what);
    writef(fd, buf, sizeof buf, "\n%s (ident %lu, native_id %ld, "
           "daemon=%s)\n  %s", e->name, e->ident, e->native_id,
           e->daemon ? "true" : "false", statenames[st]);
    if (st == ST_BLOCKED)
      writef(fd, buf, sizeof buf, " in %s", what != NULL ? what
                                                         : "a C call");
    if (since > 0)
      writef(fd, buf, sizeof buf, " for %.3f s",
             (double)(now - since) * 1e-9);
    writeall(fd, "\n", 1);
  }
  if (E.oom)
    writeall(fd, "(not enough memory: some threads are missing)\n", 47);
  release(&E);
}


/*
** From a fatal signal's handler, on the crashing thread: which thread it
** is and, if it was running Lua, where (lua_getinfo allocates nothing).
** Best effort, as CPython's faulthandler: the state may be broken.
*/
void lg_diag_write_fatal (int fd) {
  lg_TState *ts = lg_tstate_current();
  lua_State *co = ts != NULL ? atomic_load(&ts->running) : NULL;
  char buf[256];
  lua_Debug ar;
  if (ts == NULL) {
    writeall(fd, "in a thread that runs no Lua\n", 29);
    return;
  }
  writef(fd, buf, sizeof buf, "in thread %s (native_id %ld)%s\n",
         ts->task != NULL ? ts->task->name : ts->is_main ? "MainThread"
                                                       : "Dummy",
         ts->native_id, atomic_load(&ts->in_lua) ? ", holding the GIL"
                                                 : "");
  if (co == NULL || !atomic_load(&ts->in_lua))
    return;
  writeall(fd, "stack traceback (most recent call first):\n", 42);
  for (int level = 0; level < 50 && lua_getstack(co, level, &ar);
       level++) {
    if (!lua_getinfo(co, "Sl", &ar))
      break;
    if (ar.currentline > 0)
      writef(fd, buf, sizeof buf, "\t%s:%d\n", ar.short_src,
             ar.currentline);
    else
      writef(fd, buf, sizeof buf, "\t[%s]\n", ar.short_src);
  }
}

/* }====================================================== */
