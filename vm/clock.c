/*
** vm/clock.c -- the monotonic clock, deadlines, condition variables.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <limits.h>

#include "clock.h"


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
