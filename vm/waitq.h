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
** priority-io: whether the blocking call about to begin (LG_BEGIN_BLOCKING
** next) waits, said beforehand, so that the kernel is not asked. 1: it
** will (it got EAGAIN already, say); its thread then asks for the GIL with
** priority when the call ends, even if it did not sleep in the kernel. 0:
** it will not (a send with room in the buffer; one that finds none says 1
** in a bracket of its own); its thread then queues as an ordinary one.
*/
LG_FUNC void lg_blocking_waits (int waits);

/*
** The blocking call about to begin ends by itself, soon, whatever other
** threads do (a write to a file or a terminal, an fopen): under the
** deterministic policy the next holder waits for the caller to come back
** before it decides anything, so that output from threads does not make
** a schedule depend on the OS's timing. No effect under other policies.
*/
LG_FUNC void lg_blocking_brief (void);

/*
** The blocking call about to begin waits for other threads or for time
** (a sleep, a wait queue, a mutex), not for the world outside. Every
** other call that is not brief counts as real I/O (lg_blocking_nreal,
** counted under virtual time only): 'luagil --explore' says that a run
** that did any may replay otherwise.
*/
LG_FUNC void lg_blocking_own (void);
LG_FUNC long lg_blocking_nreal (void);


/*
** {======================================================
** Waiters: what a thread waits in, and what ends its waits
** =======================================================
*/

/*
** The caller's waiter (vm/tstate.h): its task's, else its OS thread's;
** NULL if the thread is not registered.
*/
static inline lg_Waiter *lg_waiter_self (void) {
  lg_TState *ts = lg_tstate_current();
  return ts != NULL ? ts->cur : NULL;
}

/*
** Set the interrupts 'intr' of 'w' (GIL held) and wake it wherever it
** waits: parked on a wait queue or in a sleep, yielded as a task, or in
** a descriptor wait that watches for it (lg_poll). Its wait then ends
** with LG_INTERRUPTED, and the caller raises (lg_breaker_raise_interrupt).
*/
LG_FUNC void lg_waiter_interrupt (lg_Waiter *w, int intr);

/*
** Deadlock detection (lg_IState.deadlocks). With LG_DEADLOCKS_ALL, when
** every thread of the interpreter is blocked in a wait that only another
** of them could end (lg_Wait.dl: no timeout, a luagil object of this
** interpreter) and no other interpreter and no host thread could end it
** either, the main thread's wait ends with LG_INTR_DEADLOCK pending.
** The count is kept by the wait queues: a thread
** counts from the moment it queues until a waker takes it off, so a
** thread that was woken but has not run yet is not blocked. The check
** runs when a thread queues, and when one ends (lg_waitq_check).
** LG_DEADLOCKS_CYCLE is stdlib/'s: a wait that would close a cycle of
** owners raises in the thread that makes it.
*/
#define LG_DEADLOCKS_ALL    1
#define LG_DEADLOCKS_CYCLE  2

/* A thread of 'I' has ended (GIL held): is every thread left blocked? */
LG_FUNC void lg_waitq_check (lg_IState *I);

/*
** A sleep of the calling thread (GIL held) until 'deadline', a deadline
** of the virtual clock (vm/clock.h, lg_vdeadline): blocked until every
** thread is, and the clock reaches it. LG_TIMEDOUT, or LG_INTERRUPTED.
*/
LG_FUNC int lg_waitq_vsleep (const struct timespec *deadline);

/* fork(): the sleepers' mutex is held across it; the child forgets every
** sleeper, the forking thread among them none (it holds the GIL). */
LG_FUNC void lg_waitq_atfork (int phase);

/* How many threads of 'I' are blocked so (GIL held, for threading). */
LG_FUNC int lg_waitq_nblocked (lg_IState *I);

/* }====================================================== */


/* A FIFO of parked threads, guarded by its owner's mutex. */
typedef struct lg_WaitQueue {
  lg_WaitNode *head, *tail;
} lg_WaitQueue;

/*
** Wait on 'q' until woken by lg_waitq_wake_locked, the deadline, Ctrl-C
** (main thread) or an interrupt of the caller's waiter (it returns
** LG_INTERRUPTED then, also at once if one is pending already). Called
** with 'mu' locked and the GIL held; returns with both held again.
** Releases the GIL while parked. Never returns spuriously. The caller's
** lg_Wait says what it waits in (filled before, cleared after).
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
** In 'k', on the task that waited: lock 'mu' and return LG_WOKEN,
** LG_TIMEDOUT or LG_INTERRUPTED (having left 'q').
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
