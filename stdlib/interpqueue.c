/*
** stdlib/interpqueue.c -- interpreters.create_queue([maxsize]): a Queue
** that every interpreter of the process can use (issue 14), with
** queue.Queue's methods and errors.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** State. The queue is C memory of the process, not of any lua_State, with
** a reference count: each interpreter's userdata on it holds one, as does
** each message that carries it and each thread waiting on it (so that a
** __gc called by hand while a thread of the same interpreter waits frees
** nothing under it). The last reference frees it and the messages of the
** items never taken. Counters, items and wait queues are guarded by the
** queue's own mutex: its users hold different GILs. The mutex is taken
** with a GIL held and never held while waiting for one, so no lock order
** involves the GILs; nothing that can raise runs while it is locked.
**
** Items. An item is copied as a message of multiprocessing's serializer
** (lg_mp_dumpx with LG_MP_FUNCS | LG_MP_SHARE: functions travel as
** string.dump plus upvalues, and shareable C objects, this queue type
** among them, by pointer), written by the putter with its GIL before it
** locks the queue, and read by the getter in its own interpreter after it
** has unlocked it. A message in hand is owned by a box userdata while it
** is decoded, so that an error there frees it. The ring of messages
** doubles when full, up to maxsize for a bounded queue.
**
** Waiting. A get on an empty queue (a put on a full one, a join with
** tasks left) parks on a vm/waitq.h wait queue with the mutex, releasing
** only the caller's GIL. A waker may be in another interpreter:
** lg_waitq_wake_locked unparks such a waiter instead of queueing it for
** the waker's GIL. A woken thread looks at the queue again, under the
** mutex, and waits again if another thread got there first. Ctrl-C ends
** the main thread's waits as in queue.c.
**
** Identity. Each interpreter keeps a weak table from queue to its
** userdata there, so that a queue that comes back (from another
** interpreter, or out of a queue) is the same Lua value it was.
**
** A queue that holds a message carrying itself (put into itself, or two
** queues into each other) keeps itself alive: reference counts do not
** see cycles. Take such items out before the queues go.
*/

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "multiprocessing/mp.h"
#include "park.h"
#include "waitq.h"

#define IQUEUE  "interpreters.Queue"
#define ITEM    "interpreters._QueueItem"

#define EMPTY     "queue.Empty"
#define FULL      "queue.Full"
#define SHUTDOWN  "queue.ShutDown"

/* What items carry: functions, and shared objects by pointer. */
#define FLAGS  (LG_MP_FUNCS | LG_MP_SHARE)

#define MINCAP  16

/* Type tag of the userdata: see lg_sync_checkself. */
static const char IQUEUETAG[2];

/* The registry key of each interpreter's weak table of its queues. */
static const char CACHEKEY = 0;


typedef struct IQueue {
  atomic_int refs;          /* userdata, messages and waiters on it */
  lua_Integer maxsize;      /* read-only: <= 0 for unbounded */
  pthread_mutex_t mutex;
  lg_MpMsg *ring;           /* mutex: 'cap' slots, 'count' from 'head' */
  size_t cap, head, count;  /* mutex */
  lua_Integer unfinished;   /* mutex: items put and not yet task_done() */
  int shutdown;             /* mutex */
  lg_WaitQueue getters, putters, joiners;  /* mutex */
} IQueue;


/* The userdata: an interpreter's reference on a queue. */
typedef struct Box {
  const void *tag;          /* IQUEUETAG, then LG_SYNC_DEAD(IQUEUETAG) */
  IQueue *q;                /* NULL once its reference is dropped */
} Box;


/* A message taken out of a queue, owned by a userdata until decoded. */
typedef struct Item {
  lg_MpMsg m;
} Item;


/*
** {======================================================
** The queue in C memory
** =======================================================
*/

/* Give back the references a message holds and free it. */
static void dropmsg (lg_MpMsg *m) {
  if (m->data != NULL) {
    lg_mp_drop(m->data, m->len);
    free(m->data);
    m->data = NULL;
  }
}


/* Drop the 'count' messages of a ring from 'head', and the ring. */
static void dropring (lg_MpMsg *ring, size_t cap, size_t head,
                      size_t count) {
  for (size_t i = 0; i < count; i++)
    dropmsg(&ring[(head + i) % cap]);
  free(ring);
}


static void ref (IQueue *q) {
  atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
}


/*
** Release a reference; the last one frees the queue. No thread waits on
** it then (a waiter holds a reference), so nobody else locks the mutex.
*/
static void unref (IQueue *q) {
  if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) == 1) {
    dropring(q->ring, q->cap, q->head, q->count);
    pthread_mutex_destroy(&q->mutex);
    free(q);
  }
}


