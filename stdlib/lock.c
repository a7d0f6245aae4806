/*
** stdlib/lock.c -- Lock, RLock and Condition (_thread.allocate_lock,
** _thread.RLock, threading.Condition), and the fast paths that guard and
** with (stdlib/sync.c) take for them.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** State. Lua code and our C functions run with the GIL held, so a lock's
** state ('locked', 'owner', 'count', 'waiting') is guarded by the GIL: a
** free lock is taken and given back with a few plain memory operations and
** no system call. Only the contended path uses the object's mutex and wait
** queue: a thread that finds the lock taken counts itself in 'waiting',
** queues and parks (GIL released); a release wakes one queued thread when
** 'waiting' says there may be one. The woken thread takes the GIL back
** and looks again. As in Python the lock is not handed over: a third
** thread may take it first (no lock convoy), and the loser queues again.
** No wake-up is missed: a waiter queues before it lets the GIL go, and a
** releaser needs the GIL.
**
** Condition. A Condition has its own wait queue. When its lock is ours
** (Lock or RLock), wait() releases the lock and queues without letting the
** GIL go in between, so no notify() can come between the two. Any other
** lock (an object with acquire and release) runs Lua code in its release,
** where the GIL may switch: such a waiter counts as 'early' until it has
** queued, and a notify() that finds fewer queued waiters than it must wake
** leaves 'tokens' that early waiters take instead of queueing. Either way
** notify(n) wakes exactly min(n, waiters) threads. wait() always returns
** holding the lock again, even when Ctrl-C interrupted it, as
** pthread_cond_wait does; it raises "interrupted!" after that.
**
** Destruction. __gc called by hand, also while threads wait, marks the
** object destroyed (its tag, see lg_sync_checkself), so that every method
** raises "attempt to use a destroyed Lock", and wakes the waiters, which
** raise that too. The mutex is destroyed by whoever is last to stop using
** it: __gc if no thread is inside a wait ('waiting', 'inwait'), else the
** last waiter to leave. The collector's own call changes nothing: no
** thread waits then (a waiter holds the object), other finalisers may
** still use it (lg_finalising), and glibc's pthread_mutex_destroy frees
** nothing, so the memory can simply go.
*/

#include <limits.h>
#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "park.h"
#include "sigint.h"
#include "task.h"
#include "tstate.h"
#include "waitq.h"

#define LOCK   "threading.Lock"
#define GUARD  "threading._Guard"
#define RLOCK  "threading.RLock"
#define COND   "threading.Condition"

/*
** What luagil's Lua modules build on a Condition, as the dumps name it
** and its wait (_thread._label).
*/
static const char *const labels[][2] = {
  {"Condition", "Condition.wait"},
  {"Barrier", "Barrier.wait"},
  {"Future", "Future.result"},
  {NULL, NULL}
};

/* Type tags: see lg_sync_checkself. */
static const char LOCKTAG[2], RLOCKTAG[2], CONDTAG[2];

/* What lock a Condition wraps. */
#define LK_LOCK   0
#define LK_RLOCK  1
#define LK_OTHER  2


typedef struct Lock {
  const void *tag;        /* GIL: LOCKTAG or RLOCKTAG, then LG_SYNC_DEAD */
  int locked;             /* GIL */
  int waiting;            /* GIL: threads that may lock 'mutex' to wait */
  lg_Waiter *owner;       /* GIL: the holder (the thread that took it;
                             for a Lock only what the dumps show) */
  unsigned long owner_ident;  /* GIL: RLock only, its ident */
  lua_Integer count;      /* GIL: RLock only, recursion depth */
  struct Lock *lnext, *lprev;  /* GIL: the state's live locks */
  struct LockList *list;  /* GIL: the list it is on, or NULL */
  lg_Site site;           /* read-only: where it was made */
  lg_Dep dep;             /* GIL: lock-order checking (lockorder.c) */
  pthread_mutex_t mutex;
  lg_WaitQueue waiters;   /* mutex */
} Lock;


/* Every live Lock and RLock of a Lua state (a userdata in its registry),
** so that a dump can tell which locks a thread holds. */
typedef struct LockList {
  Lock *head;             /* GIL */
} LockList;

static const char LOCKLIST;  /* its registry key */


typedef struct Cond {
  const void *tag;        /* GIL: CONDTAG, then LG_SYNC_DEAD(CONDTAG) */
  int kind;               /* read-only: LK_LOCK, LK_RLOCK or LK_OTHER */
  lg_Site site;           /* GIL: where it was made ('kind' may change:
                             threading's Barrier names its Condition) */
  const char *waitname;   /* GIL: its wait(), in the dumps */
  Lock *lk;               /* read-only: the lock if it is ours, else NULL */
  int inwait;             /* GIL: threads in wait() that may lock 'mutex' */
  int early;              /* mutex: waiters that have not queued yet */
  int tokens;             /* mutex: notifications owed to early waiters */
  pthread_mutex_t mutex;
  lg_WaitQueue waiters;   /* mutex */
} Cond;


