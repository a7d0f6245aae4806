/*
** vm/waitq.c -- the blocking bracket, wait queues, and the deadlock
** detector that counts their blocked threads.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Deadlocks. A thread that queues for a wait that only another thread of
** its interpreter can end (lg_Wait.dl, filled by stdlib/ before it
** waits: no timeout, a luagil Lock, Condition, Semaphore, Event, Queue or
** a join) marks its node 'counted' and adds one to the interpreter's
** 'nblocked' (kept in its GIL: lg_gil_nblocked); whoever takes the node
** off the queue (a waker, the thread itself after an interrupt, a fork)
** takes the one away, with an atomic exchange of 'counted', so exactly
** once. Queueing and waking happen with the GIL held, so under the GIL
** 'nblocked' is exact, and when it equals the number of the
** interpreter's threads (its main thread and the tasks 'nthreads'
** counts) nothing in the interpreter can run again: the main
** thread is interrupted with LG_INTR_DEADLOCK and raises. A thread that
** sleeps, waits with a timeout, or for I/O never counts, so no report is
** made while it could still wake the others; nor while another
** interpreter is open (it could put into a shared queue) or a host thread
** ever registered (it may call in at any time). Wakers without the GIL
** (interpreters' queues, hosts) only ever wake waits that never count.
**
** Virtual time (vm/clock.h, under the deterministic policy). A timed wait
** or a sleep whose deadline is on the virtual clock parks without a
** timeout, on the list of sleepers (vmutex), and counts as blocked: only
** the clock or another thread can end it. When every thread is blocked
** and some sleep, the clock jumps to the earliest deadline and every
** sleeper due then is woken (vfired), uncounted and awaited
** (lg_gil_expect), all under the GIL, so who runs next is the policy's
** choice as for any other wake-up. The thread that moves the clock may be
** due itself: it holds the GIL and cannot be awaited yet, so its drop is
** brief (lg_blocking_brief): it hands off, then is awaited, or the next
** holder's choices would depend on whether it had queued yet. Only when
** nobody sleeps is it a deadlock.
*/

#include <stddef.h>

#include "breaker.h"
#include "clock.h"
#include "gil.h"
#include "park.h"
#include "sigint.h"
#include "task.h"
#include "waitq.h"


/*
** {======================================================
** The blocking bracket
** =======================================================
*/

static atomic_long nreal;  /* blocking calls on the world outside */


lg_TState *lg_blocking_begin (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL) {
    if (!ts->brief && !ts->ownwait && lg_clock_isvirtual())  /* only
      --explore asks, and a shared counter costs I/O-bound threads */
      atomic_fetch_add_explicit(&nreal, 1, memory_order_relaxed);
    ts->ownwait = 0;
    if (ts->task != NULL)  /* its worker is no use to the ready queue */
      lg_task_blocking(ts->task, 1);
    atomic_store_explicit(&ts->blocking, 1, memory_order_relaxed);
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
  atomic_store_explicit(&ts->blocking, 0, memory_order_relaxed);
}


void lg_blocking_own (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL)
    ts->ownwait = 1;
}


long lg_blocking_nreal (void) {
  return atomic_load(&nreal);
}


void lg_blocking_brief (void) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL)
    lg_gil_will_be_brief(ts);
}


void lg_blocking_waits (int waits) {
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL)
    lg_gil_will_wait(ts, waits);
}

/* }====================================================== */


/*
** {======================================================
** Waiters and the deadlock detector
** =======================================================
*/

/* The node 'n' no longer counts as blocked (see the notes above). */
static void uncount (lg_WaitNode *n) {
  lg_IState *I = atomic_exchange(&n->counted, NULL);
  if (I != NULL)
    atomic_fetch_sub(lg_gil_nblocked(I), 1);
}


#define taskof(w)  ((lg_Task *)((char *)(w) - offsetof(lg_Task, waiter)))

/*
** A task's waiter that is on no OS thread has yielded (or is ready to
** run again): its own node is the one queued. Otherwise the OS thread
** it runs on parks with that thread's node, or sleeps, or polls: a
** cancellation also sends it the request signal, which ends a poll
** (vm/park.h, LG_POLL_CANCEL). That thread cannot end meanwhile: it is
** inside LG_BEGIN_BLOCKING, and needs the GIL, which the caller holds, to
** leave. If it is waiting for the GIL instead, it arms its hook once it
** has it (vm/gil.c, running()); if it is the caller, it arms it now.
*/
void lg_waiter_interrupt (lg_Waiter *w, int intr) {
  lg_TState *ts = atomic_load(&w->ts);
  atomic_fetch_or(&w->intr, intr);
  if (!lg_waiter_interrupted(w))
    return;  /* shielded: the shield's end raises */
  if (ts == NULL) {
    lg_Task *t = taskof(w);
    uncount(&t->wq);
    lg_task_wake(t);  /* nothing if it is not asleep */
  }
  else {
    uncount(&ts->wq);
    lg_unpark(ts);
    if (intr & LG_INTR_CANCEL) {
      if (ts == lg_tstate_current())
        lg_breaker_arm_self(ts);
      else if (atomic_load(&ts->blocking))
        lg_breaker_signal(ts);
    }
  }
}


