/*
** stdlib/semaphore.c -- Semaphore, BoundedSemaphore and Event (threading).
** See LICENSE for copyright and licence (MIT).
**
** As for locks (stdlib/lock.c): the count and the flag are guarded by the
** GIL, so the paths that do not wait are plain memory operations; a thread
** that must wait counts itself in 'waiting', queues on the object's wait
** queue and parks with the GIL released. A release or set() takes the
** mutex only when 'waiting' says someone may be queued. A woken thread
** looks at the count again when it has the GIL back and queues again if
** another thread took the unit first.
**
** Destruction is as for locks: __gc called by hand marks the object
** destroyed and wakes its waiters, which raise; the mutex goes with the
** last thread out of a wait ('waiting'). The collector's call changes
** nothing.
*/

#include <limits.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "park.h"
#include "waitq.h"

#define SEM   "threading.Semaphore"
#define BSEM  "threading.BoundedSemaphore"
#define EVENT "threading.Event"


/* Type tags: see lg_sync_checkself. */
static const char SEMTAG[2], EVENTTAG[2];


typedef struct Sem {
  const void *tag;        /* GIL: SEMTAG (both types), then LG_SYNC_DEAD */
  lua_Integer value;      /* GIL */
  lua_Integer bound;      /* read-only: BoundedSemaphore's limit, else -1 */
  int waiting;            /* GIL: threads that may lock 'mutex' to wait */
  lg_Site site;           /* read-only: where it was made */
  pthread_mutex_t mutex;
  lg_WaitQueue waiters;   /* mutex */
} Sem;


typedef struct Event {
  const void *tag;        /* GIL: EVENTTAG, then LG_SYNC_DEAD(EVENTTAG) */
  int flag;               /* GIL */
  int waiting;            /* GIL: threads inside wait(), may lock 'mutex' */
  lg_Site site;           /* read-only: where it was made */
  pthread_mutex_t mutex;
  lg_WaitQueue waiters;   /* mutex */
} Event;


/*
** {======================================================
** Semaphore and BoundedSemaphore
** =======================================================
*/

#define NONBLOCK_SEM  "can't specify timeout for non-blocking acquire"


#define semname(s)  ((s)->bound >= 0 ? BSEM : SEM)


/* Either type: they share the tag. */
static Sem *checksem (lua_State *L) {
  return lg_sync_checkself(L, SEMTAG, sizeof(Sem), SEM);
}


/*
** The (blocking, timeout) arguments of sem:acquire: -1 (for ever), 0
** (don't wait) or the timeout; a negative one polls, and no timeout may
** come with blocking == false (Python's Semaphore, unlike its Lock).
*/
static double semargs (lua_State *L) {
  double timeout = lg_opttimeout(L, 3);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (!lua_toboolean(L, 2)) {
      luaL_argcheck(L, lua_isnoneornil(L, 3), 3, NONBLOCK_SEM);
      timeout = 0;
    }
  }
  return timeout;
}


static int newsem (lua_State *L, const char *tname, int bounded) {
  lua_Integer v = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, v >= 0, 1, "semaphore initial value must be >= 0");
  Sem *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->tag = SEMTAG;
  s->value = v;
  s->bound = bounded ? v : -1;
  s->waiting = 0;
  s->waiters.head = s->waiters.tail = NULL;
  lg_mutex_init(&s->mutex);
  lg_site_set(L, &s->site, bounded ? "BoundedSemaphore" : "Semaphore");
  luaL_setmetatable(L, tname);
  return 1;
}


/* Semaphore([value]) -> Semaphore */
static int thread_semaphore (lua_State *L) {
  return newsem(L, SEM, 0);
}


/* BoundedSemaphore([value]) -> BoundedSemaphore */
static int thread_bounded_semaphore (lua_State *L) {
  return newsem(L, BSEM, 1);
}