/*
** {======================================================
** Taking and giving back a lock (GIL held)
** =======================================================
*/

#define isdead(lk)  ((lk)->tag != LOCKTAG && (lk)->tag != RLOCKTAG)

/* The type name of 'lk', live or destroyed. */
#define lockname(lk) \
  ((lk)->tag == LOCKTAG || (lk)->tag == LG_SYNC_DEAD(LOCKTAG) ? LOCK : RLOCK)

#define isrlock(lk) \
  ((lk)->tag == RLOCKTAG || (lk)->tag == LG_SYNC_DEAD(RLOCKTAG))

/* The calling thread, as the holder of a lock. */
#define me()  lg_waiter_self()


/*
** Wait (GIL released) until 'lk' is free or 'deadline' (NULL: none)
** passes; does not take it. Returns LG_WOKEN if it is free now,
** LG_TIMEDOUT, or LG_INTERRUPTED (Ctrl-C; then the caller must raise).
** Raises if 'lk' is or gets destroyed.
*/
static int waitfree (lua_State *L, Lock *lk,
                     const struct timespec *deadline) {
  int r = LG_WOKEN;
  if (isdead(lk))
    lg_sync_destroyed(L, lockname(lk));
  lk->waiting++;
  lg_check(pthread_mutex_lock(&lk->mutex));
  while (lk->locked && r == LG_WOKEN && !isdead(lk))
    r = lg_waitq_wait(&lk->waiters, &lk->mutex, deadline);
  lg_check(pthread_mutex_unlock(&lk->mutex));
  if (--lk->waiting == 0 && isdead(lk))  /* the last one out */
    pthread_mutex_destroy(&lk->mutex);
  if (isdead(lk)) {
    lg_wait_end();
    lg_sync_destroyed(L, lockname(lk));
  }
  return r == LG_INTERRUPTED || lk->locked ? r : LG_WOKEN;
}


/* The wait record of a wait for 'lk' (see lg_wait_begin). */
static void waitrecord (lua_State *L, Lock *lk) {
  lg_wait_begin(L, isrlock(lk) ? "RLock.acquire" : "Lock.acquire", lk,
                &lk->site, &lk->owner, NULL);
}


/* Take 'lk' waiting up to 'timeout' (-1: for ever); false if not taken. */
static int take (lua_State *L, Lock *lk, double timeout) {
  if (lk->locked && timeout != 0) {
    struct timespec dl;
    int r;
    waitrecord(L, lk);
    r = waitfree(L, lk, lg_vdeadline(timeout, &dl));
    if (r == LG_INTERRUPTED)
      lg_breaker_raise_interrupt(L);
    lg_wait_end();
  }
  if (lk->locked)
    return 0;
  lk->locked = 1;
  lk->owner = me();
  lg_lockorder_took(L, &lk->dep, &lk->site);
  return 1;
}


/*
** Take 'lk' for good, whatever Ctrl-C or a cancellation says: a
** Condition must hold its lock again when wait() returns. A Ctrl-C is
** consumed (else every park would return at once) and reported in
** '*interrupted'; a cancellation does not end this wait (nointr). Raises
** if 'lk' is destroyed, and DeadlockError if the lock can never be had
** (every thread is blocked: then without the lock).
*/
static void retake (lua_State *L, Lock *lk, int *interrupted) {
  if (isdead(lk))
    lg_sync_destroyed(L, lockname(lk));
  if (lk->locked) {
    lg_wait_begin(L, "Condition.wait (retaking its lock)", lk, &lk->site,
                  &lk->owner, NULL);
    lg_wait_nointr();
    while (lk->locked) {
      if (waitfree(L, lk, NULL) == LG_INTERRUPTED) {
        if (!lg_sigint_take())  /* no Ctrl-C: a deadlock report */
          lg_breaker_raise_interrupt(L);
        *interrupted = 1;
      }
    }
    lg_wait_end();
  }
  lk->locked = 1;
  lk->owner = me();
  lg_lockorder_took(L, &lk->dep, &lk->site);
}


static void give (Lock *lk) {
  lg_lockorder_gave(&lk->dep);
  lk->locked = 0;
  lk->owner = NULL;
  if (lk->waiting > 0)
    lg_waitq_wake(&lk->waiters, &lk->mutex, 1);
}


