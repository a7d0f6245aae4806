/*
** stdlib/multiprocessing/mp_queue.c -- multiprocessing.Queue: a queue
** between processes, over a socket pair, with a feeder thread per process
** that puts.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Shared state (one shared mapping, seen by every process forked after the
** queue was made): 'rlock' makes a reader's message whole, 'wlock' a
** writer's (two processes' feeders write to the same socket); 'slots', a
** process-shared semaphore of maxsize, makes put block when the queue is
** full; 'count' is the number of items put and not yet got (qsize).
**
** put serializes the item at once (so an unsupported value fails in the
** caller, and later changes to a table do not travel), takes a slot, and
** hands the bytes to this process's feeder: a plain pthread, outside the
** GIL, that writes buffered messages to the socket. So put never blocks on
** a full socket buffer, only on maxsize, as in Python. A feeder belongs to
** the process that started it: a forked child starts its own, and never
** touches its parent's (a copy of which it inherited, with no thread).
**
** get waits until the socket is readable (GIL released; Ctrl-C in the main
** thread), then takes 'rlock' and reads one message if the socket is still
** readable, else lets go and waits again: a reader holds 'rlock' only
** while a message is arriving, never while the queue is empty.
**
** At exit (multiprocessing's atexit, and a Process child's _exit) every
** feeder of this process first writes what it holds, as Python's
** Queue.join_thread does; cancel_join_thread opts a queue out.
**
** A __gc called by hand while other threads wait in get, put or
** join_thread (GIL released, on the queue's descriptors and mapping) only
** marks the queue dead: the last of them to come back destroys it, and
** each raises "attempt to use a destroyed multiprocessing.Queue".
*/

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "fork.h"
#include "lglib.h"
#include "mp.h"
#include "park.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"

#define QUEUE  "multiprocessing.Queue"
#define EMPTY  "queue.Empty"
#define FULL   "queue.Full"


typedef struct QShared {
  pthread_mutex_t rlock, wlock;  /* robust, process-shared */
  sem_t slots;                   /* if maxsize > 0 */
  atomic_long count;
} QShared;

typedef struct Msg {
  struct Msg *next;
  size_t len;                    /* bytes after this header, length first */
  char data[];
} Msg;

/* This process's writer of one queue; freed by whichever of the Queue
** (its __gc) and the thread lets go last. */
typedef struct Feeder {
  pthread_mutex_t mu;
  pthread_cond_t more;           /* a message or 'closing' arrived */
  pthread_cond_t drained;        /* the buffer became empty */
  Msg *head, *tail;              /* mu */
  int busy;                      /* mu: the thread is writing a message */
  int running;                   /* mu: the thread exists */
  int closing;                   /* mu: write what is left, then end */
  int cancel;                    /* mu: not flushed at exit */
  int refs;                      /* mu: the Queue and the thread */
  int fd;                        /* its own copy of the write end */
  QShared *sh;                   /* unmapped by the last of the two */
  pid_t pid;                     /* read-only: the process it belongs to */
  struct Feeder *next, *prev;    /* feeders_mu */
} Feeder;

typedef struct Queue {
  QShared *sh;                   /* NULL once collected */
  int rfd, wfd;
  long maxsize;                  /* <= 0: unbounded */
  int closed;                    /* close() was called in this process */
  int users;                     /* GIL: threads in a wait on it */
  int dead;                      /* GIL: __gc ran while 'users' > 0 */
  Feeder *f;                     /* valid only if f->pid == getpid() */
} Queue;


/* Every feeder of this process. */
static pthread_mutex_t feeders_mu = PTHREAD_MUTEX_INITIALIZER;
static Feeder *feeders;


/*
** {======================================================
** Feeders
** =======================================================
*/

/* A forked child has no feeder thread: the list is the parent's. */
static void forkhandler (int phase) {
  lg_mutex_atfork(&feeders_mu, phase);
  if (phase == LG_FORK_CHILD)
    feeders = NULL;
}


/* Drop a reference ('f->mu' held); frees 'f' at the last one. */
static void release (Feeder *f) {
  int last = --f->refs == 0;
  pthread_mutex_unlock(&f->mu);
  if (last) {
    lg_check(pthread_mutex_lock(&feeders_mu));
    if (f->prev) f->prev->next = f->next; else feeders = f->next;
    if (f->next) f->next->prev = f->prev;
    lg_check(pthread_mutex_unlock(&feeders_mu));
    while (f->head) {
      Msg *m = f->head;
      f->head = m->next;
      free(m);
    }
    close(f->fd);
    munmap(f->sh, sizeof(QShared));
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->more);
    pthread_cond_destroy(&f->drained);
    free(f);
  }
}


