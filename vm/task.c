/*
** vm/task.c -- luagil's threads as tasks: the OS threads that run them
** (workers), the ready queue, the monitor and the deadline heap.
** See LICENSE for copyright and licence (MIT).
**
** A worker runs one task at a time (vm/task.h). When its task ends or
** yields to wait, the worker takes the next ready task, keeping the GIL
** (lg_gil_pause), or idles for a while (IDLE_SECONDS) before it exits:
** creating an OS thread costs 80-150 us on this machine, a handoff to an
** idle worker a few.
**
** A ready task goes to an idle worker if there is one. Otherwise it waits
** in the ready queue for a busy worker to finish its task, unless every
** busy worker is blocked (in I/O, or a wait that cannot yield): then a new
** one is made for it. A busy worker may not
** finish soon (a CPU-bound task, a blocking call), so the monitor thread
** watches the queue: when it has not moved for STALL_NS, it makes a new
** worker for its head. The monitor also keeps the deadline heap of tasks
** that wait with a timeout, and wakes them when it passes.
**
** Tasks with their own stack size (_thread.stack_size) never queue or
** yield: each gets an idle worker of that size or a new one, as before.
** Nor do they under the deterministic policy, whose order must not depend
** on which worker comes free first.
*/

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gil.h"
#include "park.h"
#include "service.h"
#include "stats.h"
#include "task.h"

#define MAX_IDLE      64
#define IDLE_SECONDS  2.0
#define STALL_NS      1000000L  /* a ready queue stuck this long: a worker */
#define MONITOR_STACK (256 * 1024)  /* the monitor runs no Lua */


typedef struct lg_Pool lg_Pool;

typedef struct Worker {
  lg_Pool *pool;            /* its interpreter's (read-only) */
  lg_TState *ts;            /* the worker's; read by others while idle */
  size_t stacksize;
  lg_Task *task;            /* pool.mutex: given to it while idle */
  int listed;               /* own: it put itself on the idle list */
  char name[16];            /* own: the OS thread's name now */
  struct Worker *next;      /* pool.mutex: link in the idle list */
} Worker;


/* One interpreter's workers and tasks (vm/istate.h: 'pool'). */
struct lg_Pool {
  lg_IState *interp;        /* whose (read-only) */
  pthread_mutex_t mutex;
  Worker *idle;             /* idle workers, newest first */
  int nidle;
  int nbusy;                /* workers of the default stack size not idle */
  atomic_int nblocked;      /* how many of those are in a blocking call */
  atomic_int nwaiting;      /* tasks yielded to wait, not running again */
  lg_Task *head, *tail;     /* the ready queue */
  unsigned long taken;      /* tasks taken off the ready queue so far */
  lg_Task **heap;           /* tasks in a timed wait, earliest first: the
                               deadline heap */
  int nheap, heapsize;
  int ntasks;               /* tasks started and not done: the heap has
                               room for them all (reserve_locked) */
  lg_Service monitor;       /* the monitor thread */
  int nthreads;             /* workers alive, and the monitor */
  int retired;              /* lg_task_free ran: the last thread of the
                               pool to leave frees it */
};


/* 'I''s pool, made with its first task (GIL held); NULL if memory runs
** out. */
static lg_Pool *poolof (lg_IState *I) {
  lg_Pool *P = I->pool;
  if (P == NULL && (P = calloc(1, sizeof *P)) != NULL) {
    P->interp = I;
    lg_check(pthread_mutex_init(&P->mutex, NULL));
    I->pool = P;
  }
  return P;
}


/*
** {======================================================
** The deadline heap (pool.mutex)
** =======================================================
*/

static void heap_put (lg_Pool *P, int i, lg_Task *t) {
  P->heap[i] = t;
  t->heap_at = i;
}


static void sift_up (lg_Pool *P, int i) {
  lg_Task *t = P->heap[i];
  while (i > 0 && P->heap[(i - 1) / 2]->deadline_ns > t->deadline_ns) {
    heap_put(P, i, P->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_put(P, i, t);
}


static void sift_down (lg_Pool *P, int i) {
  lg_Task *t = P->heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= P->nheap)
      break;
    if (c + 1 < P->nheap &&
        P->heap[c + 1]->deadline_ns < P->heap[c]->deadline_ns)
      c++;
    if (P->heap[c]->deadline_ns >= t->deadline_ns)
      break;
    heap_put(P, i, P->heap[c]);
    i = c;
  }
  heap_put(P, i, t);
}