/* RLock: take 'lk' for the calling thread, or count one more level. */
static int rtake (lua_State *L, Lock *lk, double timeout) {
  lg_Waiter *self = me();
  if (lk->owner == self) {
    if (lk->count == LUA_MAXINTEGER)
      luaL_error(L, "internal lock count overflowed");
    lk->count++;
    return 1;
  }
  if (!take(L, lk, timeout))
    return 0;
  lk->owner_ident = lg_self_ident();
  lk->count = 1;
  return 1;
}


/* RLock: give back one level of the calling thread's hold on 'lk'. */
static void rgive (Lock *lk) {
  if (--lk->count == 0)
    give(lk);
}


/*
** Fast paths. x:with(fn) and x:guard() call x's acquire and release. For
** a live Lock or RLock, or a live Condition over one, an acquire that
** need not wait and a release that cannot fail are done here, without
** looking the methods up and calling them through Lua (which made with()
** the main cost of concurrent.futures' locking). All else (a wait, an
** error, a destroyed lock, any other object) calls the method as before,
** so errors, their messages, Ctrl-C and yields are as they were.
*/
#define FAST_LOCK   1
#define FAST_RLOCK  2

/* FAST_LOCK or FAST_RLOCK, setting '*plk' to the lock; 0 for others. */
static int fastkind (lua_State *L, int idx, void **plk) {
  size_t size;
  const void **p;
  if (lua_type(L, idx) != LUA_TUSERDATA)  /* a full userdata */
    return 0;
  size = lua_rawlen(L, idx);
  p = lua_touserdata(L, idx);
  if (size == sizeof(Lock) && (*p == LOCKTAG || *p == RLOCKTAG)) {
    *plk = (void *)p;
    return *p == LOCKTAG ? FAST_LOCK : FAST_RLOCK;
  }
  if (size == sizeof(Cond) && *p == CONDTAG) {
    Cond *c = (Cond *)p;
    if (c->lk == NULL || isdead(c->lk))
      return 0;
    *plk = c->lk;
    return c->kind == LK_LOCK ? FAST_LOCK : FAST_RLOCK;
  }
  return 0;
}


/*
** lock:acquire() for a lock of 'kind', if it can be done at once: true
** if taken. Else the caller calls the method, which waits and raises.
*/
static int fastacquire (lua_State *L, int kind, void *lock) {
  Lock *lk = (Lock *)lock;
  lg_Waiter *self = me();
  if (kind == FAST_RLOCK && lk->owner == self && lk->locked) {
    if (lk->count == LUA_MAXINTEGER)
      return 0;  /* the method raises */
    lk->count++;
    return 1;
  }
  if (lk->locked)
    return 0;
  lk->locked = 1;
  lk->owner = self;
  if (kind == FAST_RLOCK) {
    lk->owner_ident = lg_self_ident();
    lk->count = 1;
  }
  lg_lockorder_took(L, &lk->dep, &lk->site);
  return 1;
}


/* lock:release() for a lock of 'kind' if it is valid: true if done. */
static int fastrelease (int kind, void *lock) {
  Lock *lk = (Lock *)lock;
  if (kind == FAST_RLOCK) {
    if (lk->owner != me() || lk->count == 0)
      return 0;
    rgive(lk);
  }
  else {
    if (!lk->locked)
      return 0;
    give(lk);
  }
  return 1;
}


/* The live locks of the state of 'L' (made on first use). */
static LockList *locklist (lua_State *L) {
  LockList *ll;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &LOCKLIST) == LUA_TUSERDATA)
    ll = lua_touserdata(L, -1);
  else {
    lua_pop(L, 1);
    ll = lua_newuserdatauv(L, sizeof *ll, 0);
    ll->head = NULL;
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &LOCKLIST);
  }
  lua_pop(L, 1);
  return ll;
}


static void unlist (Lock *lk) {
  if (lk->list == NULL)
    return;
  if (lk->lprev != NULL)
    lk->lprev->lnext = lk->lnext;
  else
    lk->list->head = lk->lnext;
  if (lk->lnext != NULL)
    lk->lnext->lprev = lk->lprev;
  lk->list = NULL;
}


static Lock *newlock (lua_State *L, const void *tag, const char *tname) {
  LockList *ll = locklist(L);  /* first: it may raise */
  Lock *lk = lua_newuserdatauv(L, sizeof *lk, 1);
  lk->tag = tag;
  lk->locked = lk->waiting = 0;
  lk->owner = NULL;
  lk->count = 0;
  lk->waiters.head = lk->waiters.tail = NULL;
  lk->list = NULL;
  lk->dep.cls = NULL;
  lk->dep.w = NULL;
  lg_mutex_init(&lk->mutex);
  lg_site_set(L, &lk->site, tag == LOCKTAG ? "Lock" : "RLock");
  luaL_setmetatable(L, tname);
  lk->lprev = NULL;
  lk->lnext = ll->head;
  if (ll->head != NULL)
    ll->head->lprev = lk;
  ll->head = lk;
  lk->list = ll;
  return lk;
}