/* sem:acquire([blocking [, timeout]]) -> boolean */
static int sem_acquire (lua_State *L) {
  Sem *s = checksem(L);
  if (s->value > 0 && lua_gettop(L) == 1) {  /* the path that never waits */
    s->value--;
    lua_pushboolean(L, 1);
    return 1;
  }
  double timeout = semargs(L);
  if (s->value == 0 && timeout != 0) {
    struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
    int r = LG_WOKEN;
    lg_wait_begin(L, s->bound >= 0 ? "BoundedSemaphore.acquire"
                                   : "Semaphore.acquire",
                  s, &s->site, NULL, NULL);
    s->waiting++;
    lg_check(pthread_mutex_lock(&s->mutex));
    while (s->value == 0 && r == LG_WOKEN && s->tag == SEMTAG)
      r = lg_waitq_wait(&s->waiters, &s->mutex, deadline);
    lg_check(pthread_mutex_unlock(&s->mutex));
    lg_wait_end();
    if (s->tag != SEMTAG) {  /* destroyed meanwhile */
      if (--s->waiting == 0)
        pthread_mutex_destroy(&s->mutex);
      return lg_sync_destroyed(L, semname(s));
    }
    s->waiting--;
    if (r == LG_INTERRUPTED)  /* not woken by a release: nothing is lost */
      return lg_breaker_raise_interrupt(L);
  }
  if (s->value == 0)
    lua_pushboolean(L, 0);
  else {
    s->value--;
    lua_pushboolean(L, 1);
  }
  return 1;
}


/* sem:release([n]) */
static int sem_release (lua_State *L) {
  Sem *s = checksem(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, n >= 1, 2, "n must be one or more");
  if (s->bound >= 0 ? s->value > s->bound - n : s->value > LUA_MAXINTEGER - n)
    return luaL_error(L, "Semaphore released too many times");
  s->value += n;
  if (s->waiting > 0)
    lg_waitq_wake(&s->waiters, &s->mutex, n > INT_MAX ? -1 : (int)n);
  return 0;
}


/* The finaliser of both types: idempotent; waiters wake and raise. */
static int sem_gc (lua_State *L) {
  Sem *s = lg_sync_checkany(L, SEMTAG, sizeof(Sem), SEM);
  if (s->tag != SEMTAG || lg_finalising(L))
    return 0;
  s->tag = LG_SYNC_DEAD(SEMTAG);
  if (s->waiting > 0)
    lg_waitq_wake(&s->waiters, &s->mutex, -1);
  else
    pthread_mutex_destroy(&s->mutex);
  return 0;
}