/*
** Room in the heap for one more task, made when the task starts, where
** running out of memory is its starter's error: a task is in the heap at
** most once, so a push never needs more. Returns 0 or ENOMEM.
*/
static int reserve_locked (lg_Pool *P) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  if (P->ntasks + 1 > P->heapsize) {
    int size = P->heapsize ? 2 * P->heapsize : 64;
    lg_Task **h = realloc(P->heap, (size_t)size * sizeof *h);
    if (h == NULL)
      return ENOMEM;
    P->heap = h;
    P->heapsize = size;
  }
  P->ntasks++;
  return 0;
}


/* A task that reserve_locked counted did not start, or has ended. */
static void unreserve (lg_Pool *P) {
  lg_check(pthread_mutex_lock(&P->mutex));
  P->ntasks--;
  lg_check(pthread_mutex_unlock(&P->mutex));
}


static void heap_push (lg_Pool *P, lg_Task *t) {
  if (P->nheap == P->heapsize)  /* reserve_locked makes it impossible */
    lg_fatal("the deadline heap's reserve", ENOMEM);
  heap_put(P, P->nheap++, t);
  sift_up(P, t->heap_at);
}


static void heap_remove (lg_Pool *P, lg_Task *t) {
  int i = t->heap_at;
  lg_Task *last = P->heap[--P->nheap];
  t->heap_at = -1;
  if (last != t) {
    heap_put(P, i, last);
    sift_up(P, i);
    sift_down(P, last->heap_at);
  }
}

/* }====================================================== */


/*
** {======================================================
** Placing ready tasks
** =======================================================
*/

static void *worker_main (void *arg);
static void *monitor_main (void *arg);


/*
** Start the monitor if it is not running: with the first task, so that a
** failure is that task's starter's error. Returns 0 or an errno value.
*/
static int start_monitor_locked (lg_Pool *P) {
  int on = P->monitor.on, err;
  LG_ASSERT(lg_mutex_held(&P->mutex));
  err = lg_service_start_locked(&P->monitor, &P->mutex, monitor_main, P,
                                MONITOR_STACK);
  P->nthreads += !on && P->monitor.on;
  return err;
}


static void freepool (lg_Pool *P) {
  if (P->monitor.on)
    pthread_cond_destroy(&P->monitor.cv);
  lg_check(pthread_mutex_destroy(&P->mutex));
  free(P->heap);
  free(P);
}


/* A thread of the pool leaves, pool.mutex held; it unlocks it. The last
** one of a retired pool frees it. */
static void leave_unlock (lg_Pool *P) {
  int last = --P->nthreads == 0 && P->retired;
  LG_ASSERT(P->nthreads >= 0);
  lg_check(pthread_mutex_unlock(&P->mutex));
  if (last)
    freepool(P);
}


/* Wake the monitor if it sleeps past 'due'. */
static void tell_monitor_locked (lg_Pool *P, long due) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  if (!P->monitor.on && start_monitor_locked(P) != 0)
    lg_fatal("pthread_create (the task monitor)", EAGAIN);  /* a task
                                                 started it: cannot be */
  lg_service_tell_locked(&P->monitor, due);
}


static void append_locked (lg_Pool *P, lg_Task *t) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  t->next = NULL;
  if (P->tail != NULL)
    P->tail->next = t;
  else {
    P->head = t;
    tell_monitor_locked(P, lg_now_ns() + STALL_NS);
  }
  P->tail = t;
}


static void push_front_locked (lg_Pool *P, lg_Task *t) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  t->next = P->head;
  P->head = t;
  if (P->tail == NULL)
    P->tail = t;
}


static lg_Task *pop_locked (lg_Pool *P) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  lg_Task *t = P->head;
  if (t != NULL) {
    P->head = t->next;
    if (P->head == NULL)
      P->tail = NULL;
    P->taken++;
  }
  return t;
}