/*
** For the dumps (stdlib/diag.c): push a sequence of the locks that 'w'
** holds ("Lock@x.lua:3", "RLock@x.lua:9 (2 levels)"), newest first.
*/
void lg_lock_pushheld (lua_State *L, const lg_Waiter *w) {
  LockList *ll = locklist(L);
  lua_Integer n = 0;
  lua_newtable(L);
  for (Lock *lk = ll->head; lk != NULL; lk = lk->lnext) {
    if (isdead(lk) || !lk->locked || lk->owner != w)
      continue;
    lg_site_push(L, &lk->site);
    if (isrlock(lk) && lk->count > 1)
      lua_pushfstring(L, "%s (%I levels)", lua_tostring(L, -1), lk->count);
    else
      lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ++n);
    lua_pop(L, 1);
  }
}


/*
** For C: the per-module locks of 'require' (stdlib/package.c) are RLocks.
** lg_rlock_new pushes a new one; lg_rlock_take waits for ever (raising
** "interrupted!" on Ctrl-C); lg_rlock_give releases one level.
*/
void *lg_rlock_new (lua_State *L) {
  Lock *lk = newlock(L, RLOCKTAG, RLOCK);
  lg_lockorder_exclude(&lk->dep);  /* see stdlib/lockorder.c */
  return lk;
}


void lg_rlock_take (lua_State *L, void *lock) {
  rtake(L, lock, -1);
}


void lg_rlock_give (void *lock) {
  rgive(lock);
}


/*
** The finaliser of Lock and RLock (see "Destruction" above): idempotent;
** its waiters wake and raise.
*/
static void destroylock (lua_State *L, Lock *lk) {
  if (isdead(lk) || lg_finalising(L))
    return;
  lk->tag = LG_SYNC_DEAD(lk->tag);
  if (lk->waiting > 0)
    lg_waitq_wake(&lk->waiters, &lk->mutex, -1);
  else
    pthread_mutex_destroy(&lk->mutex);
}


static int lock_gc (lua_State *L) {
  Lock *lk = lg_sync_checkany(L, LOCKTAG, sizeof(Lock), LOCK);
  unlist(lk);  /* also the collector's call: the memory goes */
  lg_lockorder_gave(&lk->dep);
  destroylock(L, lk);
  return 0;
}


static int rlock_gc (lua_State *L) {
  Lock *lk = lg_sync_checkany(L, RLOCKTAG, sizeof(Lock), RLOCK);
  unlist(lk);
  lg_lockorder_gave(&lk->dep);
  destroylock(L, lk);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** guard and with, for any lock
** =======================================================
*/

/*
** obj:acquire() and obj:release() for the lock at 'obj', as with and
** guard call them: directly for our own locks when that needs no wait
** and cannot fail, else through Lua (which waits, or raises).
*/
static void acquireat (lua_State *L, int obj) {
  void *lk;
  int kind = fastkind(L, obj, &lk);
  if (kind == 0 || !fastacquire(L, kind, lk))
    lg_sync_callmethod(L, obj, "acquire", 0);
}


static void releaseat (lua_State *L, int obj) {
  void *lk;
  int kind = fastkind(L, obj, &lk);
  if (kind == 0 || !fastrelease(kind, lk))
    lg_sync_callmethod(L, obj, "release", 0);
}


/*
** A guard holds 'held' acquisitions of the object in its uservalue (one
** guard serves nested blocks of an RLock), so its __close releases only
** what it took, however often it is called.
*/
typedef struct Guard {
  lua_Integer held;  /* GIL */
} Guard;


/*
** x:guard() -> a to-be-closed value that releases x. A userdata keeps its
** guard in uservalue 1 (made on first use, if that slot is free); any
** other lock, a table say, gets a new guard each time.
*/
int lg_sync_guard (lua_State *L) {
  Guard *g;
  lua_settop(L, 1);
  if (lua_type(L, 1) != LUA_TUSERDATA ||
      lua_getiuservalue(L, 1, 1) != LUA_TUSERDATA ||
      luaL_testudata(L, 2, GUARD) == NULL) {  /* none cached: a new one */
    if (!lg_sync_islock(L, 1))
      return lg_typeerror(L, 1, "lock");
    lua_settop(L, 1);  /* stack: x */
    lua_newuserdatauv(L, sizeof(Guard), 1);
    ((Guard *)lua_touserdata(L, 2))->held = 0;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, 2, 1);
    luaL_setmetatable(L, GUARD);
    if (lua_type(L, 1) == LUA_TUSERDATA &&
        lua_getiuservalue(L, 1, 1) == LUA_TNIL) {  /* a free slot */
      lua_pushvalue(L, 2);
      lua_setiuservalue(L, 1, 1);
    }
    lua_settop(L, 2);  /* stack: x guard */
  }
  g = lua_touserdata(L, 2);
  acquireat(L, 1);
  g->held++;
  return 1;
}


