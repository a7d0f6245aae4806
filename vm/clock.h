/*
** vm/clock.h -- the monotonic clock, deadlines, and condition variables
** that wait against it.
** See LICENSE for copyright and licence (MIT).
**
** Floor 1 of vm/ (docs/ARCHITECTURE.md): uses only vm/base.h.
*/

#ifndef lg_clock_h
#define lg_clock_h

#include <pthread.h>
#include <time.h>

#include "base.h"

/* Waits longer than this (seconds) are waits forever: TIMEOUT_MAX. */
#define LG_TIMEOUT_MAX  9223372036.0


/* Monotonic time in nanoseconds. */
static inline long lg_now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The same in seconds. */
LG_FUNC double lg_clock (void);

/*
** Virtual time, for the deterministic policy (set at install, for the
** whole process): CLOCK_MONOTONIC and CLOCK_REALTIME as scripts see them
** (lg_clock_gettime) and the deadlines of their waits (lg_vdeadline) run
** on one clock that stands still while any thread can run, and that
** vm/waitq.c moves to the earliest deadline when every thread is blocked
** (lg_clock_vset). It starts at the real clocks' values. Real waits (the
** GIL's, I/O, luagil's own) keep lg_deadline and the real clock.
*/
LG_FUNC void lg_clock_setvirtual (void);
LG_FUNC int lg_clock_isvirtual (void);
LG_FUNC long lg_clock_vnow (void);        /* ns on the monotonic scale */
LG_FUNC long lg_clock_vstart (void);      /* where it started */
LG_FUNC void lg_clock_vset (long ns);     /* never backwards */
LG_FUNC int lg_clock_gettime (clockid_t id, struct timespec *t);
LG_FUNC struct timespec *lg_vdeadline (double timeout, struct timespec *ts);


/* A CLOCK_MONOTONIC time as nanoseconds. */
static inline long lg_timespec_ns (const struct timespec *t) {
  return (long)t->tv_sec * 1000000000L + t->tv_nsec;
}

/*
** Absolute CLOCK_MONOTONIC deadline 'timeout' seconds from now, in '*ts';
** returns NULL (forever) for a negative timeout or one over TIMEOUT_MAX.
*/
LG_FUNC struct timespec *lg_deadline (double timeout, struct timespec *ts);

/* The same, but never later than 'cap' (NULL: no cap). */
LG_FUNC struct timespec *lg_deadline_within (double timeout,
                                             const struct timespec *cap,
                                             struct timespec *ts);

/* Time left until 'deadline' in '*left' (0 if it passed); false if it
** passed. */
LG_FUNC int lg_timeleft (const struct timespec *deadline,
                         struct timespec *left);

/* A condition variable that waits against CLOCK_MONOTONIC. */
LG_FUNC void lg_cond_init (pthread_cond_t *cv);

/* Wait on 'cv' (with 'mu' locked) until signalled or CLOCK_MONOTONIC
** reaches 'due_ns' (LONG_MAX: no limit); may return spuriously. */
LG_FUNC void lg_cond_wait_until (pthread_cond_t *cv, pthread_mutex_t *mu,
                                 long due_ns);

#endif