static int mayqueue (const lg_Task *t) {
  return t->stacksize == 0 &&
         lg_gil_getpolicy(t->interp, NULL) != LG_POLICY_DETERMINISTIC;
}


/*
** Find ready task 't' a worker, under pool.mutex: an idle one (returned,
** to be unparked once the mutex is let go), or a place in the ready queue
** (NULL); or, if no worker is busy either, NULL with '*spawn' set: the
** caller makes one, counted busy already.
*/
static Worker *place_locked (lg_Pool *P, lg_Task *t, int *spawn) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  *spawn = 0;
  for (Worker **p = &P->idle; *p != NULL; p = &(*p)->next) {
    Worker *w = *p;
    if (w->stacksize == t->stacksize) {
      *p = w->next;
      P->nidle--;
      w->task = t;
      if (w->stacksize == 0)
        P->nbusy++;
      return w;
    }
  }
  if (mayqueue(t) && P->nbusy > atomic_load(&P->nblocked))
    append_locked(P, t);
  else {
    *spawn = 1;
    if (t->stacksize == 0)
      P->nbusy++;
  }
  return NULL;
}


/* The stack size of a new worker for tasks of size 0: the default, or
** LG_TASK_MINSTACK if that is smaller (a small ulimit -s). */
static size_t default_stack (void) {
  static atomic_long size = -1;  /* -1: not known yet */
  long n = atomic_load(&size);
  if (n < 0) {  /* racing threads store the same value */
    pthread_attr_t attr;
    size_t s = 0;
    if (pthread_getattr_default_np(&attr) == 0) {
      pthread_attr_getstacksize(&attr, &s);
      pthread_attr_destroy(&attr);
    }
    n = s != 0 && s < LG_TASK_MINSTACK ? LG_TASK_MINSTACK : 0;
    atomic_store(&size, n);
  }
  return (size_t)n;
}


/*
** A new worker for ready task 't', counted busy already. If none can be
** made, 't' is uncounted and, if 'requeue' (it ran before: nobody else
** will run it), goes back to the front of the ready queue, where the
** monitor tries again. Returns 0 or an errno value.
*/
static int spawn_for (lg_Task *t, int requeue) {
  lg_Pool *P = t->interp->pool;
  Worker *w = calloc(1, sizeof *w);
  pthread_t thread;
  sigset_t block;
  int err = ENOMEM;
  /* its state now, not on the new thread, where ENOMEM reaches nobody */
  if (w != NULL && (w->ts = lg_tstate_new()) != NULL) {
    w->pool = P;
    w->stacksize = t->stacksize;
    w->task = t;
    sigemptyset(&block);  /* SIGINT goes to the main thread */
    sigaddset(&block, SIGINT);
    lg_check(pthread_mutex_lock(&P->mutex));
    P->nthreads++;  /* before it may leave */
    lg_check(pthread_mutex_unlock(&P->mutex));
    err = lg_spawn(worker_main, w, t->stacksize != 0 ? t->stacksize
                                                    : default_stack(),
                   &block, &thread);
    if (err != 0) {
      lg_tstate_discard(w->ts);
      lg_check(pthread_mutex_lock(&P->mutex));
      P->nthreads--;  /* the pool is not retired: it has a task */
      lg_check(pthread_mutex_unlock(&P->mutex));
    }
  }
  if (err != 0) {
    free(w);
    lg_check(pthread_mutex_lock(&P->mutex));
    if (t->stacksize == 0)
      P->nbusy--;
    if (requeue) {
      push_front_locked(P, t);
      tell_monitor_locked(P, lg_now_ns() + STALL_NS);
    }
    lg_check(pthread_mutex_unlock(&P->mutex));
  }
  return err;
}


