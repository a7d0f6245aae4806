/*
** vm/clock.c -- the monotonic clock, deadlines, condition variables.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>

#include "clock.h"


/* Virtual time: on, and the clock in ns of CLOCK_MONOTONIC's scale
** (atomic); vm/waitq.c moves it with the GIL held. */
static atomic_int virt;
static _Atomic long vnow;
static long vstart, vrealstart;  /* set once, before any thread */


void lg_clock_setvirtual (void) {
  struct timespec m, r;
  if (atomic_load(&virt))
    return;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r);
  vstart = lg_timespec_ns(&m);
  vrealstart = lg_timespec_ns(&r);
  atomic_store(&vnow, vstart);
  atomic_store(&virt, 1);
}


int lg_clock_isvirtual (void) {
  return atomic_load_explicit(&virt, memory_order_relaxed);
}


long lg_clock_vstart (void) {
  return vstart;
}


long lg_clock_vnow (void) {
  return atomic_load(&vnow);
}


void lg_clock_vset (long ns) {
  if (ns > atomic_load(&vnow))
    atomic_store(&vnow, ns);
}


static void fromns (long ns, struct timespec *t) {
  t->tv_sec = ns / 1000000000L;
  t->tv_nsec = ns % 1000000000L;
}


int lg_clock_gettime (clockid_t id, struct timespec *t) {
  if (lg_clock_isvirtual() && id == CLOCK_MONOTONIC) {
    fromns(atomic_load(&vnow), t);
    return 0;
  }
  if (lg_clock_isvirtual() && id == CLOCK_REALTIME) {
    fromns(vrealstart + (atomic_load(&vnow) - vstart), t);
    return 0;
  }
  return clock_gettime(id, t);
}


struct timespec *lg_vdeadline (double timeout, struct timespec *ts) {
  if (!lg_clock_isvirtual())
    return lg_deadline(timeout, ts);
  if (!(timeout >= 0) || timeout > LG_TIMEOUT_MAX)  /* NaN too */
    return NULL;
  fromns(atomic_load(&vnow) + (long)(timeout * 1e9), ts);
  return ts;
}


double lg_clock (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}


struct timespec *lg_deadline (double timeout, struct timespec *ts) {
  if (!(timeout >= 0) || timeout > LG_TIMEOUT_MAX)  /* NaN too */
    return NULL;
  clock_gettime(CLOCK_MONOTONIC, ts);
  double whole = (double)(time_t)timeout;
  ts->tv_sec += (time_t)whole;
  ts->tv_nsec += (long)((timeout - whole) * 1e9);
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
  return ts;
}


struct timespec *lg_deadline_within (double timeout,
                                     const struct timespec *cap,
                                     struct timespec *ts) {
  struct timespec *d = lg_deadline(timeout, ts);
  if (cap != NULL && (d == NULL || cap->tv_sec < d->tv_sec ||
      (cap->tv_sec == d->tv_sec && cap->tv_nsec < d->tv_nsec))) {
    *ts = *cap;
    return ts;
  }
  return d;
}


int lg_timeleft (const struct timespec *deadline, struct timespec *left) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  left->tv_sec = deadline->tv_sec - now.tv_sec;
  left->tv_nsec = deadline->tv_nsec - now.tv_nsec;
  if (left->tv_nsec < 0) {
    left->tv_sec--;
    left->tv_nsec += 1000000000L;
  }
  if (left->tv_sec < 0) {
    left->tv_sec = left->tv_nsec = 0;
    return 0;
  }
  return 1;
}

void lg_cond_init (pthread_cond_t *cv) {
  pthread_condattr_t attr;
  lg_check(pthread_condattr_init(&attr));
  lg_check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
  lg_check(pthread_cond_init(cv, &attr));
  pthread_condattr_destroy(&attr);
}


void lg_cond_wait_until (pthread_cond_t *cv, pthread_mutex_t *mu,
                         long due_ns) {
  if (due_ns == LONG_MAX)
    lg_check(pthread_cond_wait(cv, mu));
  else {
    struct timespec dl = {due_ns / 1000000000L, due_ns % 1000000000L};
    int r = pthread_cond_timedwait(cv, mu, &dl);
    if (r != 0 && r != ETIMEDOUT)
      lg_fatal("pthread_cond_timedwait", r);
  }
}