/* Second half of x:with, also the continuation when fn yielded. */
static int finishwith (lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;  /* stack: x results|err */
  releaseat(L, 1);
  if (status != LUA_OK && status != LUA_YIELD)
    return lua_error(L);
  return lua_gettop(L) - 1;
}


/* x:with(fn, ...) -> the results of fn(...), run holding x */
int lg_sync_with (lua_State *L) {
  int n = lua_gettop(L);
  void *lk;
  int kind = fastkind(L, 1, &lk);
  if (kind == 0 && !lg_sync_islock(L, 1))
    return lg_typeerror(L, 1, "lock");
  lg_sync_checkcallable(L, 2);
  if (kind == 0 || !fastacquire(L, kind, lk))
    lg_sync_callmethod(L, 1, "acquire", 0);
  /* fn may yield (a coroutine inside the block): hence pcallk */
  return finishwith(L, lua_pcallk(L, n - 2, LUA_MULTRET, 0, 0, finishwith),
                    0);
}


/* guard:__close() releases the object it guards, if it holds it */
static int guard_close (lua_State *L) {
  Guard *g = luaL_testudata(L, 1, GUARD);
  if (g == NULL)
    return lg_typeerror(L, 1, GUARD);
  if (g->held > 0) {
    g->held--;
    lua_getiuservalue(L, 1, 1);
    releaseat(L, -1);
  }
  return 0;
}


static const luaL_Reg guard_meta[] = {
  {"__close", guard_close},
  {NULL, NULL}
};


void lg_open_guard (lua_State *L) {
  luaL_newmetatable(L, GUARD);
  luaL_setfuncs(L, guard_meta, 0);
  lua_pop(L, 1);
}

/* }====================================================== */


/*
** {======================================================
** Lock
** =======================================================
*/

#define NONBLOCK_LOCK  "can't specify a timeout for a non-blocking call"


/* _thread.allocate_lock() -> Lock */
static int thread_allocate_lock (lua_State *L) {
  newlock(L, LOCKTAG, LOCK);
  return 1;
}


/* lock:acquire([blocking [, timeout]]) -> boolean */
static int lock_acquire (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, LOCKTAG, sizeof(Lock), LOCK);
  if (!lk->locked && lua_gettop(L) == 1) {  /* the uncontended path */
    lk->locked = 1;
    lk->owner = me();
    lg_lockorder_took(L, &lk->dep, &lk->site);
    lua_pushboolean(L, 1);
    return 1;
  }
  double timeout = lg_sync_acquireargs(L, NONBLOCK_LOCK);
  lua_pushboolean(L, take(L, lk, timeout));
  return 1;
}


/* lock:release() */
static int lock_release (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, LOCKTAG, sizeof(Lock), LOCK);
  if (!lk->locked)
    return luaL_error(L, "release unlocked lock");
  give(lk);
  return 0;
}


/* lock:locked() -> boolean */
static int lock_locked (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, LOCKTAG, sizeof(Lock), LOCK);
  lua_pushboolean(L, lk->locked);
  return 1;
}


static int lock_tostring (lua_State *L) {
  Lock *lk = lg_sync_checkany(L, LOCKTAG, sizeof(Lock), LOCK);
  lua_pushfstring(L, "<%s %s object at %p>", isdead(lk) ? "destroyed" :
                  lk->locked ? "locked" : "unlocked", LOCK, (void *)lk);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** RLock
** =======================================================
*/

/* _thread.RLock() -> RLock */
static int thread_rlock (lua_State *L) {
  newlock(L, RLOCKTAG, RLOCK);
  return 1;
}


/* rlock:acquire([blocking [, timeout]]) -> boolean */
static int rlock_acquire (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, RLOCKTAG, sizeof(Lock), RLOCK);
  double timeout = 0;
  if (lua_gettop(L) > 1)
    timeout = lg_sync_acquireargs(L, NONBLOCK_LOCK);
  else if (lk->locked)
    timeout = -1;
  lua_pushboolean(L, rtake(L, lk, timeout));
  return 1;
}


/* rlock:release() */
static int rlock_release (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, RLOCKTAG, sizeof(Lock), RLOCK);
  if (lk->owner != me() || lk->count == 0)
    return luaL_error(L, "cannot release un-acquired lock");
  rgive(lk);
  return 0;
}


/* rlock:locked() -> boolean */
static int rlock_locked (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, RLOCKTAG, sizeof(Lock), RLOCK);
  lua_pushboolean(L, lk->locked);
  return 1;
}