/*
** Put ready task 't' on a worker ('started': it ran before; else it is
** new, and an error goes back to its starter). A task woken before its
** deadline leaves the deadline heap here.
*/
static int place (lg_Task *t, int started) {
  lg_Pool *P = t->interp->pool;
  int spawn, err = 0;
  Worker *w = NULL;
  lg_check(pthread_mutex_lock(&P->mutex));
  if (!started) {  /* a new task: what it needs, or its starter's error */
    err = start_monitor_locked(P);
    if (err == 0)
      err = reserve_locked(P);
  }
  if (err == 0) {
    if (t->heap_at >= 0)
      heap_remove(P, t);
    w = place_locked(P, t, &spawn);
  }
  lg_check(pthread_mutex_unlock(&P->mutex));
  if (err != 0)
    return err;
  if (w != NULL)
    lg_unpark(w->ts);
  if (spawn && (err = spawn_for(t, started)) != 0 && !started)
    unreserve(P);
  return err;
}


void lg_task_init (lg_Task *t, lg_IState *I) {
  t->interp = I;
  atomic_init(&t->state, LG_TASK_READY);
  atomic_init(&t->native_id, 0);
  t->yielding = 0;
  t->next = NULL;
  t->heap_at = -1;
  t->wq.next = t->wq.prev = NULL;
  atomic_init(&t->wq.on, NULL);
  t->wq.ts = NULL;
  t->wq.task = t;
  atomic_init(&t->wq.counted, NULL);
  memset(&t->waiter, 0, sizeof t->waiter);
  atomic_init(&t->waiter.intr, 0);
  atomic_init(&t->waiter.ts, NULL);
}


/*
** Under the deterministic policy the next handoff waits until the new
** task has queued for the GIL (vm/gil.h's lg_gil_expect).
*/
int lg_task_start (lg_Task *t) {
  int err;
  if (poolof(t->interp) == NULL)
    return ENOMEM;
  t->waiter.base = t->L;  /* set before any other thread sees 't' */
  t->expected = lg_gil_expect(t->interp, NULL);
  err = place(t, 0);
  if (err != 0 && t->expected)
    lg_gil_unexpect(t->interp);
  return err;
}


void lg_task_wake (lg_Task *t) {
  int sleeping = LG_TASK_SLEEPING;
  if (atomic_compare_exchange_strong(&t->state, &sleeping, LG_TASK_READY))
    place(t, 1);  /* else the monitor took it */
}


void lg_task_arm (lg_Task *t, const struct timespec *deadline) {
  lg_Pool *P = t->interp->pool;
  LG_ASSERT(lg_gil_held(lg_tstate_current()));
  atomic_fetch_add(&P->nwaiting, 1);
  atomic_store(&t->state, LG_TASK_SLEEPING);
  t->yielding = 1;
  if (deadline != NULL) {
    lg_check(pthread_mutex_lock(&P->mutex));
    t->deadline_ns = lg_timespec_ns(deadline);
    heap_push(P, t);
    if (t->heap_at == 0)
      tell_monitor_locked(P, t->deadline_ns);
    lg_check(pthread_mutex_unlock(&P->mutex));
  }
}


int lg_task_sleep (lua_State *L, lg_Task *t, const struct timespec *deadline,
                   lua_KFunction k) {
  lg_task_arm(t, deadline);
  return lua_yieldk(L, 0, 0, k);
}


lg_Task *lg_task_yieldable (lua_State *L) {
  lg_TState *ts = lg_tstate_current();
  lg_Task *t = ts != NULL ? ts->task : NULL;
  if (t == NULL || t->L != L || !mayqueue(t) || !lua_isyieldable(L))
    return NULL;
  return t;
}


int lg_task_nwaiting (lg_IState *I) {
  lg_Pool *P = I != NULL ? I->pool : NULL;
  return P != NULL ? atomic_load_explicit(&P->nwaiting, memory_order_relaxed)
                   : 0;
}


void lg_task_blocking (const lg_Task *t, int d) {
  if (t->stacksize == 0)
    atomic_fetch_add(&t->interp->pool->nblocked, d);
}


void lg_task_forget (lg_Task *t) {
  atomic_store(&t->state, LG_TASK_DEAD);
}


unsigned long lg_self_ident (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL && ts->task != NULL)
    return ts->task->ident;
  return (unsigned long)pthread_self();
}

/* }====================================================== */


/*
** {======================================================
** The monitor
** =======================================================
*/