static int sem_tostring (lua_State *L) {
  Sem *s = lg_sync_checkany(L, SEMTAG, sizeof(Sem), SEM);
  if (s->tag != SEMTAG)
    lua_pushfstring(L, "<destroyed %s at %p>", semname(s), (void *)s);
  else if (s->bound >= 0)
    lua_pushfstring(L, "<%s at %p: value=%I/%I>", BSEM, (void *)s, s->value,
                    s->bound);
  else
    lua_pushfstring(L, "<%s at %p: value=%I>", SEM, (void *)s, s->value);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Event
** =======================================================
*/

/* Event() -> Event */
static int thread_event (lua_State *L) {
  Event *e = lua_newuserdatauv(L, sizeof *e, 0);
  e->tag = EVENTTAG;
  e->flag = e->waiting = 0;
  e->waiters.head = e->waiters.tail = NULL;
  lg_mutex_init(&e->mutex);
  lg_site_set(L, &e->site, "Event");
  luaL_setmetatable(L, EVENT);
  return 1;
}


/* event:is_set() -> boolean */
static int event_is_set (lua_State *L) {
  Event *e = lg_sync_checkself(L, EVENTTAG, sizeof(Event), EVENT);
  lua_pushboolean(L, e->flag);
  return 1;
}


/* event:set() */
static int event_set (lua_State *L) {
  Event *e = lg_sync_checkself(L, EVENTTAG, sizeof(Event), EVENT);
  e->flag = 1;
  if (e->waiting > 0)
    lg_waitq_wake(&e->waiters, &e->mutex, -1);
  return 0;
}


/* event:clear() */
static int event_clear (lua_State *L) {
  Event *e = lg_sync_checkself(L, EVENTTAG, sizeof(Event), EVENT);
  e->flag = 0;
  return 0;
}


/*
** The end of event:wait(), with e->mutex locked; 'r' says how the wait
** ended (LG_WOKEN if there was none). Only set() wakes a waiter, so a
** woken one returns true even if the flag was cleared since, as in
** Python: a set() at once followed by clear() still wakes every waiter.
*/
static int event_waited (lua_State *L, Event *e, int r) {
  int flag = e->flag || r == LG_WOKEN;
  lg_check(pthread_mutex_unlock(&e->mutex));
  lg_wait_end();
  if (e->tag != EVENTTAG) {  /* destroyed meanwhile */
    if (--e->waiting == 0)
      pthread_mutex_destroy(&e->mutex);
    return lg_sync_destroyed(L, EVENT);
  }
  e->waiting--;
  if (r == LG_INTERRUPTED && !flag)
    return lg_breaker_raise_interrupt(L);
  lua_pushboolean(L, flag);
  return 1;
}


static int event_wait_k (lua_State *L, int status, lua_KContext ctx) {
  Event *e = lua_touserdata(L, 1);  /* checked before the wait */
  (void)status; (void)ctx;
  return event_waited(L, e, lg_waitq_waited(&e->waiters, &e->mutex));
}


/* event:wait([timeout]) -> boolean (true if set, false on a timeout) */
static int event_wait (lua_State *L) {
  Event *e = lg_sync_checkself(L, EVENTTAG, sizeof(Event), EVENT);
  double timeout = lg_opttimeout(L, 2);
  if (!e->flag && timeout != 0) {
    struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
    lg_wait_begin(L, "Event.wait", e, &e->site, NULL, NULL);
    e->waiting++;
    lg_check(pthread_mutex_lock(&e->mutex));
    return event_waited(L, e, e->flag ? LG_WOKEN :
                        lg_waitq_once(L, &e->waiters, &e->mutex, deadline,
                                      event_wait_k));
  }
  lua_pushboolean(L, e->flag);
  return 1;
}


/* event:_waiting() -> number of threads inside wait() (for benchmarks) */
static int event_waiting (lua_State *L) {
  Event *e = lg_sync_checkself(L, EVENTTAG, sizeof(Event), EVENT);
  lua_pushinteger(L, e->waiting);
  return 1;
}


/* The finaliser: idempotent; waiters wake and raise. */
static int event_gc (lua_State *L) {
  Event *e = lg_sync_checkany(L, EVENTTAG, sizeof(Event), EVENT);
  if (e->tag != EVENTTAG || lg_finalising(L))
    return 0;
  e->tag = LG_SYNC_DEAD(EVENTTAG);
  if (e->waiting > 0)
    lg_waitq_wake(&e->waiters, &e->mutex, -1);
  else
    pthread_mutex_destroy(&e->mutex);
  return 0;
}


static int event_tostring (lua_State *L) {
  Event *e = lg_sync_checkany(L, EVENTTAG, sizeof(Event), EVENT);
  lua_pushfstring(L, "<%s at %p: %s>", EVENT, (void *)e,
                  e->tag != EVENTTAG ? "destroyed" :
                  e->flag ? "set" : "unset");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Registration
** =======================================================
*/

static const luaL_Reg thread_funcs[] = {
  {"_Semaphore", thread_semaphore},
  {"_BoundedSemaphore", thread_bounded_semaphore},
  {"_Event", thread_event},
  {"_errorkind", lg_error_kind},
  {NULL, NULL}
};

static const luaL_Reg sem_methods[] = {
  {"acquire", sem_acquire},
  {"release", sem_release},
  {"guard", lg_sync_guard},
  {"with", lg_sync_with},
  {NULL, NULL}
};

static const luaL_Reg sem_meta[] = {
  {"__gc", sem_gc},
  {"__tostring", sem_tostring},
  {NULL, NULL}
};

static const luaL_Reg event_methods[] = {
  {"is_set", event_is_set},
  {"isSet", event_is_set},
  {"set", event_set},
  {"clear", event_clear},
  {"wait", event_wait},
  {"_waiting", event_waiting},
  {NULL, NULL}
};

static const luaL_Reg event_meta[] = {
  {"__gc", event_gc},
  {"__tostring", event_tostring},
  {NULL, NULL}
};


void lg_open_semaphore (lua_State *L) {
  lg_createmeta(L, SEM, sem_methods, sem_meta, NULL);
  lg_createmeta(L, BSEM, sem_methods, sem_meta, NULL);
  lg_createmeta(L, EVENT, event_methods, event_meta, NULL);
  luaL_setfuncs(L, thread_funcs, 0);
}

/* }====================================================== */
