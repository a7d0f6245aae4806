/*
** vm/waitq.h -- blocking: the bracket that releases the GIL around a
** blocking call, and wait queues, on which a thread waits for another
** (join, Lock, Condition, Event, Queue, ...).
** See LICENSE for copyright and licence (MIT).
**
** Floor 5 of vm/ (docs/ARCHITECTURE.md): uses vm/task.h, vm/gil.h and
** vm/park.h (included: lg_park, lg_poll, the deadlines). What stdlib/
** includes to block.
*/

#ifndef lg_waitq_h
#define lg_waitq_h

#include <pthread.h>

#include <lua.h>

#include "park.h"
#include "task.h"


/*
** Releasing the GIL around a blocking call. Between the two halves the
** thread touches no lua_State; both halves preserve errno. A thread that
** is not registered (no lg_TState) passes through unchanged.
*/
LG_FUNC lg_TState *lg_blocking_begin (void);
LG_FUNC void lg_blocking_end (lg_TState *ts);

#define LG_BEGIN_BLOCKING  { lg_TState *lg_blocked_ = lg_blocking_begin();
#define LG_END_BLOCKING    lg_blocking_end(lg_blocked_); }

/*
** priority-io: the blocking call about to begin (LG_BEGIN_BLOCKING next)
** will wait: it got EAGAIN already, say. Its thread then asks for the GIL
** with priority when the call ends, even if it did not sleep in the kernel.
*/
LG_FUNC void lg_blocking_waited (void);


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

/*
** Wait on 'q' once, as lg_waitq_wait does, with 'mu' locked and the GIL
** held by a C function: by yielding if the thread can (the function
** returns this, and 'k' goes on: it calls lg_waitq_waited first), else by
** parking. Returns how the wait ended, with 'mu' locked.
*/
LG_FUNC int lg_waitq_once (lua_State *L, lg_WaitQueue *q,
                           pthread_mutex_t *mu,
                           const struct timespec *deadline,
                           lua_KFunction k);

/*
** In 'k', on the task that waited: lock 'mu' and return LG_WOKEN or
** LG_TIMEDOUT (having left 'q').
*/
LG_FUNC int lg_waitq_waited (lg_WaitQueue *q, pthread_mutex_t *mu);

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
** lg_waitq_forget_task also marks the task dead (vm/task.h).
*/
LG_FUNC void lg_waitq_forget (lg_WaitNode *n);
LG_FUNC void lg_waitq_forget_task (lg_Task *t);

#endif