/* Write all of 'buf' to the blocking socket 'fd'; false on failure. */
static int writeall (int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return 0;
    }
    buf += k;
    len -= (size_t)k;
  }
  return 1;
}


static void *feed (void *arg) {
  Feeder *f = arg;
  lg_check(pthread_mutex_lock(&f->mu));
  for (;;) {
    Msg *m;
    while (f->head == NULL && !f->closing)
      lg_check(pthread_cond_wait(&f->more, &f->mu));
    if ((m = f->head) == NULL)
      break;
    f->head = m->next;
    f->busy = 1;
    lg_check(pthread_mutex_unlock(&f->mu));
    {
      int r = pthread_mutex_lock(&f->sh->wlock);
      if (r == EOWNERDEAD)  /* a writer died: its message is lost anyway */
        pthread_mutex_consistent(&f->sh->wlock);
      writeall(f->fd, m->data, m->len);  /* a reader-less queue drops */
      pthread_mutex_unlock(&f->sh->wlock);
    }
    free(m);
    lg_check(pthread_mutex_lock(&f->mu));
    f->busy = 0;
    if (f->head == NULL)
      pthread_cond_broadcast(&f->drained);
  }
  f->running = 0;
  pthread_cond_broadcast(&f->drained);
  release(f);
  return NULL;
}


/* The feeder of 'q' in this process, or NULL (none yet, or a parent's). */
static Feeder *ownfeeder (Queue *q) {
  return q->f != NULL && q->f->pid == getpid() ? q->f : NULL;
}


/* The feeder of 'q' in this process, made on first use. */
static Feeder *getfeeder (lua_State *L, Queue *q) {
  Feeder *f = ownfeeder(q);
  if (f != NULL)
    return f;
  f = calloc(1, sizeof *f);
  if (f == NULL)
    luaL_error(L, "not enough memory");
  f->fd = dup(q->wfd);
  if (f->fd < 0) {
    free(f);
    luaL_error(L, "cannot start the queue's feeder: %s", strerror(errno));
  }
  lg_mutex_init(&f->mu);
  lg_check(pthread_cond_init(&f->more, NULL));
  lg_cond_init(&f->drained);  /* CLOCK_MONOTONIC: drain_locked times it */
  f->refs = 1;  /* the Queue */
  f->sh = q->sh;
  f->pid = getpid();
  lg_check(pthread_mutex_lock(&feeders_mu));
  f->next = feeders;
  if (feeders) feeders->prev = f;
  feeders = f;
  lg_check(pthread_mutex_unlock(&feeders_mu));
  q->f = f;
  return f;
}


/* Queue 'm' on 'f', starting its thread if needed ('f->mu' not held). */
static int enqueue (Feeder *f, Msg *m) {
  int err = 0;
  lg_check(pthread_mutex_lock(&f->mu));
  m->next = NULL;
  if (f->tail && f->head) f->tail->next = m; else f->head = m;
  f->tail = m;
  if (!f->running) {
    pthread_t t;
    sigset_t all;
    sigfillset(&all);
    err = lg_spawn(feed, f, 64 * 1024, &all, &t);
    if (err == 0) {
      f->running = 1;
      f->refs++;
    }
    else {  /* take it back out */
      f->head = f->tail = NULL;
    }
  }
  else
    pthread_cond_signal(&f->more);
  lg_check(pthread_mutex_unlock(&f->mu));
  return err;
}


#define DRAIN_LOOK_NS  50000000L  /* an interruptible drain looks at
                                      Ctrl-C this often */

/*
** Wait until 'f' has written everything ('f->mu' held), or, if 'intr',
** until a Ctrl-C is pending: a feeder whose pipe nobody reads never
** drains, and only the feeder thread signals 'drained'. True if drained.
*/
static int drain_locked (Feeder *f, int intr) {
  LG_ASSERT(lg_mutex_held(&f->mu));
  while ((f->head != NULL || f->busy) && f->running) {
    if (intr && lg_sigint_pending())
      return 0;
    lg_cond_wait_until(&f->drained, &f->mu,
                       intr ? lg_now_ns() + DRAIN_LOOK_NS : LONG_MAX);
  }
  return 1;
}