/*
** Wake the tasks whose deadline has passed (a waker may have taken one
** just before), placing them with pool.mutex let go.
*/
static void expire_locked (lg_Pool *P, long now) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  lg_Task *due = NULL;
  while (P->nheap > 0 && P->heap[0]->deadline_ns <= now) {
    lg_Task *t = P->heap[0];
    int sleeping = LG_TASK_SLEEPING;
    heap_remove(P, t);
    if (atomic_compare_exchange_strong(&t->state, &sleeping,
                                       LG_TASK_READY)) {
      t->next = due;
      due = t;
    }
  }
  if (due != NULL) {
    lg_check(pthread_mutex_unlock(&P->mutex));
    while (due != NULL) {
      lg_Task *t = due;
      due = t->next;
      place(t, 1);
    }
    lg_check(pthread_mutex_lock(&P->mutex));
  }
}


static void *monitor_main (void *arg) {
  lg_Pool *P = arg;
  unsigned long seen = 0;
  long since = -1;  /* since when the queue has not moved; -1: empty */
  lg_check(pthread_mutex_lock(&P->mutex));
  while (!P->retired) {
    long now = lg_now_ns(), due = LONG_MAX;
    expire_locked(P, now);
    if (P->nheap > 0)
      due = P->heap[0]->deadline_ns;
    if (P->head == NULL)
      since = -1;
    else if (since < 0 || P->taken != seen) {
      seen = P->taken;
      since = now;
    }
    else if (now - since >= STALL_NS) {  /* stuck: a worker for the head */
      lg_Task *t = pop_locked(P);
      seen = P->taken;
      since = now;
      P->nbusy++;
      lg_check(pthread_mutex_unlock(&P->mutex));
      spawn_for(t, 1);
      lg_check(pthread_mutex_lock(&P->mutex));
      continue;
    }
    if (since >= 0 && since + STALL_NS < due)
      due = since + STALL_NS;
    lg_service_sleep_locked(&P->monitor, due);
  }
  leave_unlock(P);
  return NULL;
}

/* }====================================================== */


/*
** {======================================================
** Workers
** =======================================================
*/

/* Run 't' until it ends or yields; 'held': the GIL is ours already. */
static int run (Worker *w, lg_Task *t, int held) {
  lg_TState *ts = w->ts;
  int first = atomic_load(&t->native_id) == 0, r;
  if (first)
    atomic_store(&t->native_id, ts->native_id);
  else  /* back from a wait */
    atomic_fetch_sub(&w->pool->nwaiting, 1);
  if (strcmp(w->name, t->name) != 0) {
    memcpy(w->name, t->name, sizeof w->name);
    pthread_setname_np(pthread_self(), w->name);
  }
  atomic_store(&t->state, LG_TASK_RUNNING);
  ts->task = t;
  ts->stats = t->stats;
  atomic_store(&t->waiter.ts, ts);
  ts->cur = &t->waiter;
  lg_tstate_setrunning(ts, t->L);
  if (first)
    lg_event(ts, LG_EV_STARTED, 0);
  if (held)
    lg_gil_unpause(ts);
  else {
    ts->expected = first && t->expected;
    lg_gil_take(ts);
  }
  r = t->run(t);
  atomic_store(&t->waiter.ts, NULL);
  ts->cur = &ts->self;
  lg_tstate_setrunning(ts, NULL);
  ts->task = NULL;
  return r;
}


/*
** After a task ('ended': it is done, not waiting): the next one from the
** ready queue, or NULL after putting 'w' on the idle list (if the list is
** not full). Listed before it lets the GIL go, so a thread that the
** task's end woke finds it there.
*/
static lg_Task *next_task (Worker *w, int ended) {
  lg_Pool *P = w->pool;
  lg_Task *t = NULL;
  lg_check(pthread_mutex_lock(&P->mutex));
  if (ended)
    P->ntasks--;  /* its room in the heap is free */
  if (w->stacksize == 0)
    t = pop_locked(P);
  if (t == NULL) {
    w->listed = P->nidle < MAX_IDLE;
    if (w->listed) {
      w->task = NULL;
      w->next = P->idle;
      P->idle = w;
      P->nidle++;
    }
    if (w->stacksize == 0)
      P->nbusy--;
  }
  lg_check(pthread_mutex_unlock(&P->mutex));
  return t;
}


