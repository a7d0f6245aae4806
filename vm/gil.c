/*
** vm/gil.c -- the global interpreter lock.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** The state: 'locked' and 'holder', and a FIFO queue of the threads that
** wait for the GIL, all guarded by gil.mutex. A waiter parks on its own
** token (vm/park.c).
**
** - Handoff. A thread that lets the GIL go hands it straight to the head
**   of the queue: it sets 'holder' to that thread and unparks it. Nobody
**   can barge in between, so a thread that drops and at once wants the GIL
**   again queues behind every waiter: that is forced switching, and it is
**   also what keeps the GIL fair. (A condition variable cannot do this:
**   pthread_cond_signal may wake the same few threads every time, and we
**   saw a waiter starve for ever that way.)
** - Periodic release. Only the head of the queue times the holder: it
**   parks for one switch interval; if the interval passed without a switch
**   (gil.switches unchanged) it raises the drop request (one atomic flag)
**   and signals the holder's OS thread (vm/breaker.c), whose hook then
**   yields. While the holder does not answer (a request can be lost, or the
**   holder is in a long C call) the head signals again after 1, 2, 4, ...
**   8 intervals, never more often than every 100 us. The other waiters
**   park without a timeout; a thread that becomes the head is woken to
**   start timing.
** - Shutdown. Once finalizing, every thread but the main one parks for
**   ever when it wants the GIL and is never handed it; no request is raised
**   any more.
**
** Lock order: an object's mutex may be taken with the GIL held; gil.mutex
** is innermost.
*/

#include <errno.h>
#include <time.h>

#include "breaker.h"
#include "gil.h"
#include "park.h"
#include "stats.h"

#define MAX_BACKOFF  8            /* re-signal after at most 8 intervals */
#define MIN_RESIGNAL_NS  100000L  /* ... and never more often than 100 us */


static struct {
  pthread_mutex_t mutex;
  pthread_cond_t never;        /* threads parked at shutdown */
  int locked;                  /* gil.mutex */
  lg_TState *_Atomic holder;   /* written under gil.mutex; read atomically */
  lg_TState *head, *tail;      /* gil.mutex: waiters, linked by gil_next */
  unsigned long switches;      /* gil.mutex: number of grants so far */
  int finalizing;              /* gil.mutex */
  atomic_int drop_request;     /* atomic: 1 while a request is outstanding */
  _Atomic long interval_ns;    /* atomic */
} gil;


void lg_gil_init (lg_TState *ts) {
  lg_mutex_init(&gil.mutex);
  lg_check(pthread_cond_init(&gil.never, NULL));
  gil.locked = 1;
  atomic_store(&gil.holder, ts);
  gil.switches = 1;
  atomic_store(&gil.interval_ns, (long)(LG_DEFAULT_INTERVAL * 1e9));
  lg_event(ts, LG_EV_RESUMED, 0);
  atomic_store(&ts->in_lua, 1);
}