int lg_mp_flush_feeders (int intr) {
  pid_t me = getpid();
  int done = 1;
  LG_BEGIN_BLOCKING
  lg_check(pthread_mutex_lock(&feeders_mu));
  for (Feeder *f = feeders; f != NULL && done; f = f->next) {
    if (f->pid != me)
      continue;
    lg_check(pthread_mutex_lock(&f->mu));
    if (!f->cancel)
      done = drain_locked(f, intr);
    lg_check(pthread_mutex_unlock(&f->mu));
  }
  lg_check(pthread_mutex_unlock(&feeders_mu));
  LG_END_BLOCKING
  return done;
}

/* }====================================================== */


/*
** {======================================================
** Queue
** =======================================================
*/

static Queue *checkqueue (lua_State *L) {
  Queue *q = luaL_checkudata(L, 1, QUEUE);
  if (q->sh == NULL || q->dead)
    luaL_error(L, "attempt to use a destroyed %s", QUEUE);
  return q;
}


/* Let go of this process's resources of 'q' (its __gc, maybe deferred). */
static void destroy (Queue *q) {
  Feeder *f = ownfeeder(q);
  if (f != NULL) {  /* the feeder unmaps */
    lg_check(pthread_mutex_lock(&f->mu));
    f->closing = 1;
    pthread_cond_signal(&f->more);
    release(f);
  }
  else  /* other processes may still use the semaphore: no sem_destroy */
    munmap(q->sh, sizeof(QShared));
  q->sh = NULL;
  q->f = NULL;
  close(q->rfd);
  close(q->wfd);
  q->rfd = q->wfd = -1;
}


/*
** Back from a wait on 'q' (GIL held again): if its __gc ran meanwhile, let
** go of 'held' (or NULL), destroy 'q' if we are the last one back, and
** raise. 'q->users' was decremented already.
*/
static void back (lua_State *L, Queue *q, pthread_mutex_t *held) {
  if (q->dead) {
    if (held != NULL)
      pthread_mutex_unlock(held);
    if (q->users == 0)
      destroy(q);
    luaL_error(L, "attempt to use a destroyed %s", QUEUE);
  }
}


