/*
** vm/gil.c -- the global interpreter lock.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** The model is CPython's "new GIL". The GIL is a flag ('locked') guarded
** by gil.mutex; threads that want it wait on gil.cond.
**
** - Periodic release. One waiter at a time, the 'timer', waits with a
**   timeout of one switch interval; the others wait without one, so that
**   10,000 waiting threads do not wake every interval. When the timer's
**   interval passes without a switch (gil.switches unchanged), it raises
**   the drop request (one atomic flag) and signals the holder's OS thread
**   (vm/breaker.c); the holder's hook then yields. While the holder does
**   not answer (a request can be lost, or the holder is in a long C call)
**   the timer signals again after 1, 2, 4, ... 8 intervals. When the timer
**   gets the GIL it passes the role on by waking one other waiter.
** - Forced switching. A thread that drops the GIL because it was asked to
**   waits on gil.switch_cond until another thread has taken the GIL, so a
**   CPU-bound thread cannot take it straight back.
** - Shutdown. Once finalizing, every thread but the main one parks for
**   ever when it wants the GIL, and no request is raised any more.
**
** Lock order: an object's mutex may be taken with the GIL held; gil.mutex
** is innermost and never held while waiting for anything but gil.cond or
** gil.switch_cond.
*/

#include <errno.h>
#include <time.h>

#include "breaker.h"
#include "gil.h"

#define MAX_BACKOFF  8            /* re-signal after at most 8 intervals */
#define MIN_RESIGNAL_NS  100000L  /* ... and never more often than 100 us */


static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;         /* waiters for the GIL */
  pthread_cond_t switch_cond;  /* a forced dropper waits for a switch */
  pthread_cond_t never;        /* threads parked at shutdown */
  int locked;                  /* gil.mutex */
  lg_TState *_Atomic holder;   /* written under gil.mutex; read atomically */
  unsigned long switches;      /* gil.mutex: number of takes so far */
  int waiters;                 /* gil.mutex */
  lg_TState *timer;            /* gil.mutex: the waiter timing the holder */
  int finalizing;              /* gil.mutex */
  atomic_int drop_request;     /* atomic: 1 while a request is outstanding */
  _Atomic long interval_ns;    /* atomic */
} gil;


static void initcond (pthread_cond_t *c) {
  pthread_condattr_t attr;
  lg_check(pthread_condattr_init(&attr));
  lg_check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
  lg_check(pthread_cond_init(c, &attr));
  lg_check(pthread_condattr_destroy(&attr));
}


void lg_gil_init (lg_TState *ts) {
  lg_mutex_init(&gil.mutex);
  initcond(&gil.cond);
  initcond(&gil.switch_cond);
  initcond(&gil.never);
  gil.locked = 1;
  atomic_store(&gil.holder, ts);
  gil.switches = 1;
  atomic_store(&gil.interval_ns, (long)(LG_DEFAULT_INTERVAL * 1e9));
  atomic_store(&ts->in_lua, 1);
}


/* 'ns' nanoseconds from now on the monotonic clock. */
static struct timespec after (long ns) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ns / 1000000000L;
  t.tv_nsec += ns % 1000000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}


static void request_drop_locked (void) {
  lg_TState *holder = atomic_load(&gil.holder);
  atomic_store(&gil.drop_request, 1);
  if (holder != NULL)  /* it cannot exit: exiting needs gil.mutex */
    lg_breaker_signal(holder);
}


static void park_forever_locked (void) {
  for (;;)
    pthread_cond_wait(&gil.never, &gil.mutex);
}


static int must_park (lg_TState *ts) {
  return gil.finalizing && !ts->is_main;
}


/*
** Wait until the GIL is free. The timer waits one interval (times the
** backoff) at a time and raises or repeats the drop request when nothing
** switched meanwhile.
*/
static void wait_locked (lg_TState *ts) {
  int backoff = 1;
  gil.waiters++;
  while (gil.locked || must_park(ts)) {
    if (must_park(ts)) {
      gil.waiters--;
      park_forever_locked();
    }
    if (gil.timer == NULL)
      gil.timer = ts;
    if (gil.timer != ts) {
      lg_check(pthread_cond_wait(&gil.cond, &gil.mutex));
      continue;
    }
    unsigned long sw = gil.switches;
    long wait_ns = atomic_load(&gil.interval_ns) * backoff;
    if (backoff > 1 && wait_ns < MIN_RESIGNAL_NS)
      wait_ns = MIN_RESIGNAL_NS;
    struct timespec deadline = after(wait_ns);
    int r = pthread_cond_timedwait(&gil.cond, &gil.mutex, &deadline);
    if (r != 0 && r != ETIMEDOUT)
      lg_fatal("pthread_cond_timedwait", r);
    if (gil.switches != sw)
      backoff = 1;
    else if (r == ETIMEDOUT && gil.locked && !gil.finalizing) {
      request_drop_locked();
      if (backoff < MAX_BACKOFF)
        backoff *= 2;
    }
  }
  gil.waiters--;
  if (gil.timer == ts) {
    gil.timer = NULL;
    if (gil.waiters > 0)  /* wake one to take over the timing */
      lg_check(pthread_cond_signal(&gil.cond));
  }
}


/* waiting -> running */
void lg_gil_take (lg_TState *ts) {
  int saved = errno;
  lg_check(pthread_mutex_lock(&gil.mutex));
  {
    if (gil.locked || must_park(ts))
      wait_locked(ts);
    gil.locked = 1;
    atomic_store(&gil.holder, ts);
    gil.switches++;
    atomic_store(&gil.drop_request, 0);  /* a new holder starts afresh */
    lg_check(pthread_cond_broadcast(&gil.switch_cond));
  }
  lg_check(pthread_mutex_unlock(&gil.mutex));
  atomic_store(&ts->in_lua, 1);
  if (ts->is_main && lg_breaker_sigint_pending())
    lg_breaker_arm_self(ts);  /* Ctrl-C came while we were away */
  errno = saved;
}


/* running -> released; with 'forced', wait until another thread took it */
static void drop (lg_TState *ts, int forced) {
  int saved = errno;
  atomic_store(&ts->in_lua, 0);
  lg_check(pthread_mutex_lock(&gil.mutex));
  {
    gil.locked = 0;
    atomic_store(&gil.holder, NULL);
    lg_check(pthread_cond_signal(&gil.cond));
    if (forced && gil.waiters > 0) {
      unsigned long sw = gil.switches;
      while (gil.switches == sw && gil.waiters > 0)
        lg_check(pthread_cond_wait(&gil.switch_cond, &gil.mutex));
    }
  }
  lg_check(pthread_mutex_unlock(&gil.mutex));
  errno = saved;
}


void lg_gil_drop (lg_TState *ts) {
  drop(ts, 0);
}


void lg_gil_yield (lg_TState *ts) {
  drop(ts, 1);
  lg_gil_take(ts);
}


void lg_gil_yield_if_waiting (lg_TState *ts) {
  int waiting;
  lg_check(pthread_mutex_lock(&gil.mutex));
  waiting = gil.waiters > 0 && !gil.finalizing;
  lg_check(pthread_mutex_unlock(&gil.mutex));
  if (waiting)
    lg_gil_yield(ts);
}


int lg_gil_drop_pending_for (lg_TState *ts) {
  return atomic_load(&gil.drop_request) && atomic_load(&gil.holder) == ts;
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
    drop(ts, 0);
  return ts;
}


void lg_blocking_end (lg_TState *ts) {
  if (ts != NULL)
    lg_gil_take(ts);
}