/* The sleepers of virtual time (see the notes), linked by vnext. */
static pthread_mutex_t vmutex = PTHREAD_MUTEX_INITIALIZER;
static lg_TState *vsleepers;


static void vsleep_begin (lg_TState *ts, long deadline) {
  ts->vdeadline = deadline;
  atomic_store(&ts->vfired, 0);
  lg_check(pthread_mutex_lock(&vmutex));
  ts->vnext = vsleepers;
  vsleepers = ts;
  lg_check(pthread_mutex_unlock(&vmutex));
}


static void vsleep_end (lg_TState *ts) {
  lg_check(pthread_mutex_lock(&vmutex));
  for (lg_TState **p = &vsleepers; *p != NULL; p = &(*p)->vnext)
    if (*p == ts) {
      *p = ts->vnext;
      break;
    }
  lg_check(pthread_mutex_unlock(&vmutex));
  ts->vnext = NULL;
}


void lg_waitq_atfork (int phase) {
  lg_mutex_atfork(&vmutex, phase);
  if (phase == LG_FORK_CHILD)  /* nobody else runs, or sleeps */
    vsleepers = NULL;
}


/*
** Every thread of 'I' is blocked: move the virtual clock to the earliest
** deadline of its sleepers and wake those due. Returns 0 if none sleeps.
*/
static int advance (lg_IState *I) {
  long best = 0;
  int found = 0, n;
  lg_TState *due[32];
  lg_check(pthread_mutex_lock(&vmutex));
  for (lg_TState *s = vsleepers; s != NULL; s = s->vnext)
    if (s->interp == I && !atomic_load(&s->vfired) &&
        (!found || s->vdeadline < best)) {
      best = s->vdeadline;
      found = 1;
    }
  lg_check(pthread_mutex_unlock(&vmutex));
  if (!found)
    return 0;
  lg_gil_checktime(I, best - lg_clock_vstart());  /* maybe no return */
  lg_clock_vset(best);
  do {  /* a few at a time: no other mutex is taken while vmutex is held */
    n = 0;
    lg_check(pthread_mutex_lock(&vmutex));
    for (lg_TState *s = vsleepers; s != NULL && n < 32; s = s->vnext)
      if (s->interp == I && !atomic_load(&s->vfired) &&
          s->vdeadline <= best) {
        atomic_store(&s->vfired, 1);
        due[n++] = s;
      }
    lg_check(pthread_mutex_unlock(&vmutex));
    for (int i = 0; i < n; i++) {  /* states are never freed */
      uncount(&due[i]->wq);
      if (due[i] == lg_tstate_current())  /* the caller, due itself, */
        lg_gil_will_be_brief(due[i]);  /* drops and retakes at once */
      else
        lg_gil_expect(I, due[i]);
      lg_unpark(due[i]);
    }
  } while (n == 32);
  return 1;
}


/* Is every thread of 'I' blocked for good? (GIL held) Under virtual
** time, sleepers are woken instead if there are any. */
static int deadlocked (lg_IState *I) {
  int all = atomic_load(lg_gil_nblocked(I)) == 1 + atomic_load(&I->nthreads);
  if (all && lg_clock_isvirtual() && !lg_gil_finalizing(I) && advance(I))
    return 0;  /* else nobody slept: the count is as it was */
  return all && (atomic_load(&I->deadlocks) & LG_DEADLOCKS_ALL) &&
         !lg_sigint_pending() &&  /* that ends the main thread's wait */
         !lg_tstate_hosts() && lg_istate_nlive() == 1 &&
         !lg_gil_finalizing(I);
}


/* Tell the main thread, which is blocked like every other, to raise. */
static void report_deadlock (lg_IState *I) {
  lg_TState *main = lg_tstate_main(I);
  if (main != NULL && main->task == NULL)
    lg_waiter_interrupt(&main->self, LG_INTR_DEADLOCK);
}


