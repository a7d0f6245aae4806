/*
** stdlib/queue.c -- the 'queue' module: Queue, LifoQueue, PriorityQueue,
** SimpleQueue, and the error kinds Empty, Full and ShutDown.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** State. As for locks (stdlib/lock.c), a queue's counters and its items
** are guarded by the GIL: put and get on a queue that has room (or an
** item) are a few table stores and no system call. The items live in a
** Lua table (the userdata's uservalue): a ring of 'cap' slots for FIFO,
** a stack for LIFO, a binary heap of (key, seq, item) triples for the
** priority queue. The ring doubles when it is full; a bounded queue's ring
** stops growing at maxsize, so a steady producer and consumer never
** allocate.
**
** Waiting. A thread that must wait (get on an empty queue, put on a full
** one, join with tasks left) counts itself in 'ngetters', 'nputters' or
** 'njoiners' and parks on the matching wait queue, GIL released. The count
** means "queued and not yet woken": a waker subtracts the threads it woke,
** a waiter that gave up (timeout, Ctrl-C) subtracts itself. So a put takes
** the mutex only when a getter is really parked, once per sleep, not on
** every put while the woken getter waits for the GIL. No wake-up is lost:
** a waiter counts and queues before it lets the GIL go, and a waker needs
** the GIL. A woken thread looks at the queue again when it has the GIL
** back, and waits again if another thread got there first.
**
** Handing off. With the GIL's switch interval a producer fills a bounded
** queue before the consumer it woke gets the GIL; when it blocks on a full
** queue the GIL goes straight to the consumer, which drains the queue
** in its turn: a thread switch per maxsize items, not per item.
**
** Destruction. __gc called by hand, also while threads wait, marks the
** queue destroyed (its tag, see lg_sync_checkself) and wakes every
** waiter; each then raises "attempt to use a destroyed Queue". The mutex
** goes with the last thread out of a wait ('inwait'). The collector's
** call changes nothing (see stdlib/lock.c): concurrent.futures' exit hook
** puts into the queue of a pool that was already finalised.
*/

#include <limits.h>
#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "park.h"
#include "waitq.h"

#define QUEUE   "queue.Queue"
#define LIFO    "queue.LifoQueue"
#define PRIO    "queue.PriorityQueue"
#define SIMPLE  "queue.SimpleQueue"

#define EMPTY     "queue.Empty"
#define FULL      "queue.Full"
#define SHUTDOWN  "queue.ShutDown"

/* Kinds of queue. */
#define K_FIFO    0
#define K_LIFO    1
#define K_PRIO    2
#define K_SIMPLE  3

#define MINCAP  16

/* Type tag of all four: see lg_sync_checkself. */
static const char QUEUETAG[2];

static const char *const tnames[] = {QUEUE, LIFO, PRIO, SIMPLE};
static const char *const kindnames[] = {"Queue", "LifoQueue",
                                        "PriorityQueue", "SimpleQueue"};

/* What a wait is called in the dumps, by kind and what it waits for. */
#define W_GET   0
#define W_PUT   1
#define W_JOIN  2
static const char *const waitnames[][3] = {
  {"Queue.get", "Queue.put", "Queue.join"},
  {"LifoQueue.get", "LifoQueue.put", "LifoQueue.join"},
  {"PriorityQueue.get", "PriorityQueue.put", "PriorityQueue.join"},
  {"SimpleQueue.get", "SimpleQueue.put", "SimpleQueue.join"},
};


typedef struct Queue {
  const void *tag;          /* GIL: QUEUETAG, then LG_SYNC_DEAD(QUEUETAG) */
  int kind;                 /* read-only: K_FIFO .. K_SIMPLE */
  lua_Integer maxsize;      /* read-only: <= 0 for unbounded */
  lua_Integer head;         /* GIL: FIFO ring, slot of the oldest item */
  lua_Integer count;        /* GIL: items in the queue */
  lua_Integer cap;          /* GIL: FIFO ring size */
  lua_Integer seq;          /* GIL: priority queue, insertions so far */
  lua_Integer unfinished;   /* GIL: items put and not yet task_done() */
  int shutdown;             /* GIL */
  int ngetters, nputters, njoiners;  /* GIL: parked and not yet woken */
  int inwait;               /* GIL: threads in a wait, may lock 'mutex' */
  lg_Site site;             /* read-only: where it was made */
  pthread_mutex_t mutex;
  lg_WaitQueue getters, putters, joiners;  /* mutex */
} Queue;


/*
** {======================================================
** Arguments and waiting
** =======================================================
*/

#define isdead(q)  ((q)->tag != QUEUETAG)