/* Remove 'w' from the idle list if it is there; true if it was. */
static int unidle_locked (lg_Pool *P, Worker *w) {
  LG_ASSERT(lg_mutex_held(&P->mutex));
  for (Worker **p = &P->idle; *p != NULL; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      P->nidle--;
      return 1;
    }
  }
  return 0;
}


/* Idle until given a task (returned) or for IDLE_SECONDS (NULL). */
static lg_Task *idle (Worker *w) {
  lg_Pool *P = w->pool;
  struct timespec dl;
  if (!w->listed)
    return NULL;
  lg_deadline(IDLE_SECONDS, &dl);
  for (;;) {
    int r = lg_park(w->ts, &dl, LG_PARK_SPIN);
    lg_Task *t;
    int got;
    lg_check(pthread_mutex_lock(&P->mutex));
    {
      t = w->task;  /* place_locked unlinks a worker and gives it a task */
      got = t != NULL || P->retired ||
            (r == LG_TIMEDOUT && unidle_locked(P, w));
    }
    lg_check(pthread_mutex_unlock(&P->mutex));
    if (got)
      return t;
  }
}


static void *worker_main (void *arg) {
  Worker *w = arg;
  lg_TState *ts = w->ts;
  lg_Task *t = w->task;
  ts->service = 1;  /* a dump lists its task, not the worker */
  lg_tstate_adopt(ts, w->pool->interp, NULL, 0);
  int held = 0;
  while (t != NULL) {
    int r = run(w, t, held);
    int reason = r == LG_TASK_DONE ? LG_DROP_PLAIN : LG_DROP_BLOCKING;
    lg_Task *next;
    if (r == LG_TASK_DONE)
      t->done(t);
    lg_gil_pause(ts, reason);
    if (r == LG_TASK_DONE)
      lg_event(ts, LG_EV_EXITED, 0);
    ts->stats = NULL;
    next = next_task(w, r == LG_TASK_DONE);
    if (r == LG_TASK_DONE)
      t->release(t);  /* a waiting 't' may be another worker's already */
    held = next != NULL;
    if (!held) {
      lg_gil_release(ts, reason);
      next = idle(w);
    }
    t = next;
  }
  lg_tstate_unregister(ts);
  lg_check(pthread_mutex_lock(&w->pool->mutex));
  leave_unlock(w->pool);
  free(w);
  return NULL;
}


void lg_task_free (lg_IState *I, int wake) {
  lg_Pool *P = I->pool;
  lg_TState *woken[MAX_IDLE];
  int n = 0, last;
  if (P == NULL)
    return;
  lg_check(pthread_mutex_lock(&P->mutex));
  {
    LG_ASSERT(P->ntasks == 0);
    P->retired = 1;
    for (Worker *w = wake ? P->idle : NULL; w != NULL && n < MAX_IDLE;
         w = w->next)
      woken[n++] = w->ts;  /* a state is never freed (vm/tstate.h) */
    P->idle = NULL;
    P->nidle = 0;
    lg_service_tell_locked(&P->monitor, 0);
    last = P->nthreads == 0;
  }
  lg_check(pthread_mutex_unlock(&P->mutex));
  for (int i = 0; i < n; i++)
    lg_unpark(woken[i]);
  if (last)
    freepool(P);
  I->pool = NULL;
}

/* }====================================================== */


/*
** fork(): in the child only the forking thread lives on; the other
** workers, the monitor and the tasks they had are gone (_thread marks the
** tasks dead, so that a wake-up finds nothing to run).
*/
void lg_task_atfork (lg_IState *I, int phase) {
  lg_Pool *P = I->pool;
  if (P == NULL)
    return;
  lg_mutex_atfork(&P->mutex, phase);
  if (phase == LG_FORK_CHILD) {
    lg_TState *ts = lg_tstate_current();
    P->idle = NULL;
    P->nidle = 0;
    P->nbusy = ts != NULL && ts->task != NULL &&
                 ts->task->stacksize == 0;
    atomic_store(&P->nblocked, 0);
    atomic_store(&P->nwaiting, 0);
    P->head = P->tail = NULL;
    P->nheap = 0;
    lg_service_forget(&P->monitor);
  }
}