/* rlock:_is_owned() -> boolean (held by the calling thread) */
static int rlock_is_owned (lua_State *L) {
  Lock *lk = lg_sync_checkself(L, RLOCKTAG, sizeof(Lock), RLOCK);
  lua_pushboolean(L, lk->owner == me());
  return 1;
}


static int rlock_tostring (lua_State *L) {
  Lock *lk = lg_sync_checkany(L, RLOCKTAG, sizeof(Lock), RLOCK);
  if (isdead(lk)) {
    lua_pushfstring(L, "<destroyed %s object at %p>", RLOCK, (void *)lk);
    return 1;
  }
  lua_pushfstring(L, "<%s %s object owner=%I count=%I at %p>",
                  lk->locked ? "locked" : "unlocked", RLOCK,
                  (lua_Integer)(lk->owner ? lk->owner_ident : 0),
                  lk->count, (void *)lk);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Condition
** =======================================================
*/

/* Push the lock of the Condition at index 1. */
static void pushlock (lua_State *L) {
  lua_getiuservalue(L, 1, 2);
}


#define conddead(c)  ((c)->tag != CONDTAG)


/* Does the calling thread hold the lock of 'c'? (Python's _is_owned) */
static int isowned (lua_State *L, Cond *c) {
  int r;
  if (c->lk != NULL && isdead(c->lk))
    lg_sync_destroyed(L, lockname(c->lk));
  if (c->kind == LK_LOCK)
    return c->lk->locked;
  if (c->kind == LK_RLOCK)
    return c->lk->owner == me();
  pushlock(L);  /* stack: lock */
  if (lua_getfield(L, -1, "_is_owned") != LUA_TNIL) {
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    r = lua_toboolean(L, -1);
  }
  else {  /* held if it cannot be taken now */
    lua_pop(L, 1);
    lua_getfield(L, -1, "acquire");
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 0);
    lua_call(L, 2, 1);
    r = !lua_toboolean(L, -1);
    if (!r)
      lg_sync_callmethod(L, -2, "release", 0);
  }
  lua_pop(L, 2);
  return r;
}


/*
** Release the lock of 'c' completely, leaving what it takes to restore it
** on the stack (an RLock's recursion depth; what a foreign lock's
** _release_save returned). The caller counted itself early: if the
** release fails, the count is undone before the error goes on.
*/
static void releasesave (lua_State *L, Cond *c) {
  if (c->kind == LK_LOCK) {
    lua_pushnil(L);
    give(c->lk);
  }
  else if (c->kind == LK_RLOCK) {
    lua_pushinteger(L, c->lk->count);
    c->lk->count = 0;
    give(c->lk);
  }
  else {
    int status;
    pushlock(L);
    if (lua_getfield(L, -1, "_release_save") == LUA_TNIL) {
      lua_pop(L, 1);
      lua_getfield(L, -1, "release");
    }
    lua_insert(L, -2);
    status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
      lg_check(pthread_mutex_lock(&c->mutex));
      {
        c->early--;
        if (c->tokens > c->early)
          c->tokens = c->early;
      }
      lg_check(pthread_mutex_unlock(&c->mutex));
      if (--c->inwait == 0 && conddead(c))
        pthread_mutex_destroy(&c->mutex);
      lua_error(L);
    }
  }
}


/* Take the lock of 'c' back, from the state at 'saved'. */
static void acquirerestore (lua_State *L, Cond *c, int saved,
                            int *interrupted) {
  if (c->kind == LK_LOCK)
    retake(L, c->lk, interrupted);
  else if (c->kind == LK_RLOCK) {
    retake(L, c->lk, interrupted);
    c->lk->owner_ident = lg_self_ident();
    c->lk->count = lua_tointeger(L, saved);
  }
  else {
    pushlock(L);
    if (lua_getfield(L, -1, "_acquire_restore") != LUA_TNIL) {
      lua_insert(L, -2);
      lua_pushvalue(L, saved);
      lua_call(L, 2, 0);
    }
    else {
      lua_pop(L, 1);
      lg_sync_callmethod(L, -1, "acquire", 0);
      lua_pop(L, 1);
    }
  }
}