static Queue *checkqueue (lua_State *L) {
  return lg_sync_checkself(L, QUEUETAG, sizeof(Queue), QUEUE);
}


/*
** Park on 'wq' until woken, 'deadline' (NULL: none) or Ctrl-C; '*n' is
** its count of parked threads (see the notes above). Raises if the queue
** is destroyed meanwhile.
*/
static int waiton (lua_State *L, Queue *q, lg_WaitQueue *wq, int *n,
                   const struct timespec *deadline, int what) {
  int r;
  lg_wait_begin(L, waitnames[q->kind][what], q, &q->site, NULL, NULL);
  (*n)++;
  q->inwait++;
  lg_check(pthread_mutex_lock(&q->mutex));
  r = lg_waitq_wait(wq, &q->mutex, deadline);
  lg_check(pthread_mutex_unlock(&q->mutex));
  lg_wait_end();
  if (r != LG_WOKEN)  /* it left the queue itself */
    (*n)--;
  if (--q->inwait == 0 && isdead(q))  /* the last one out */
    pthread_mutex_destroy(&q->mutex);
  if (isdead(q))
    lg_sync_destroyed(L, tnames[q->kind]);
  return r;
}


/* Wake up to 'k' threads parked on 'wq' (k < 0: all). */
static void wake (Queue *q, lg_WaitQueue *wq, int *n, int k) {
  if (*n > 0)
    *n -= lg_waitq_wake(wq, &q->mutex, k);
}

/* }====================================================== */


/*
** {======================================================
** Storage (GIL held; the items table at stack index 'T')
** =======================================================
*/

/* The FIFO ring is full: copy it, oldest first, into a table twice as
** big (at most maxsize slots), which replaces it at 'T'. */
static void grow (lua_State *L, Queue *q, int T) {
  lua_Integer ncap = q->cap * 2;
  if (q->maxsize > 0 && ncap > q->maxsize)
    ncap = q->maxsize;
  lua_createtable(L, ncap > INT_MAX ? INT_MAX : (int)ncap, 0);
  for (lua_Integer i = 0; i < q->count; i++) {
    lua_rawgeti(L, T, (q->head + i) % q->cap + 1);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 1);
  lua_replace(L, T);
  q->head = 0;
  q->cap = ncap;
}


/* The priority of the item at 'item': a number, a string, or t[1]. */
static void pushkey (lua_State *L, int item) {
  int t = lua_type(L, item);
  if (t == LUA_TTABLE)
    t = lua_geti(L, item, 1);
  else
    lua_pushvalue(L, item);
  if (t != LUA_TNUMBER && t != LUA_TSTRING)
    luaL_argerror(L, 2, "a number, a string or a table with a number or "
                        "string priority at [1] expected");
}