/* 'n' of a thread of 'I' begins a wait that counts as blocked. */
static void count (lg_IState *I, lg_WaitNode *n) {
  atomic_store(&n->counted, I);
  atomic_fetch_add(lg_gil_nblocked(I), 1);
  if (deadlocked(I))
    report_deadlock(I);
}


void lg_waitq_check (lg_IState *I) {
  if (deadlocked(I))
    report_deadlock(I);
}


int lg_waitq_nblocked (lg_IState *I) {
  return atomic_load(lg_gil_nblocked(I));
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
  uncount(n);
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


/* A wait of 'w' ended with 'r': keep what an interrupt ended. */
static int ended (lg_Waiter *w, int r) {
  if (r == LG_INTERRUPTED)
    w->ended = w->wait;
  return r;
}


/* Queue 'n' of the caller ('w', in 'I') on 'q' for a wait that ends at
** 'deadline'; counted blocked if only another thread can end it. */
static void queue_up (lg_IState *I, lg_Waiter *w, lg_WaitQueue *q,
                      lg_WaitNode *n, const struct timespec *deadline,
                      int virt) {
  enqueue(q, n);
  if (virt || (deadline == NULL && w->wait.dl))
    count(I, n);
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
  lg_Waiter *w = ts->cur;
  int r = LG_INTERRUPTED;
  struct timespec passed = {0, 0};
  int virt = deadline != NULL && lg_clock_isvirtual();
  LG_ASSERT(lg_mutex_held(mu) && lg_gil_held(ts));
  if (lg_waiter_interrupted(w))  /* level-triggered: raise again */
    return ended(w, r);
  if (virt && lg_timespec_ns(deadline) <= lg_clock_vnow())
    deadline = &passed;  /* a poll: the real clock has passed it too */
  else if (virt)
    vsleep_begin(ts, lg_timespec_ns(deadline));  /* see the notes */
  virt = virt && deadline != &passed;
  queue_up(ts->interp, w, q, &ts->wq, virt ? NULL : deadline, virt);
  lg_check(pthread_mutex_unlock(mu));
  ts->ownwait = 1;
  LG_BEGIN_BLOCKING
  /* until woken, timed out or interrupted; no mutex is touched here */
  while (atomic_load(&ts->wq.on) == q) {
    if (lg_waiter_interrupted(w)) {
      r = LG_INTERRUPTED;
      break;
    }
    if (virt && atomic_load(&ts->vfired)) {
      r = LG_TIMEDOUT;
      break;
    }
    r = lg_park(ts, virt ? NULL : deadline, LG_PARK_SPIN);
    if (r != LG_WOKEN)
      break;
  }
  LG_END_BLOCKING
  if (virt)
    vsleep_end(ts);
  return ended(w, left(q, &ts->wq, mu, r));
}


int lg_waitq_vsleep (const struct timespec *deadline) {
  lg_TState *ts = lg_tstate_current();
  int r = LG_TIMEDOUT;
  if (lg_timespec_ns(deadline) <= lg_clock_vnow())
    return r;
  vsleep_begin(ts, lg_timespec_ns(deadline));
  count(ts->interp, &ts->wq);
  ts->ownwait = 1;
  LG_BEGIN_BLOCKING
  while (!atomic_load(&ts->vfired)) {
    if (lg_waiter_interrupted(ts->cur) ||
        lg_park(ts, NULL, 0) == LG_INTERRUPTED) {  /* Ctrl-C, say */
      r = LG_INTERRUPTED;
      break;
    }
  }
  LG_END_BLOCKING
  vsleep_end(ts);
  uncount(&ts->wq);
  return r;
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
  queue_up(t->interp, &t->waiter, q, &t->wq, deadline, 0);
  lg_check(pthread_mutex_unlock(mu));
  return lua_yieldk(L, 0, 0, k);
}


/* A yielded task that is still queued was not woken: its deadline
** passed, or it was interrupted (lg_waiter_interrupt). */
int lg_waitq_waited (lg_WaitQueue *q, pthread_mutex_t *mu) {
  lg_Task *t = lg_tstate_current()->task;
  return ended(&t->waiter,
               left(q, &t->wq, mu, lg_waiter_interrupted(&t->waiter)
                                   ? LG_INTERRUPTED : LG_TIMEDOUT));
}


int lg_waitq_once (lua_State *L, lg_WaitQueue *q, pthread_mutex_t *mu,
                   const struct timespec *deadline, lua_KFunction k) {
  lg_Task *t = lg_task_yieldable(L);
  if (t != NULL && !lg_waiter_interrupted(&t->waiter))
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