/*
** Wait on 'c' up to 'timeout' seconds (-1: for ever); true if notified.
** The caller holds the lock, and holds it again on return, also when
** Ctrl-C interrupted the wait ("interrupted!" is raised after that) or
** 'c' was destroyed meanwhile (which raises too).
*/
static int condwait (lua_State *L, Cond *c, double timeout) {
  struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
  int r, dead, interrupted = 0, top = lua_gettop(L);
  if (!isowned(L, c))
    luaL_error(L, "cannot wait on un-acquired lock");
  c->inwait++;
  lg_check(pthread_mutex_lock(&c->mutex));
  c->early++;
  lg_check(pthread_mutex_unlock(&c->mutex));
  releasesave(L, c);  /* stack: ... saved */
  lg_wait_begin(L, c->waitname, c, &c->site, NULL, NULL);
  lg_check(pthread_mutex_lock(&c->mutex));
  {
    c->early--;
    if (conddead(c))  /* destroyed while the lock was released */
      r = LG_WOKEN;
    else if (c->tokens > 0) {  /* notified before it could queue */
      c->tokens--;
      r = LG_WOKEN;
    }
    else if (timeout == 0)
      r = LG_TIMEDOUT;
    else
      r = lg_waitq_wait(&c->waiters, &c->mutex, deadline);
  }
  lg_check(pthread_mutex_unlock(&c->mutex));
  lg_wait_end();
  dead = conddead(c);
  if (--c->inwait == 0 && dead)  /* 'mutex' is not used below */
    pthread_mutex_destroy(&c->mutex);
  if (r == LG_INTERRUPTED)  /* raised below, once the lock is back */
    interrupted = 1;
  acquirerestore(L, c, top + 1, &interrupted);
  lua_settop(L, top);
  if (dead)
    lg_sync_destroyed(L, COND);
  if (interrupted)  /* Ctrl-C, a cancellation or a deadlock report */
    lg_breaker_raise_interrupt(L);
  return r == LG_WOKEN;
}


/* Wake 'n' waiters of 'c' (n < 0: all). */
static void notify (Cond *c, int n) {
  if (c->inwait == 0)
    return;
  lg_check(pthread_mutex_lock(&c->mutex));
  {
    int woken = lg_waitq_wake_locked(&c->waiters, n);
    int owed = c->early - c->tokens;
    if (n >= 0 && n - woken < owed)
      owed = n - woken;
    c->tokens += owed;
  }
  lg_check(pthread_mutex_unlock(&c->mutex));
}


/* Condition([lock]) -> Condition; the default lock is a new RLock */
static int thread_condition (lua_State *L) {
  Cond *c;
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    newlock(L, RLOCKTAG, RLOCK);
    lua_replace(L, 1);
  }
  c = lua_newuserdatauv(L, sizeof *c, 2);  /* stack: lock cond */
  c->tag = CONDTAG;
  lg_site_set(L, &c->site, labels[0][0]);
  c->waitname = labels[0][1];
  c->kind = LK_OTHER;
  c->lk = NULL;
  c->inwait = c->early = c->tokens = 0;
  c->waiters.head = c->waiters.tail = NULL;
  lg_mutex_init(&c->mutex);
  luaL_setmetatable(L, COND);
  if ((c->lk = luaL_testudata(L, 1, LOCK)) != NULL)
    c->kind = LK_LOCK;
  else if ((c->lk = luaL_testudata(L, 1, RLOCK)) != NULL)
    c->kind = LK_RLOCK;
  else
    luaL_argexpected(L, lg_sync_islock(L, 1), 1, "lock");
  if (c->lk != NULL && isdead(c->lk))
    lg_sync_destroyed(L, lockname(c->lk));
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, 2, 2);
  return 1;
}


/* Call the lock's method 'name' with the arguments of this call. */
static int forward (lua_State *L, const char *name) {
  pushlock(L);
  lua_replace(L, 1);
  lua_getfield(L, 1, name);
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}


/*
** cond:acquire([blocking [, timeout]]) -> boolean. The arguments are
** checked here, so that an error names 'acquire' and not the lock's
** method, which forward() calls from C.
*/
static int cond_acquire (lua_State *L) {
  lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  lg_sync_acquireargs(L, NONBLOCK_LOCK);
  return forward(L, "acquire");
}


/*
** cond:release(). Also on a destroyed Condition: a wait() that raised
** for that holds the lock again, and the code around it (x:with, a
** guard) must be able to let it go.
*/
static int cond_release (lua_State *L) {
  lg_sync_checkany(L, CONDTAG, sizeof(Cond), COND);
  return forward(L, "release");
}


/* cond:wait([timeout]) -> boolean (false if the timeout passed) */
static int cond_wait (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  double timeout = lg_opttimeout(L, 2);
  lua_pushboolean(L, condwait(L, c, timeout));
  return 1;
}


/* cond:wait_for(predicate [, timeout]) -> the predicate's last value */
static int cond_wait_for (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  double timeout = lg_opttimeout(L, 3), end = 0, left = timeout;
  lg_sync_checkcallable(L, 2);
  lua_settop(L, 2);
  for (int first = 1; ; first = 0) {
    lua_pushvalue(L, 2);
    lua_call(L, 0, 1);  /* stack: cond predicate result */
    if (lua_toboolean(L, -1))
      return 1;
    if (timeout >= 0) {
      if (first)
        end = lg_clock() + timeout;
      else if ((left = end - lg_clock()) <= 0)
        return 1;
    }
    lua_pop(L, 1);
    condwait(L, c, left);
  }
}