/* Heap entry 'i' (0-based) sorts before entry 'j'? Keys, then seqs. */
static int before (lua_State *L, int T, lua_Integer i, lua_Integer j) {
  int r;
  lua_rawgeti(L, T, 3 * i + 1);
  lua_rawgeti(L, T, 3 * j + 1);
  if (lua_compare(L, -2, -1, LUA_OPLT))
    r = 1;
  else if (lua_compare(L, -1, -2, LUA_OPLT))
    r = 0;
  else {
    lua_rawgeti(L, T, 3 * i + 2);
    lua_rawgeti(L, T, 3 * j + 2);
    r = lua_tointeger(L, -2) < lua_tointeger(L, -1);
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
  return r;
}


static void swap (lua_State *L, int T, lua_Integer i, lua_Integer j) {
  for (int k = 1; k <= 3; k++) {
    lua_rawgeti(L, T, 3 * i + k);
    lua_rawgeti(L, T, 3 * j + k);
    lua_rawseti(L, T, 3 * i + k);
    lua_rawseti(L, T, 3 * j + k);
  }
}


/*
** Add the item at 'item'. Cannot fail for FIFO and LIFO; the priority
** queue checks the key first (keys of two types cannot be compared, and
** an error halfway through the sift would break the heap).
*/
static void additem (lua_State *L, Queue *q, int T, int item) {
  switch (q->kind) {
    case K_LIFO:
      lua_pushvalue(L, item);
      lua_rawseti(L, T, q->count + 1);
      break;
    case K_PRIO: {
      lua_Integer i = q->count;
      pushkey(L, item);  /* stack: key */
      if (q->count > 0) {
        lua_rawgeti(L, T, 1);
        if (lua_type(L, -1) != lua_type(L, -2))
          luaL_argerror(L, 2, "priorities must be all numbers or all "
                              "strings");
        lua_pop(L, 1);
      }
      lua_rawseti(L, T, 3 * i + 1);
      lua_pushinteger(L, q->seq++);
      lua_rawseti(L, T, 3 * i + 2);
      lua_pushvalue(L, item);
      lua_rawseti(L, T, 3 * i + 3);
      while (i > 0 && before(L, T, i, (i - 1) / 2)) {  /* sift up */
        swap(L, T, i, (i - 1) / 2);
        i = (i - 1) / 2;
      }
      break;
    }
    default:  /* FIFO and SimpleQueue */
      if (q->count == q->cap)
        grow(L, q, T);
      lua_pushvalue(L, item);
      lua_rawseti(L, T, (q->head + q->count) % q->cap + 1);
      break;
  }
  q->count++;
}


/* Remove the next item and push it. The queue is not empty. */
static void takeitem (lua_State *L, Queue *q, int T) {
  q->count--;
  switch (q->kind) {
    case K_LIFO:
      lua_rawgeti(L, T, q->count + 1);
      lua_pushnil(L);
      lua_rawseti(L, T, q->count + 1);
      break;
    case K_PRIO: {
      lua_Integer i = 0, n = q->count;
      lua_rawgeti(L, T, 3);  /* the result */
      swap(L, T, 0, n);  /* the last entry goes to the root... */
      for (int k = 1; k <= 3; k++) {
        lua_pushnil(L);
        lua_rawseti(L, T, 3 * n + k);
      }
      for (;;) {  /* ...and sinks */
        lua_Integer c = 2 * i + 1;
        if (c >= n)
          break;
        if (c + 1 < n && before(L, T, c + 1, c))
          c++;
        if (!before(L, T, c, i))
          break;
        swap(L, T, i, c);
        i = c;
      }
      break;
    }
    default: {
      lua_Integer slot = q->head + 1;
      lua_rawgeti(L, T, slot);
      lua_pushnil(L);  /* let the collector have it */
      lua_rawseti(L, T, slot);
      q->head = slot == q->cap ? 0 : slot;
      break;
    }
  }
}


/* Discard every item (shutdown(true)); returns how many. */
static lua_Integer clear (lua_State *L, Queue *q) {
  lua_Integer n = q->count;
  lua_Integer cap = q->kind == K_FIFO ? q->cap : MINCAP;
  lua_createtable(L, (int)cap, 0);
  lua_setiuservalue(L, 1, 1);
  q->head = q->count = 0;
  q->cap = cap;
  return n;
}

/* }====================================================== */


/*
** {======================================================
** Queue methods
** =======================================================
*/

static int newqueue (lua_State *L, int kind) {
  lua_Integer maxsize = kind == K_SIMPLE ? 0 : luaL_optinteger(L, 1, 0);
  lua_Integer cap = maxsize > 0 && maxsize < MINCAP ? maxsize : MINCAP;
  Queue *q = lua_newuserdatauv(L, sizeof *q, 1);
  memset(q, 0, sizeof *q);
  q->tag = QUEUETAG;
  q->kind = kind;
  q->maxsize = maxsize;
  q->cap = cap;
  lg_mutex_init(&q->mutex);
  lg_site_set(L, &q->site, kindnames[kind]);
  luaL_setmetatable(L, tnames[kind]);
  lua_createtable(L, kind == K_PRIO ? 3 * MINCAP : (int)cap, 0);
  lua_setiuservalue(L, -2, 1);
  return 1;
}


/* Queue([maxsize]) -> Queue (maxsize <= 0: unbounded) */
static int queue_new (lua_State *L) {
  return newqueue(L, K_FIFO);
}


/* LifoQueue([maxsize]) -> LifoQueue */
static int queue_newlifo (lua_State *L) {
  return newqueue(L, K_LIFO);
}


/* PriorityQueue([maxsize]) -> PriorityQueue: lowest priority first */
static int queue_newprio (lua_State *L) {
  return newqueue(L, K_PRIO);
}


/* SimpleQueue() -> SimpleQueue: unbounded, no task accounting */
static int queue_newsimple (lua_State *L) {
  return newqueue(L, K_SIMPLE);
}


#define isfull(q)  ((q)->maxsize > 0 && (q)->count >= (q)->maxsize)


/* The end of a successful put: the item at 2 goes in, a getter wakes. */
static int finishput (lua_State *L, Queue *q) {
  lua_getiuservalue(L, 1, 1);
  additem(L, q, lua_gettop(L), 2);
  if (q->kind != K_SIMPLE)
    q->unfinished++;
  wake(q, &q->getters, &q->ngetters, 1);
  return 0;
}


/* q:put(item [, block [, timeout]]) */
static int queue_put (lua_State *L) {
  Queue *q = checkqueue(L);
  luaL_argcheck(L, !lua_isnoneornil(L, 2), 2, "queue items cannot be nil");
  if (lua_gettop(L) == 2 && !q->shutdown && !isfull(q))  /* never waits */
    return finishput(L, q);
  if (q->kind == K_SIMPLE) {  /* never full: block and timeout ignored */
    lua_settop(L, 2);
    return finishput(L, q);
  }
  double timeout = lg_waitargs(L, 3);
  lua_settop(L, 2);
  if (q->shutdown)
    return lg_error_raise(L, SHUTDOWN, "queue is shut down");
  if (isfull(q)) {
    struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
    int r = timeout == 0 ? LG_TIMEDOUT : LG_WOKEN;
    while (r == LG_WOKEN && isfull(q) && !q->shutdown)
      r = waiton(L, q, &q->putters, &q->nputters, deadline, W_PUT);
    if (r == LG_INTERRUPTED)  /* it was not woken: no wake-up is lost */
      return lg_breaker_raise_interrupt(L);
    if (q->shutdown)
      return lg_error_raise(L, SHUTDOWN, "queue is shut down");
    if (isfull(q))
      return lg_error_raise(L, FULL, "queue is full");
  }
  return finishput(L, q);
}


/* q:put_nowait(item) */
static int queue_put_nowait (lua_State *L) {
  lua_settop(L, 2);
  lua_pushboolean(L, 0);
  return queue_put(L);
}


/* The end of a successful get: push the next item, wake a putter. */
static int finishget (lua_State *L, Queue *q) {
  lua_getiuservalue(L, 1, 1);
  takeitem(L, q, lua_gettop(L));
  wake(q, &q->putters, &q->nputters, 1);
  return 1;
}


/* q:get([block [, timeout]]) -> item */
static int queue_get (lua_State *L) {
  Queue *q = checkqueue(L);
  if (q->count > 0 && lua_gettop(L) == 1)  /* never waits */
    return finishget(L, q);
  double timeout = lg_waitargs(L, 2);
  lua_settop(L, 1);
  if (q->count == 0) {
    struct timespec dl, *deadline = lg_vdeadline(timeout, &dl);
    int r = timeout == 0 ? LG_TIMEDOUT : LG_WOKEN;
    while (r == LG_WOKEN && q->count == 0 && !q->shutdown)
      r = waiton(L, q, &q->getters, &q->ngetters, deadline, W_GET);
    if (r == LG_INTERRUPTED && q->count == 0)
      return lg_breaker_raise_interrupt(L);
    if (q->count == 0) {
      if (q->shutdown)
        return lg_error_raise(L, SHUTDOWN, "queue is shut down");
      return lg_error_raise(L, EMPTY, "queue is empty");
    }
  }
  return finishget(L, q);
}


/* q:get_nowait() -> item */
static int queue_get_nowait (lua_State *L) {
  lua_settop(L, 1);
  lua_pushboolean(L, 0);
  return queue_get(L);
}


/* q:qsize() -> integer */
static int queue_qsize (lua_State *L) {
  lua_pushinteger(L, checkqueue(L)->count);
  return 1;
}


/* q:empty() -> boolean */
static int queue_empty (lua_State *L) {
  lua_pushboolean(L, checkqueue(L)->count == 0);
  return 1;
}


/* q:full() -> boolean */
static int queue_full (lua_State *L) {
  Queue *q = checkqueue(L);
  lua_pushboolean(L, isfull(q));
  return 1;
}


/* q:task_done() */
static int queue_task_done (lua_State *L) {
  Queue *q = checkqueue(L);
  if (q->unfinished <= 0)
    return luaL_error(L, "task_done() called too many times");
  if (--q->unfinished == 0)
    wake(q, &q->joiners, &q->njoiners, -1);
  return 0;
}


/* q:join(): wait until every item put has been task_done() */
static int queue_join (lua_State *L) {
  Queue *q = checkqueue(L);
  int r = LG_WOKEN;
  while (q->unfinished > 0 && r == LG_WOKEN)
    r = waiton(L, q, &q->joiners, &q->njoiners, NULL, W_JOIN);
  if (r == LG_INTERRUPTED && q->unfinished > 0)
    return lg_breaker_raise_interrupt(L);
  return 0;
}


/* q:shutdown([immediate]): put fails from now on, get once it is empty */
static int queue_shutdown (lua_State *L) {
  Queue *q = checkqueue(L);
  int immediate = lua_toboolean(L, 2);
  q->shutdown = 1;
  if (immediate) {
    lua_Integer n = clear(L, q);
    q->unfinished = q->unfinished > n ? q->unfinished - n : 0;
    if (q->unfinished == 0)
      wake(q, &q->joiners, &q->njoiners, -1);
  }
  wake(q, &q->getters, &q->ngetters, -1);
  wake(q, &q->putters, &q->nputters, -1);
  return 0;
}


/*
** q.maxsize, q.is_shutdown, and the methods. A function __index costs a
** C call per method lookup (a few percent on scripts/bench/queue.lua);
** Python's attributes are fields (DESIGN.md), so it pays.
*/
static int queue_index (lua_State *L) {
  Queue *q = lg_sync_checkany(L, QUEUETAG, sizeof(Queue), QUEUE);
  const char *k = lg_fieldname(L);
  if (k == NULL)
    return 1;
  if (isdead(q))  /* its methods are found, and raise when called */
    return lg_sync_destroyed(L, tnames[q->kind]);
  if (strcmp(k, "maxsize") == 0 && q->kind != K_SIMPLE)
    lua_pushinteger(L, q->maxsize);
  else if (strcmp(k, "is_shutdown") == 0 && q->kind != K_SIMPLE)
    lua_pushboolean(L, q->shutdown);
  else if (strcmp(k, "unfinished_tasks") == 0 && q->kind != K_SIMPLE)
    lua_pushinteger(L, q->unfinished);
  return 1;
}


/* The finaliser (see "Destruction" above): idempotent. */
static int queue_gc (lua_State *L) {
  Queue *q = lg_sync_checkany(L, QUEUETAG, sizeof(Queue), QUEUE);
  if (isdead(q) || lg_finalising(L))
    return 0;
  q->tag = LG_SYNC_DEAD(QUEUETAG);
  if (q->inwait > 0) {
    wake(q, &q->getters, &q->ngetters, -1);
    wake(q, &q->putters, &q->nputters, -1);
    wake(q, &q->joiners, &q->njoiners, -1);
  }
  else
    pthread_mutex_destroy(&q->mutex);
  return 0;
}


static int queue_tostring (lua_State *L) {
  Queue *q = lg_sync_checkany(L, QUEUETAG, sizeof(Queue), QUEUE);
  if (isdead(q))
    lua_pushfstring(L, "<destroyed %s at %p>", tnames[q->kind], (void *)q);
  else if (q->maxsize > 0)
    lua_pushfstring(L, "<%s at %p: %I/%I items%s>", tnames[q->kind],
                    (void *)q, q->count, q->maxsize,
                    q->shutdown ? ", shut down" : "");
  else
    lua_pushfstring(L, "<%s at %p: %I items%s>", tnames[q->kind], (void *)q,
                    q->count, q->shutdown ? ", shut down" : "");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Registration
** =======================================================
*/

static const luaL_Reg queue_funcs[] = {
  {"Queue", queue_new},
  {"LifoQueue", queue_newlifo},
  {"PriorityQueue", queue_newprio},
  {"SimpleQueue", queue_newsimple},
  {NULL, NULL}
};

static const luaL_Reg queue_methods[] = {
  {"put", queue_put},
  {"put_nowait", queue_put_nowait},
  {"get", queue_get},
  {"get_nowait", queue_get_nowait},
  {"qsize", queue_qsize},
  {"empty", queue_empty},
  {"full", queue_full},
  {"task_done", queue_task_done},
  {"join", queue_join},
  {"shutdown", queue_shutdown},
  {NULL, NULL}
};

static const luaL_Reg simple_methods[] = {
  {"put", queue_put},
  {"put_nowait", queue_put_nowait},
  {"get", queue_get},
  {"get_nowait", queue_get_nowait},
  {"qsize", queue_qsize},
  {"empty", queue_empty},
  {NULL, NULL}
};

static const luaL_Reg queue_meta[] = {
  {"__gc", queue_gc},
  {"__tostring", queue_tostring},
  {NULL, NULL}
};


int luaopen_queue (lua_State *L) {
  for (int k = K_FIFO; k <= K_SIMPLE; k++)
    lg_createmeta(L, tnames[k], k == K_SIMPLE ? simple_methods : queue_methods,
                  queue_meta, queue_index);
  luaL_newlib(L, queue_funcs);
  lg_error_pushkind(L, EMPTY, NULL);
  lua_setfield(L, -2, "Empty");
  lg_error_pushkind(L, FULL, NULL);
  lua_setfield(L, -2, "Full");
  lg_error_pushkind(L, SHUTDOWN, NULL);
  lua_setfield(L, -2, "ShutDown");
  return 1;
}

/* }====================================================== */
