/*
** vm/park.c -- parking threads and wait queues.
** See LICENSE for copyright and licence (MIT).
**
** A parked thread sleeps on its token: a futex word, or for the main thread
** an eventfd watched together with the Ctrl-C eventfd. lg_unpark sets the
** token before it wakes the sleeper, so a wake that comes before the park
** is never lost; a token left over from a wait that timed out at the same
** moment makes one later park return early, which callers tolerate.
*/

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "breaker.h"
#include "gil.h"
#include "park.h"
#include "stats.h"
#include "task.h"

#define SPIN_NS  50000L    /* how long a parker spins before it sleeps */
#define SHORT_NS  200000L  /* a park woken sooner makes the next one spin */


/*
** {======================================================
** Clock and deadlines
** =======================================================
*/

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


/* }====================================================== */


/*
** {======================================================
** Parking
** =======================================================
*/

static int deadline_passed (const struct timespec *deadline) {
  struct timespec left;
  return deadline != NULL && !lg_timeleft(deadline, &left);
}


/* The main thread: poll its eventfd and the Ctrl-C eventfd. */
static int park_fd (lg_TState *ts, const struct timespec *deadline,
                    int intr) {
  int fd = atomic_load(&ts->park_fd);
  struct pollfd fds[2] = {
    {fd, POLLIN, 0}, {lg_breaker_sigint_fd(), POLLIN, 0}};
  struct timespec left;
  for (;;) {
    if (intr && lg_breaker_sigint_pending())
      return LG_INTERRUPTED;
    if (deadline != NULL && !lg_timeleft(deadline, &left))
      return LG_TIMEDOUT;
    int n = ppoll(fds, intr ? 2 : 1, deadline ? &left : NULL, NULL);
    if (n < 0 && errno != EINTR)
      lg_fatal("ppoll", errno);
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t drain;
      while (read(fd, &drain, sizeof drain) < 0 && errno == EINTR)
        ;
      return LG_WOKEN;
    }
  }
}


static int park_futex (lg_TState *ts, const struct timespec *deadline) {
  for (;;) {
    long r = syscall(SYS_futex, &ts->park_token,
                     FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, deadline,
                     NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno == EAGAIN)  /* woken, or the token was already set */
      return LG_WOKEN;
    if (errno == ETIMEDOUT)
      return LG_TIMEDOUT;
    if (errno != EINTR)
      lg_fatal("futex wait", errno);
    if (atomic_load(&ts->park_token))
      return LG_WOKEN;
  }
}


/*
** The number of CPUs this process may run on: its affinity mask, not the
** machine's count, so that 'taskset -c 0' means one.
*/
int lg_usable_cpus (void) {
  static atomic_int ncpu;  /* 0 until first known */
  int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
  if (n == 0) {
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    atomic_store_explicit(&ncpu, n > 0 ? n : 1, memory_order_relaxed);
  }
  return n;
}


/*
** Before it sleeps, a parker spins for a few microseconds: a wake-up that
** comes that soon (a handoff between two busy cores) then costs no trip
** through the scheduler, which on a virtual machine is tens of
** microseconds. With one usable CPU the thread that would wake us cannot
** run while we spin: no spinning then. At most one CPU fewer than usable
** spin at once, so that many parking threads do not burn the CPU the
** waker needs; and a thread spins only if its last park was woken soon
** (a ping-pong does, a thread waiting long for an event does not).
*/
static atomic_int spinners;

static int spinwait (lg_TState *ts, const struct timespec *deadline) {
  struct timespec end, left;
  int got = 0, ncpu = lg_usable_cpus();
  if (ncpu < 2)
    return 0;
  if (atomic_fetch_add(&spinners, 1) >= ncpu - 1) {
    atomic_fetch_sub(&spinners, 1);
    return 0;
  }
  lg_deadline_within(SPIN_NS * 1e-9, deadline, &end);  /* never spin past
                                                          the deadline */
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (atomic_load_explicit(&ts->park_token, memory_order_relaxed)) {
        got = atomic_exchange(&ts->park_token, 0);
        goto done;
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (!lg_timeleft(&end, &left))
      break;
  }
done:
  atomic_fetch_sub(&spinners, 1);
  return got;
}


int lg_park (lg_TState *ts, const struct timespec *deadline, int flags) {
  int saved = errno;
  int r = LG_WOKEN;
  long t0;
  if (atomic_exchange(&ts->park_token, 0))
    return LG_WOKEN;
  t0 = lg_now_ns();
  if (!((flags & LG_PARK_SPIN) && ts->spin && spinwait(ts, deadline))) {
    if (atomic_load(&ts->park_fd) >= 0)
      r = park_fd(ts, deadline, !(flags & LG_PARK_NOINTR));
    else
      r = park_futex(ts, deadline);
    if (r == LG_WOKEN && !atomic_exchange(&ts->park_token, 0))
      r = deadline_passed(deadline) ? LG_TIMEDOUT : LG_WOKEN;  /* spurious */
  }
  if (r == LG_WOKEN)
    ts->spin = lg_now_ns() - t0 < SHORT_NS;
  errno = saved;
  return r;
}


void lg_unpark (lg_TState *ts) {
  int saved = errno;
  int fd = atomic_load(&ts->park_fd);  /* before the token: lg_waitq_wait */
  atomic_store(&ts->park_token, 1);
  if (fd >= 0) {
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
      ;
  }
  else
    syscall(SYS_futex, &ts->park_token, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
            NULL, NULL, 0);
  errno = saved;
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
** the timer, or a waker, puts it back on a worker, which runs 'k'. The
** GIL orders the two halves: the task still holds it when it queues, and
** a waker or the worker that runs 'k' must have it.
*/
static int task_wait (lua_State *L, lg_Task *t, lg_WaitQueue *q,
                      pthread_mutex_t *mu, const struct timespec *deadline,
                      lua_KFunction k) {
  lg_task_arm(t, deadline);
  enqueue(q, &t->wq);
  lg_check(pthread_mutex_unlock(mu));
  return lua_yieldk(L, 0, 0, k);
}


int lg_task_waited (lg_WaitQueue *q, pthread_mutex_t *mu) {
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
      lg_gil_expect(ts);  /* deterministic policy: it will want the GIL */
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