/* 'ns' nanoseconds from now on the monotonic clock. */
static struct timespec *after (long ns, struct timespec *t) {
  clock_gettime(CLOCK_MONOTONIC, t);
  t->tv_sec += ns / 1000000000L;
  t->tv_nsec += ns % 1000000000L;
  if (t->tv_nsec >= 1000000000L) {
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
  return t;
}


static int must_park (lg_TState *ts) {
  return gil.finalizing && !ts->is_main;
}


static void park_forever_locked (void) {
  for (;;)
    pthread_cond_wait(&gil.never, &gil.mutex);
}


/* released -> running, for 'ts' (not necessarily the caller) */
static void grant_locked (lg_TState *ts) {
  lg_stats_count_switch();
  gil.locked = 1;
  atomic_store(&gil.holder, ts);
  gil.switches++;
  atomic_store(&gil.drop_request, 0);  /* a new holder starts afresh */
}


static void request_drop_locked (void) {
  lg_TState *holder = atomic_load(&gil.holder);
  atomic_store(&gil.drop_request, 1);
  if (holder != NULL)  /* it cannot exit: exiting needs gil.mutex */
    lg_breaker_signal(holder);
}


static void enqueue_locked (lg_TState *ts) {
  ts->gil_next = NULL;
  if (gil.tail)
    gil.tail->gil_next = ts;
  else
    gil.head = ts;
  gil.tail = ts;
}


static lg_TState *dequeue_locked (void) {
  lg_TState *ts = gil.head;
  gil.head = ts->gil_next;
  if (gil.head == NULL)
    gil.tail = NULL;
  ts->gil_next = NULL;
  return ts;
}


/*
** waiting: queue up and park until a releasing thread hands us the GIL.
** The head of the queue times the holder and raises drop requests.
*/
static void wait_locked (lg_TState *ts) {
  int backoff = 1, requested = 0;
  enqueue_locked(ts);
  while (atomic_load(&gil.holder) != ts) {
    if (must_park(ts))
      park_forever_locked();
    int timing = (gil.head == ts);
    unsigned long sw = gil.switches;
    struct timespec dl;
    if (timing) {
      long ns = atomic_load(&gil.interval_ns) * backoff;
      after(backoff > 1 && ns < MIN_RESIGNAL_NS ? MIN_RESIGNAL_NS : ns, &dl);
    }
    lg_check(pthread_mutex_unlock(&gil.mutex));
    if (requested) {  /* reported outside gil.mutex */
      lg_event(ts, LG_EV_REQUEST, 0);
      requested = 0;
    }
    int r = lg_park(ts, timing ? &dl : NULL, LG_PARK_SPIN | LG_PARK_NOINTR);
    lg_check(pthread_mutex_lock(&gil.mutex));
    if (atomic_load(&gil.holder) == ts)
      break;
    if (gil.switches != sw)
      backoff = 1;
    else if (timing && r == LG_TIMEDOUT && !gil.finalizing) {
      request_drop_locked();
      requested = 1;
      if (backoff < MAX_BACKOFF)
        backoff *= 2;
    }
  }
}


/* waiting -> running */
void lg_gil_take (lg_TState *ts) {
  int saved = errno, busy;
  lg_check(pthread_mutex_lock(&gil.mutex));
  {
    if (must_park(ts))
      park_forever_locked();
    busy = gil.locked;
    if (!busy)
      grant_locked(ts);
  }
  lg_check(pthread_mutex_unlock(&gil.mutex));
  if (busy) {  /* say so outside gil.mutex, then queue up */
    lg_event(ts, LG_EV_READY, 0);
    lg_check(pthread_mutex_lock(&gil.mutex));
    if (gil.locked)
      wait_locked(ts);
    else
      grant_locked(ts);
    lg_check(pthread_mutex_unlock(&gil.mutex));
  }
  lg_event(ts, LG_EV_RESUMED, 0);
  atomic_store(&ts->in_lua, 1);
  if (ts->is_main && lg_breaker_sigint_pending())
    lg_breaker_arm_self(ts);  /* Ctrl-C came while we were away */
  errno = saved;
}


/* running -> released: hand the GIL to the first waiter, if any */
void lg_gil_drop (lg_TState *ts, int reason) {
  int saved = errno;
  atomic_store(&ts->in_lua, 0);
  lg_event(ts, LG_EV_SUSPENDED, reason);
  lg_check(pthread_mutex_lock(&gil.mutex));
  {
    lg_TState *next = NULL;
    while (gil.head != NULL && next == NULL) {
      next = dequeue_locked();
      if (must_park(next)) {  /* it will see that and park for ever */
        lg_unpark(next);
        next = NULL;
      }
    }
    if (next != NULL) {
      grant_locked(next);
      lg_unpark(next);
      if (gil.head != NULL)  /* the new head starts timing */
        lg_unpark(gil.head);
    }
    else {
      gil.locked = 0;
      atomic_store(&gil.holder, NULL);
    }
  }
  lg_check(pthread_mutex_unlock(&gil.mutex));
  errno = saved;
}


void lg_gil_yield (lg_TState *ts) {
  lg_gil_drop(ts, LG_DROP_FORCED);
  lg_gil_take(ts);
}


void lg_gil_yield_if_waiting (lg_TState *ts) {
  int waiting;
  lg_check(pthread_mutex_lock(&gil.mutex));
  waiting = gil.head != NULL && !gil.finalizing;
  lg_check(pthread_mutex_unlock(&gil.mutex));
  if (waiting)
    lg_gil_yield(ts);
}


int lg_gil_drop_pending_for (lg_TState *ts) {
  return atomic_load(&gil.drop_request) && atomic_load(&gil.holder) == ts;
}


int lg_gil_nwaiting (void) {
  int n = 0;
  lg_check(pthread_mutex_lock(&gil.mutex));
  for (lg_TState *w = gil.head; w != NULL; w = w->gil_next)
    n++;
  lg_check(pthread_mutex_unlock(&gil.mutex));
  return n;
}


int lg_gil_held (lg_TState *ts) {
  return ts != NULL && atomic_load(&gil.holder) == ts;
}


double lg_gil_getinterval (void) {
  return (double)atomic_load(&gil.interval_ns) * 1e-9;
}


void lg_gil_setinterval (double seconds) {
  long ns = (long)(seconds * 1e9);
  atomic_store(&gil.interval_ns, ns > 0 ? ns : 1);
}


void lg_gil_finalize (void) {
  lg_check(pthread_mutex_lock(&gil.mutex));
  gil.finalizing = 1;
  atomic_store(&gil.drop_request, 0);
  lg_check(pthread_mutex_unlock(&gil.mutex));
}


int lg_gil_finalizing (void) {
  int f;
  lg_check(pthread_mutex_lock(&gil.mutex));
  f = gil.finalizing;
  lg_check(pthread_mutex_unlock(&gil.mutex));
  return f;
}


lg_TState *lg_blocking_begin (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL)
    lg_gil_drop(ts, LG_DROP_BLOCKING);
  return ts;
}


void lg_blocking_end (lg_TState *ts) {
  if (ts != NULL)
    lg_gil_take(ts);
}