#define isfull(q)  ((q)->maxsize > 0 && (lua_Integer)(q)->count >= \
                                        (q)->maxsize)


/* Add 'm' at the end (mutex locked); false if memory runs out. */
static int additem (IQueue *q, lg_MpMsg *m) {
  if (q->count == q->cap) {  /* grow, oldest first at slot 0 */
    size_t ncap = q->cap > 0 ? q->cap * 2 : MINCAP;
    lg_MpMsg *r;
    if (q->maxsize > 0 && (lua_Integer)ncap > q->maxsize)
      ncap = (size_t)q->maxsize;
    if (ncap > (size_t)-1 / sizeof *r ||
        (r = malloc(ncap * sizeof *r)) == NULL)
      return 0;
    for (size_t i = 0; i < q->count; i++)
      r[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = r;
    q->cap = ncap;
    q->head = 0;
  }
  q->ring[(q->head + q->count) % q->cap] = *m;
  q->count++;
  m->data = NULL;  /* the queue's now */
  return 1;
}


/* Take the oldest item into 'm' (mutex locked; the queue is not empty). */
static void takeitem (IQueue *q, lg_MpMsg *m) {
  *m = q->ring[q->head];
  q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
  q->count--;
}


/* Wake up to 'n' threads waiting on 'wq' (n < 0: all); mutex locked. */
static void wake (lg_WaitQueue *wq, int n) {
  if (wq->head != NULL)
    lg_waitq_wake_locked(wq, n);
}

/* }====================================================== */


/*
** {======================================================
** Userdata
** =======================================================
*/

static int item_gc (lua_State *L) {
  Item *it = luaL_checkudata(L, 1, ITEM);
  dropmsg(&it->m);  /* one taken and never decoded */
  return 0;
}


/* Push an empty item box (before the queue is locked: it may raise). */
static Item *newitem (lua_State *L) {
  Item *it = lua_newuserdatauv(L, sizeof *it, 0);
  it->m.data = NULL;
  it->m.len = 0;
  if (luaL_newmetatable(L, ITEM)) {
    lua_pushcfunction(L, item_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return it;
}


/* Push the value of the item in 'it', which gives its message up. */
static void loaditem (lua_State *L, Item *it) {
  lg_MpMsg m = it->m;
  lg_mp_loadx(L, m.data, m.len, FLAGS);  /* takes the references over */
  it->m.data = NULL;
  free(m.data);
}


static void pushmeta (lua_State *L);


/* Push a userdata on no queue yet: its __gc drops nothing. */
static Box *newbox (lua_State *L) {
  Box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->tag = IQUEUETAG;
  b->q = NULL;
  pushmeta(L);
  lua_setmetatable(L, -2);
  return b;
}


/* Push this interpreter's weak table of queues (made on first use). */
static void pushcache (lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHEKEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHEKEY);
  }
}


/*
** Push this interpreter's userdata on 'q', a new one if it has none,
** taking over the caller's reference 'q' (dropped if a userdata on it
** existed). Raises only before it takes the reference.
*/
static void pushqueue (lua_State *L, IQueue *q) {
  Box *b;
  pushcache(L);
  if (lua_rawgetp(L, -1, q) == LUA_TUSERDATA &&
      (b = lua_touserdata(L, -1))->q == q) {  /* the one it has */
    lua_remove(L, -2);
    unref(q);  /* it holds a reference of its own */
    return;
  }
  lua_pop(L, 1);
  b = newbox(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, q);
  lua_remove(L, -2);
  b->q = q;  /* last: nothing raises now */
}


static IQueue *checkqueue (lua_State *L) {
  Box *b = lg_sync_checkself(L, IQUEUETAG, sizeof(Box), IQUEUE);
  return b->q;
}

/* }====================================================== */


/*
** {======================================================
** Putting and getting
** =======================================================
*/

/*
** Wait on 'wq' with the mutex locked, until woken, 'deadline' (NULL:
** none) or Ctrl-C; the thread's own reference keeps 'q' meanwhile.
*/
static int waiton (IQueue *q, lg_WaitQueue *wq,
                   const struct timespec *deadline) {
  return lg_waitq_wait(wq, &q->mutex, deadline);
}


/*
** A put that failed with 'r' (mutex locked; 'waited': the thread took a
** reference to wait): let everything go, then raise.
*/
static int putfailed (lua_State *L, IQueue *q, lg_MpMsg *m, int waited,
                      int r) {
  int shut = q->shutdown;
  lg_check(pthread_mutex_unlock(&q->mutex));
  dropmsg(m);
  if (waited)
    unref(q);
  if (r == LG_INTERRUPTED)  /* it was not woken: no wake-up is lost */
    return lg_breaker_raise_interrupt(L);
  if (shut)
    return lg_error_raise(L, SHUTDOWN, "queue is shut down");
  if (r == LG_WOKEN)  /* out of memory for the ring */
    return luaL_error(L, "not enough memory");
  return lg_error_raise(L, FULL, "queue is full");
}


/* q:put(item [, block [, timeout]]) */
static int iq_put (lua_State *L) {
  IQueue *q = checkqueue(L);
  double timeout;
  lg_MpMsg m;
  int waited = 0;
  luaL_argcheck(L, !lua_isnoneornil(L, 2), 2, "queue items cannot be nil");
  timeout = lg_waitargs(L, 3);
  m = lg_mp_dumpx(L, 2, FLAGS, "item", LG_MP_TOINTERPRETER);
  lg_check(pthread_mutex_lock(&q->mutex));
  if (q->shutdown)
    return putfailed(L, q, &m, 0, LG_TIMEDOUT);
  if (isfull(q)) {
    struct timespec dl, *deadline = lg_deadline(timeout, &dl);
    int r = timeout == 0 ? LG_TIMEDOUT : LG_WOKEN;
    if (r == LG_WOKEN) {
      ref(q);
      waited = 1;
    }
    while (r == LG_WOKEN && isfull(q) && !q->shutdown)
      r = waiton(q, &q->putters, deadline);
    if (r == LG_INTERRUPTED || q->shutdown || isfull(q))
      return putfailed(L, q, &m, waited, r == LG_WOKEN ? LG_TIMEDOUT : r);
  }
  if (!additem(q, &m))
    return putfailed(L, q, &m, waited, LG_WOKEN);
  q->unfinished++;
  wake(&q->getters, 1);
  lg_check(pthread_mutex_unlock(&q->mutex));
  if (waited)
    unref(q);
  return 0;
}


/* q:put_nowait(item) */
static int iq_put_nowait (lua_State *L) {
  lua_settop(L, 2);
  lua_pushboolean(L, 0);
  return iq_put(L);
}


/*
** Is the message 'm' a single nil, boolean or number? Pushing its value
** cannot raise, so it needs no box (see mp_pickle.c's loadscalar).
*/
static int isplain (const lg_MpMsg *m) {
  return m->len > 0 && strchr("nftid", m->data[0]) != NULL;
}


/* q:get([block [, timeout]]) -> item */
static int iq_get (lua_State *L) {
  IQueue *q = checkqueue(L);
  double timeout = lg_waitargs(L, 2);
  Item *it;
  int waited = 0;
  lg_check(pthread_mutex_lock(&q->mutex));
  if (q->count > 0 && isplain(&q->ring[q->head])) {  /* the fast path */
    lg_MpMsg m;
    takeitem(q, &m);
    wake(&q->putters, 1);
    lg_check(pthread_mutex_unlock(&q->mutex));
    lg_mp_loadx(L, m.data, m.len, FLAGS);
    free(m.data);
    return 1;
  }
  lg_check(pthread_mutex_unlock(&q->mutex));
  it = newitem(L);
  lg_check(pthread_mutex_lock(&q->mutex));
  if (q->count == 0) {
    struct timespec dl, *deadline = lg_deadline(timeout, &dl);
    int r = timeout == 0 ? LG_TIMEDOUT : LG_WOKEN;
    int shut;
    if (r == LG_WOKEN && !q->shutdown) {
      ref(q);
      waited = 1;
    }
    while (r == LG_WOKEN && q->count == 0 && !q->shutdown)
      r = waiton(q, &q->getters, deadline);
    if (q->count == 0) {
      shut = q->shutdown;
      lg_check(pthread_mutex_unlock(&q->mutex));
      if (waited)
        unref(q);
      if (r == LG_INTERRUPTED)
        return lg_breaker_raise_interrupt(L);
      if (shut)
        return lg_error_raise(L, SHUTDOWN, "queue is shut down");
      return lg_error_raise(L, EMPTY, "queue is empty");
    }
  }
  takeitem(q, &it->m);
  wake(&q->putters, 1);
  lg_check(pthread_mutex_unlock(&q->mutex));
  if (waited)
    unref(q);
  loaditem(L, it);
  return 1;
}


/* q:get_nowait() -> item */
static int iq_get_nowait (lua_State *L) {
  lua_settop(L, 1);
  lua_pushboolean(L, 0);
  return iq_get(L);
}

/* }====================================================== */


/*
** {======================================================
** The other methods
** =======================================================
*/

/* q:qsize() -> integer */
static int iq_qsize (lua_State *L) {
  IQueue *q = checkqueue(L);
  size_t n;
  lg_check(pthread_mutex_lock(&q->mutex));
  n = q->count;
  lg_check(pthread_mutex_unlock(&q->mutex));
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}


/* q:empty() -> boolean */
static int iq_empty (lua_State *L) {
  iq_qsize(L);
  lua_pushboolean(L, lua_tointeger(L, -1) == 0);
  return 1;
}


/* q:full() -> boolean */
static int iq_full (lua_State *L) {
  IQueue *q = checkqueue(L);
  int full;
  lg_check(pthread_mutex_lock(&q->mutex));
  full = isfull(q);
  lg_check(pthread_mutex_unlock(&q->mutex));
  lua_pushboolean(L, full);
  return 1;
}


/* q:task_done() */
static int iq_task_done (lua_State *L) {
  IQueue *q = checkqueue(L);
  lg_check(pthread_mutex_lock(&q->mutex));
  if (q->unfinished <= 0) {
    lg_check(pthread_mutex_unlock(&q->mutex));
    return luaL_error(L, "task_done() called too many times");
  }
  if (--q->unfinished == 0)
    wake(&q->joiners, -1);
  lg_check(pthread_mutex_unlock(&q->mutex));
  return 0;
}


/* q:join(): wait until every item put has been task_done() */
static int iq_join (lua_State *L) {
  IQueue *q = checkqueue(L);
  int r = LG_WOKEN, left;
  ref(q);
  lg_check(pthread_mutex_lock(&q->mutex));
  while (q->unfinished > 0 && r == LG_WOKEN)
    r = waiton(q, &q->joiners, NULL);
  left = q->unfinished > 0;
  lg_check(pthread_mutex_unlock(&q->mutex));
  unref(q);
  if (r == LG_INTERRUPTED && left)
    return lg_breaker_raise_interrupt(L);
  return 0;
}


/*
** q:shutdown([immediate]): put fails from now on, get once it is empty;
** 'immediate' discards the items, which count as done. Their messages
** are dropped with the mutex unlocked: a reference they give back may
** free another queue.
*/
static int iq_shutdown (lua_State *L) {
  IQueue *q = checkqueue(L);
  int immediate = lua_toboolean(L, 2);
  lg_MpMsg *ring = NULL;
  size_t cap = 0, head = 0, n = 0;
  lg_check(pthread_mutex_lock(&q->mutex));
  q->shutdown = 1;
  if (immediate) {
    ring = q->ring;
    cap = q->cap;
    head = q->head;
    n = q->count;
    q->ring = NULL;
    q->cap = q->head = q->count = 0;
    q->unfinished = q->unfinished > (lua_Integer)n ?
                    q->unfinished - (lua_Integer)n : 0;
    if (q->unfinished == 0)
      wake(&q->joiners, -1);
  }
  wake(&q->getters, -1);
  wake(&q->putters, -1);
  lg_check(pthread_mutex_unlock(&q->mutex));
  if (ring != NULL)
    dropring(ring, cap, head, n);
  return 0;
}


/* q.maxsize, q.is_shutdown, q.unfinished_tasks, and the methods */
static int iq_index (lua_State *L) {
  Box *b = lg_sync_checkany(L, IQUEUETAG, sizeof(Box), IQUEUE);
  const char *k = lg_fieldname(L);
  IQueue *q = b->q;
  if (k == NULL)
    return 1;
  if (q == NULL)  /* its methods are found, and raise when called */
    return lg_sync_destroyed(L, IQUEUE);
  if (strcmp(k, "maxsize") == 0)
    lua_pushinteger(L, q->maxsize);
  else if (strcmp(k, "is_shutdown") == 0 ||
           strcmp(k, "unfinished_tasks") == 0) {
    int shut;
    lua_Integer n;
    lg_check(pthread_mutex_lock(&q->mutex));
    shut = q->shutdown;
    n = q->unfinished;
    lg_check(pthread_mutex_unlock(&q->mutex));
    if (k[0] == 'i')
      lua_pushboolean(L, shut);
    else
      lua_pushinteger(L, n);
  }
  return 1;
}


/*
** The finaliser, also by hand: this interpreter's reference goes (a
** thread of it that waits holds one of its own). The collector's call
** must drop it too, or the queue would outlive every interpreter; a
** finalised queue that a later finaliser reaches says it is destroyed.
*/
static int iq_gc (lua_State *L) {
  Box *b = lg_sync_checkany(L, IQUEUETAG, sizeof(Box), IQUEUE);
  IQueue *q = b->q;
  if (q != NULL) {
    b->q = NULL;
    b->tag = LG_SYNC_DEAD(IQUEUETAG);
    unref(q);
  }
  return 0;
}


static int iq_eq (lua_State *L) {
  Box *a = luaL_testudata(L, 1, IQUEUE), *b = luaL_testudata(L, 2, IQUEUE);
  lua_pushboolean(L, a != NULL && b != NULL && a->q != NULL && a->q == b->q);
  return 1;
}


static int iq_tostring (lua_State *L) {
  Box *b = lg_sync_checkany(L, IQUEUETAG, sizeof(Box), IQUEUE);
  IQueue *q = b->q;
  size_t n;
  int shut;
  if (q == NULL) {
    lua_pushfstring(L, "<destroyed %s at %p>", IQUEUE, (void *)b);
    return 1;
  }
  lg_check(pthread_mutex_lock(&q->mutex));
  n = q->count;
  shut = q->shutdown;
  lg_check(pthread_mutex_unlock(&q->mutex));
  if (q->maxsize > 0)
    lua_pushfstring(L, "<%s at %p: %I/%I items%s>", IQUEUE, (void *)q,
                    (lua_Integer)n, q->maxsize, shut ? ", shut down" : "");
  else
    lua_pushfstring(L, "<%s at %p: %I items%s>", IQUEUE, (void *)q,
                    (lua_Integer)n, shut ? ", shut down" : "");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Crossing interpreters, and the constructor
** =======================================================
*/

/* A message takes a reference; a destroyed userdata is refused. */
static void *iq_share (lua_State *L, int idx) {
  Box *b = lua_touserdata(L, idx);
  if (b == NULL || b->q == NULL)
    return NULL;
  ref(b->q);
  return b->q;
}


/* In the decoding interpreter: its userdata on 'p', which may be new. */
static void iq_unshare (lua_State *L, void *p) {
  pushqueue(L, p);
}


static void iq_drop (void *p) {
  unref(p);
}


static const lg_MpShareType sharetype = {IQUEUE, iq_share, iq_unshare,
                                         iq_drop};


/* create_queue([maxsize]) -> Queue (maxsize <= 0: unbounded) */
static int iq_create (lua_State *L) {
  lua_Integer maxsize = luaL_optinteger(L, 1, 0);
  IQueue *q;
  Box *b;
  lua_settop(L, 0);
  pushcache(L);  /* 1 */
  b = newbox(L);  /* 2: owns the queue from when it has one */
  if ((q = malloc(sizeof *q)) == NULL)
    return luaL_error(L, "not enough memory");
  memset(q, 0, sizeof *q);
  atomic_init(&q->refs, 1);
  q->maxsize = maxsize;
  lg_mutex_init(&q->mutex);
  b->q = q;
  lua_pushvalue(L, 2);
  lua_rawsetp(L, 1, q);
  return 1;
}


static const luaL_Reg iq_methods[] = {
  {"put", iq_put},
  {"put_nowait", iq_put_nowait},
  {"get", iq_get},
  {"get_nowait", iq_get_nowait},
  {"qsize", iq_qsize},
  {"empty", iq_empty},
  {"full", iq_full},
  {"task_done", iq_task_done},
  {"join", iq_join},
  {"shutdown", iq_shutdown},
  {NULL, NULL}
};

static const luaL_Reg iq_meta[] = {
  {"__gc", iq_gc},
  {"__eq", iq_eq},
  {"__tostring", iq_tostring},
  {NULL, NULL}
};


/* Push the type's metatable, made in this interpreter on first use (a
** queue may arrive in one that never opened the module). */
static void pushmeta (lua_State *L) {
  if (luaL_getmetatable(L, IQUEUE) != LUA_TTABLE) {
    lua_pop(L, 1);
    lg_createmeta(L, IQUEUE, iq_methods, iq_meta, iq_index);
    luaL_getmetatable(L, IQUEUE);
  }
}


void lg_open_interpqueue (lua_State *L) {
  if (lg_mp_share_type(&sharetype) < 0)
    luaL_error(L, "too many shareable types");
  pushmeta(L);
  lua_pop(L, 1);
  lua_pushcfunction(L, iq_create);
  lua_setfield(L, -2, "create_queue");
}

/* }====================================================== */
