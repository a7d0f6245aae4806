/*
** vm/park.h -- parking a thread, deadlines, and wait queues.
** See LICENSE for copyright and licence (MIT).
**
** Every blocking wait of luagil (join, sleep, the synchronisation objects)
** parks the calling thread on its own token and is woken by another thread
** that sets the token. The main thread parks on an eventfd and also watches
** the Ctrl-C descriptor, so a Ctrl-C interrupts any of its waits; condition
** variables could not do that.
*/

#ifndef lg_park_h
#define lg_park_h

#include <pthread.h>
#include <time.h>

#include "tstate.h"

/* Results of a wait. */
#define LG_WOKEN        0
#define LG_TIMEDOUT     1
#define LG_INTERRUPTED  2  /* Ctrl-C arrived (main thread only) */

/* Waits longer than this (seconds) are waits forever: TIMEOUT_MAX. */
#define LG_TIMEOUT_MAX  9223372036.0


/* The number of CPUs this process may run on (its affinity mask). */
LG_FUNC int lg_usable_cpus (void);

/* Monotonic clock, in seconds and as a timespec. */
LG_FUNC double lg_clock (void);

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

/* Flags of lg_park. */
#define LG_PARK_SPIN    1  /* spin a few microseconds before sleeping */
#define LG_PARK_NOINTR  2  /* Ctrl-C does not end the wait */

/*
** Park the calling thread until woken, the deadline (NULL: none) passes,
** or (main thread, without LG_PARK_NOINTR) Ctrl-C. May return LG_WOKEN
** spuriously. Called without the GIL. Retries on EINTR.
*/
LG_FUNC int lg_park (lg_TState *ts, const struct timespec *deadline,
                     int flags);

/* Wake 'ts' (any thread, any time; a token is kept if it is not parked). */
LG_FUNC void lg_unpark (lg_TState *ts);


/* A FIFO of parked threads, guarded by its owner's mutex. */
typedef struct lg_WaitQueue {
  lg_WaitNode *head, *tail;
} lg_WaitQueue;

/*
** Wait on 'q' until woken by lg_waitq_wake_locked, the deadline, or Ctrl-C.
** Called with 'mu' locked and the GIL held; returns with both held again.
** Releases the GIL while parked. Never returns spuriously.
*/
LG_FUNC int lg_waitq_wait (lg_WaitQueue *q, pthread_mutex_t *mu,
                           const struct timespec *deadline);

/* Wake up to 'n' waiters (n < 0: all), oldest first; returns how many. */
LG_FUNC int lg_waitq_wake_locked (lg_WaitQueue *q, int n);

/* The same, taking the queue's mutex 'mu' for it. */
LG_FUNC int lg_waitq_wake (lg_WaitQueue *q, pthread_mutex_t *mu, int n);

/*
** In a fork() child: take the node of a thread or task that did not come
** along off the wait queue it was on, so that no waker chooses it (a
** Lock's give would hand the lock to nobody; a wake-up with the GIL held
** would queue a thread that does not exist for the GIL and hand it over:
** issue 19, case 11). The child has one thread, so no mutex is needed.
*/
LG_FUNC void lg_waitq_forget (lg_WaitNode *n);

#endif