/* cond:notify([n]) */
static int cond_notify (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (!isowned(L, c))
    return luaL_error(L, "cannot notify on un-acquired lock");
  if (n > 0)
    notify(c, n > INT_MAX ? INT_MAX : (int)n);
  return 0;
}


/* cond:notify_all() */
static int cond_notify_all (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  if (!isowned(L, c))
    return luaL_error(L, "cannot notify on un-acquired lock");
  notify(c, -1);
  return 0;
}


/* _thread._label(cond, kind): what a Lua module builds on 'cond' ("Barrier",
** "Future"), for the dumps */
static int thread_label (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  const char *kind = luaL_checkstring(L, 2);
  for (int i = 0; labels[i][0] != NULL; i++)
    if (strcmp(labels[i][0], kind) == 0) {
      c->site.kind = labels[i][0];
      c->waitname = labels[i][1];
      return 0;
    }
  return luaL_argerror(L, 2, "unknown kind");
}


/* cond:_is_owned() -> boolean */
static int cond_is_owned (lua_State *L) {
  Cond *c = lg_sync_checkself(L, CONDTAG, sizeof(Cond), COND);
  lua_pushboolean(L, isowned(L, c));
  return 1;
}


/* The finaliser (see "Destruction" above): idempotent; waiters wake,
** take their lock back and raise. */
static int cond_gc (lua_State *L) {
  Cond *c = lg_sync_checkany(L, CONDTAG, sizeof(Cond), COND);
  if (conddead(c) || lg_finalising(L))
    return 0;
  c->tag = LG_SYNC_DEAD(CONDTAG);
  if (c->inwait > 0)
    lg_waitq_wake(&c->waiters, &c->mutex, -1);
  else
    pthread_mutex_destroy(&c->mutex);
  return 0;
}


static int cond_tostring (lua_State *L) {
  Cond *c = lg_sync_checkany(L, CONDTAG, sizeof(Cond), COND);
  if (conddead(c)) {
    lua_pushfstring(L, "<destroyed %s object at %p>", COND, (void *)c);
    return 1;
  }
  pushlock(L);
  lua_pushfstring(L, "<%s(%s, %d)>", COND, luaL_tolstring(L, -1, NULL),
                  c->inwait);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Registration
** =======================================================
*/

static const luaL_Reg thread_funcs[] = {
  {"allocate_lock", thread_allocate_lock},
  {"LockType", thread_allocate_lock},
  {"RLock", thread_rlock},
  {"_Condition", thread_condition},
  {"_label", thread_label},
  {NULL, NULL}
};

static const luaL_Reg lock_methods[] = {
  {"acquire", lock_acquire},
  {"release", lock_release},
  {"locked", lock_locked},
  {"guard", lg_sync_guard},
  {"with", lg_sync_with},
  {NULL, NULL}
};

static const luaL_Reg lock_meta[] = {
  {"__gc", lock_gc},
  {"__tostring", lock_tostring},
  {NULL, NULL}
};

static const luaL_Reg rlock_methods[] = {
  {"acquire", rlock_acquire},
  {"release", rlock_release},
  {"locked", rlock_locked},
  {"_is_owned", rlock_is_owned},
  {"guard", lg_sync_guard},
  {"with", lg_sync_with},
  {NULL, NULL}
};

static const luaL_Reg rlock_meta[] = {
  {"__gc", rlock_gc},
  {"__tostring", rlock_tostring},
  {NULL, NULL}
};

static const luaL_Reg cond_methods[] = {
  {"acquire", cond_acquire},
  {"release", cond_release},
  {"wait", cond_wait},
  {"wait_for", cond_wait_for},
  {"notify", cond_notify},
  {"notify_all", cond_notify_all},
  {"notifyAll", cond_notify_all},
  {"_is_owned", cond_is_owned},
  {"guard", lg_sync_guard},
  {"with", lg_sync_with},
  {NULL, NULL}
};

static const luaL_Reg cond_meta[] = {
  {"__gc", cond_gc},
  {"__tostring", cond_tostring},
  {NULL, NULL}
};

void lg_open_lock (lua_State *L) {
  lg_createmeta(L, LOCK, lock_methods, lock_meta, NULL);
  lg_createmeta(L, RLOCK, rlock_methods, rlock_meta, NULL);
  lg_createmeta(L, COND, cond_methods, cond_meta, NULL);
  luaL_setfuncs(L, thread_funcs, 0);
}

/* }====================================================== */