/* Queue([maxsize]) -> Queue */
static int mp_queue (lua_State *L) {
  lua_Integer maxsize = luaL_optinteger(L, 1, 0);  /* <= 0: unbounded */
  int sv[2];
  Queue *q = lua_newuserdatauv(L, sizeof *q, 0);
  memset(q, 0, sizeof *q);
  q->rfd = q->wfd = -1;
  luaL_setmetatable(L, QUEUE);
  luaL_argcheck(L, maxsize < SEM_VALUE_MAX, 1, "maxsize too large");
  q->maxsize = maxsize > 0 ? (long)maxsize : 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return luaL_error(L, "cannot create a queue: %s", strerror(errno));
  q->rfd = sv[0];
  q->wfd = sv[1];
  shutdown(sv[0], SHUT_WR);
  shutdown(sv[1], SHUT_RD);
  q->sh = mmap(NULL, sizeof(QShared), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (q->sh == MAP_FAILED) {
    q->sh = NULL;
    return luaL_error(L, "cannot allocate shared memory: %s",
                      strerror(errno));
  }
  lg_mp_mutex_init(&q->sh->rlock, 0);
  lg_mp_mutex_init(&q->sh->wlock, 0);
  if (sem_init(&q->sh->slots, 1, (unsigned)q->maxsize) < 0)
    return luaL_error(L, "cannot create a queue: %s", strerror(errno));
  atomic_init(&q->sh->count, 0);
  return 1;
}


/* Take a slot of a bounded queue: LG_WOKEN, LG_TIMEDOUT, LG_INTERRUPTED
** (Ctrl-C in the main thread, or a cancel, seen within SLOT_SLICE). */
#define SLOT_SLICE  0.05
static int takeslot (Queue *q, double timeout) {
  struct timespec ts, *deadline = lg_deadline(timeout, &ts);
  int intr = lg_tstate_is_main(), r = LG_WOKEN;
  if (sem_trywait(&q->sh->slots) == 0)
    return LG_WOKEN;
  if (timeout == 0)
    return LG_TIMEDOUT;
  LG_BEGIN_BLOCKING
  for (;;) {  /* in slices: a cancel may come between a look and a wait */
    struct timespec until;
    int k;
    lg_deadline_within(SLOT_SLICE, deadline, &until);
    k = sem_clockwait(&q->sh->slots, CLOCK_MONOTONIC, &until);
    if (k == 0)
      break;
    if (errno == ETIMEDOUT && deadline != NULL &&
        until.tv_sec == deadline->tv_sec &&
        until.tv_nsec == deadline->tv_nsec) {
      r = LG_TIMEDOUT;
      break;
    }
    if ((intr && lg_sigint_pending()) ||  /* EINTR from Ctrl-C */
        lg_waiter_interrupted(lg_waiter_self())) {  /* or a cancel */
      r = LG_INTERRUPTED;
      break;
    }
  }
  LG_END_BLOCKING
  return r;
}


/* q:put(item [, block [, timeout]]) */
static int queue_put (lua_State *L) {
  Queue *q = checkqueue(L);
  double timeout;
  lg_MpMsg m;
  Msg *msg;
  Feeder *f;
  luaL_checkany(L, 2);
  timeout = lg_waitargs(L, 3);
  if (q->closed)
    return luaL_error(L, "queue is closed");
  f = getfeeder(L, q);
  m = lg_mp_dumpx(L, 2, 0, "item", LG_MP_TOPROCESS);
  msg = malloc(sizeof *msg + sizeof m.len + m.len);
  if (msg == NULL) {
    free(m.data);
    return luaL_error(L, "not enough memory");
  }
  msg->len = sizeof m.len + m.len;
  memcpy(msg->data, &m.len, sizeof m.len);
  memcpy(msg->data + sizeof m.len, m.data, m.len);
  free(m.data);
  if (q->maxsize > 0) {
    int r;
    q->users++;
    r = takeslot(q, timeout);
    q->users--;
    if (r != LG_WOKEN || q->dead) {
      free(msg);
      if (r == LG_WOKEN)  /* dead: give the slot back */
        sem_post(&q->sh->slots);
      back(L, q, NULL);
      if (r == LG_INTERRUPTED)
        return lg_breaker_raise_interrupt(L);
      return lg_error_raise(L, FULL, "queue is full");
    }
  }
  atomic_fetch_add(&q->sh->count, 1);
  if (enqueue(f, msg) != 0) {
    free(msg);
    atomic_fetch_sub(&q->sh->count, 1);
    if (q->maxsize > 0)
      sem_post(&q->sh->slots);
    return luaL_error(L, "cannot start the queue's feeder thread");
  }
  return 0;
}


/* q:put_nowait(item) */
static int queue_put_nowait (lua_State *L) {
  lua_settop(L, 2);
  lua_pushboolean(L, 0);
  return queue_put(L);
}


/* Is 'fd' readable now? (no wait, GIL kept) */
static int readable (int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}


/* q:get([block [, timeout]]) -> item */
static int queue_get (lua_State *L) {
  Queue *q = checkqueue(L);
  double timeout = lg_waitargs(L, 2);
  struct timespec ts, *deadline = lg_deadline(timeout, &ts);  /* 0: now */
  size_t len;
  char *buf;
  int r;
  for (;;) {
    q->users++;
    r = lg_mp_waitfd(q->rfd, POLLIN, deadline);
    q->users--;
    back(L, q, NULL);
    if (r == LG_WOKEN) {
      q->users++;
      r = lg_mp_mutex_lock(&q->sh->rlock, deadline);
      q->users--;
      back(L, q, r == LG_WOKEN ? &q->sh->rlock : NULL);
    }
    if (r == LG_INTERRUPTED)
      return lg_breaker_raise_interrupt(L);
    if (r == LG_TIMEDOUT)
      return lg_error_raise(L, EMPTY, "queue is empty");
    if (readable(q->rfd))
      break;
    pthread_mutex_unlock(&q->sh->rlock);  /* another reader took it */
  }
  q->users++;
  r = lg_mp_recvall(q->rfd, (char *)&len, sizeof len, 0, NULL);
  buf = r == 0 ? malloc(len ? len : 1) : NULL;
  if (buf != NULL)
    r = lg_mp_recvall(q->rfd, buf, len, 0, NULL);
  pthread_mutex_unlock(&q->sh->rlock);
  q->users--;
  if (q->dead) {  /* the item is lost with the queue */
    free(buf);
    back(L, q, NULL);
  }
  if (buf == NULL || r != 0) {
    free(buf);
    return luaL_error(L, "cannot read from the queue: %s",
                      r == 0 ? "not enough memory" : strerror(errno));
  }
  atomic_fetch_sub(&q->sh->count, 1);
  if (q->maxsize > 0)
    sem_post(&q->sh->slots);
  lua_pushlstring(L, buf, len);
  free(buf);
  lg_mp_load(L, lua_tostring(L, -1), len);
  return 1;
}


/* q:get_nowait() -> item */
static int queue_get_nowait (lua_State *L) {
  lua_settop(L, 1);
  lua_pushboolean(L, 0);
  return queue_get(L);
}


/* q:qsize() -> integer: items put and not yet got, in all processes */
static int queue_qsize (lua_State *L) {
  lua_pushinteger(L, atomic_load(&checkqueue(L)->sh->count));
  return 1;
}


/* q:empty() -> boolean */
static int queue_empty (lua_State *L) {
  lua_pushboolean(L, atomic_load(&checkqueue(L)->sh->count) <= 0);
  return 1;
}


/* q:full() -> boolean */
static int queue_full (lua_State *L) {
  Queue *q = checkqueue(L);
  lua_pushboolean(L, q->maxsize > 0 &&
                     atomic_load(&q->sh->count) >= q->maxsize);
  return 1;
}


/* q:close(): no more puts from this process; the feeder writes what it
** holds and ends */
static int queue_close (lua_State *L) {
  Queue *q = checkqueue(L);
  Feeder *f = ownfeeder(q);
  q->closed = 1;
  if (f != NULL) {
    lg_check(pthread_mutex_lock(&f->mu));
    f->closing = 1;
    pthread_cond_signal(&f->more);
    lg_check(pthread_mutex_unlock(&f->mu));
  }
  return 0;
}


/* q:join_thread(): wait until this process's feeder wrote everything */
static int queue_join_thread (lua_State *L) {
  Queue *q = checkqueue(L);
  Feeder *f = ownfeeder(q);
  if (!q->closed)
    return luaL_error(L, "Queue.join_thread() called before close()");
  if (f != NULL) {
    int drained;
    q->users++;
    LG_BEGIN_BLOCKING
    lg_check(pthread_mutex_lock(&f->mu));
    drained = drain_locked(f, lg_tstate_is_main());
    lg_check(pthread_mutex_unlock(&f->mu));
    LG_END_BLOCKING
    q->users--;
    back(L, q, NULL);
    if (!drained)
      return lg_breaker_raise_interrupt(L);
  }
  return 0;
}


/* q:cancel_join_thread(): do not wait for this queue's feeder at exit */
static int queue_cancel_join_thread (lua_State *L) {
  Queue *q = checkqueue(L);
  Feeder *f = getfeeder(L, q);
  lg_check(pthread_mutex_lock(&f->mu));
  f->cancel = 1;
  lg_check(pthread_mutex_unlock(&f->mu));
  return 0;
}


static int queue_gc (lua_State *L) {
  Queue *q = luaL_checkudata(L, 1, QUEUE);
  if (q->sh == NULL || q->dead)
    return 0;
  if (q->users > 0)  /* the last waiter back destroys it (back) */
    q->dead = 1;
  else
    destroy(q);
  return 0;
}


static int queue_tostring (lua_State *L) {
  Queue *q = luaL_checkudata(L, 1, QUEUE);
  if (q->sh == NULL || q->dead)
    lua_pushfstring(L, "<%s (destroyed)>", QUEUE);
  else
    lua_pushfstring(L, "<%s at %p: %d items>", QUEUE, (void *)q->sh,
                    (int)atomic_load(&q->sh->count));
  return 1;
}


/* q.maxsize, and the methods */
static int queue_index (lua_State *L) {
  Queue *q = luaL_checkudata(L, 1, QUEUE);
  const char *k = lg_fieldname(L);
  if (k != NULL && strcmp(k, "maxsize") == 0)
    lua_pushinteger(L, q->maxsize);
  return 1;
}

/* }====================================================== */


static const luaL_Reg queue_funcs[] = {
  {"Queue", mp_queue},
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
  {"close", queue_close},
  {"join_thread", queue_join_thread},
  {"cancel_join_thread", queue_cancel_join_thread},
  {NULL, NULL}
};

static const luaL_Reg queue_meta[] = {
  {"__gc", queue_gc},
  {"__tostring", queue_tostring},
  {NULL, NULL}
};


void lg_mp_open_queue (lua_State *L) {
  lg_fork_register(forkhandler);
  lg_createmeta(L, QUEUE, queue_methods, queue_meta, queue_index);
  luaL_setfuncs(L, queue_funcs, 0);
}
