/*
** vm/waitq.c -- the blocking bracket and wait queues.
** See LICENSE for copyright and licence (MIT).
*/

#include "gil.h"
#include "park.h"
#include "task.h"
#include "waitq.h"


/*
** {======================================================
** The blocking bracket
** =======================================================
*/

lg_TState *lg_blocking_begin (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL) {
    if (ts->task != NULL)  /* its worker is no use to the ready queue */
      lg_task_blocking(ts->task, 1);
    lg_gil_blocking_drop(ts);
  }
  return ts;
}


void lg_blocking_end (lg_TState *ts) {
  if (ts == NULL)
    return;
  if (ts->task != NULL)
    lg_task_blocking(ts->task, -1);  /* an atomic add: errno is kept */
  lg_gil_blocking_take(ts);
}


void lg_blocking_waited (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL)
    lg_gil_will_wait(ts);
}

/* }====================================================== */


/*
** {======================================================
** Wait queues
** =======================================================
*/

static void enqueue (lg_WaitQueue *q, lg_WaitNode *n) {
  atomic_store(&n->on, q);
  n->next = NULL;
  n->prev = q->tail;
  if (q->tail)
    q->tail->next = n;
  else
    q->head = n;
  q->tail = n;
}


static void dequeue (lg_WaitQueue *q, lg_WaitNode *n) {
  if (n->prev)
    n->prev->next = n->next;
  else
    q->head = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    q->tail = n->prev;
  n->next = n->prev = NULL;
  atomic_store(&n->on, NULL);  /* last: the waiter reads it unlocked */
}


void lg_waitq_forget (lg_WaitNode *n) {
  lg_WaitQueue *q = atomic_load(&n->on);
  if (q != NULL)
    dequeue(q, n);
}


void lg_waitq_forget_task (lg_Task *t) {
  lg_task_forget(t);
  lg_waitq_forget(&t->wq);  /* no waker may count it as woken */
}


/*
** Back from a wait on 'q' that ended with 'r': lock 'mu', leave 'q' if
** still on it, and say whether a waker chose 'n'.
*/
static int left (lg_WaitQueue *q, lg_WaitNode *n, pthread_mutex_t *mu,
                 int r) {
  lg_check(pthread_mutex_lock(mu));
  if (atomic_load(&n->on) == q)  /* timed out or interrupted: leave */
    dequeue(q, n);
  else
    r = LG_WOKEN;  /* a waker chose us, maybe just as we timed out */
  return r;
}


/*
** The queue entry says whether we were woken: a waker dequeues before it
** unparks, so "no longer queued" means "woken", whatever the park said.
** A waiter sees that in the atomic 'wq.on' without taking 'mu', which its
** waker still holds while it unparks: taking it there would cost a second
** sleep. The waker may then store the token into our state after we left;
** states are never freed (vm/tstate.c), so that only leaves a stray token.
** A waiter that timed out takes the GIL back before it touches 'mu' to
** leave the queue: 'mu' may be Lua-owned memory, and after shutdown a
** thread that wants the GIL parks for ever instead of touching it.
** Lock order: the GIL may be held while taking 'mu', never the reverse, so
** the GIL is dropped and retaken with 'mu' unlocked.
** A waker that holds the GIL does not wake us: it queues us for the GIL
** (lg_gil_wake_into), so the park ends only when the GIL is handed to us,
** one wake-up instead of two, and LG_END_BLOCKING finds the GIL ours.
*/
int lg_waitq_wait (lg_WaitQueue *q, pthread_mutex_t *mu,
                   const struct timespec *deadline) {
  lg_TState *ts = lg_tstate_current();
  int r;
  LG_ASSERT(lg_mutex_held(mu) && lg_gil_held(ts));
  enqueue(q, &ts->wq);
  lg_check(pthread_mutex_unlock(mu));
  LG_BEGIN_BLOCKING
  do  /* until woken, timed out or interrupted; no mutex is touched here */
    r = lg_park(ts, deadline, LG_PARK_SPIN);
  while (r == LG_WOKEN && atomic_load(&ts->wq.on) == q);
  LG_END_BLOCKING
  return left(q, &ts->wq, mu, r);
}


/*
** A task waits the same way, but yields instead of parking (vm/task.h):
** the monitor, or a waker, puts it back on a worker, which runs 'k'. The
** GIL orders the two halves: the task still holds it when it queues, and
** a waker or the worker that runs 'k' must have it.
*/
static int task_wait (lua_State *L, lg_Task *t, lg_WaitQueue *q,
                      pthread_mutex_t *mu, const struct timespec *deadline,
                      lua_KFunction k) {
  LG_ASSERT(lg_mutex_held(mu) && lg_gil_held(lg_tstate_current()));
  lg_task_arm(t, deadline);
  enqueue(q, &t->wq);
  lg_check(pthread_mutex_unlock(mu));
  return lua_yieldk(L, 0, 0, k);
}


int lg_waitq_waited (lg_WaitQueue *q, pthread_mutex_t *mu) {
  return left(q, &lg_tstate_current()->task->wq, mu, LG_TIMEDOUT);
}


int lg_waitq_once (lua_State *L, lg_WaitQueue *q, pthread_mutex_t *mu,
                   const struct timespec *deadline, lua_KFunction k) {
  lg_Task *t = lg_task_yieldable(L);
  if (t != NULL)
    return task_wait(L, t, q, mu, deadline, k);
  return lg_waitq_wait(q, mu, deadline);
}


int lg_waitq_wake_locked (lg_WaitQueue *q, int n) {
  int woken = 0;
  while (q->head != NULL && (n < 0 || woken < n)) {
    lg_WaitNode *node = q->head;
    lg_TState *ts = node->ts;
    dequeue(q, node);
    if (node->task != NULL)
      lg_task_wake(node->task);
    else if (!lg_gil_wake_into(ts)) {
      lg_gil_expect(ts->interp, ts);  /* deterministic policy: it will
                                         want the GIL */
      lg_unpark(ts);
    }
    woken++;
  }
  return woken;
}


int lg_waitq_wake (lg_WaitQueue *q, pthread_mutex_t *mu, int n) {
  int woken;
  lg_check(pthread_mutex_lock(mu));
  woken = lg_waitq_wake_locked(q, n);
  lg_check(pthread_mutex_unlock(mu));
  return woken;
}

/* }====================================================== */
