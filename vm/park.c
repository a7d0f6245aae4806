/*
** vm/park.c -- parking threads, and polling descriptors against Ctrl-C.
** See LICENSE for copyright and licence (MIT).
**
** A parked thread sleeps on its token: a futex word, or for the main thread
** an eventfd watched together with the Ctrl-C eventfd. The token is
** NONE, SET (a wake-up is due) or ASLEEP (the parker is about to sleep,
** or sleeps). lg_unpark sets it before it wakes the sleeper, so a wake
** that comes before the park is never lost; and it makes the system call
** that wakes a sleeper only if the token was ASLEEP: a parker that spins
** (a handoff between two busy cores) sees the token change, and its
** waker saves a futex wake or an eventfd write, about a microsecond.
** A waker that saw ASLEEP just as the sleep timed out wakes nobody, or
** leaves the eventfd readable: that makes one later park return early,
** which callers tolerate.
*/

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "park.h"
#include "sigint.h"

#define NONE    0u
#define SET     1u
#define ASLEEP  2u

#define SPIN_NS  50000L    /* how long a parker spins before it sleeps */
#define SHORT_NS  200000L  /* a park woken sooner makes the next one spin */


/*
** {======================================================
** Polling
** =======================================================
*/

/* A readable Ctrl-C descriptor with no Ctrl-C pending is left over from
** one that was taken meanwhile (lg_sigint_take): drain it, or every poll
** would return at once. */
static int interrupted (void) {
  uint64_t drain;
  if (lg_sigint_pending())
    return 1;
  while (read(lg_sigint_fd(), &drain, sizeof drain) > 0)
    ;
  return lg_sigint_pending();  /* one may have come as we drained */
}


static int poll_signo;  /* set once, before any thread polls */


void lg_poll_setsignal (int signo) {
  poll_signo = signo;
}


/*
** With LG_POLL_CANCEL, the signal that lg_waiter_interrupt sends is
** blocked while the poll looks at the interrupts, and ppoll unblocks it
** for the sleep alone: one sent between the look and the sleep is then
** delivered as the sleep begins, and ends it (EINTR).
*/
int lg_poll (struct pollfd *fds, int n, const struct timespec *deadline,
             int intr) {
  int watch = (intr & LG_POLL_SIGINT) && lg_sigint_fd() >= 0;
  lg_TState *ts = (intr & LG_POLL_CANCEL) && poll_signo > 0
                  ? lg_tstate_current() : NULL;
  sigset_t saved, sleeping;
  int r;
  fds[n].fd = watch ? lg_sigint_fd() : -1;  /* poll skips a negative one */
  fds[n].events = POLLIN;
  fds[n].revents = 0;
  if (ts != NULL) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, poll_signo);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    sleeping = saved;
    sigdelset(&sleeping, poll_signo);
  }
  for (;;) {
    struct timespec left;
    int more = 1, got;
    if ((watch && lg_sigint_pending()) ||
        (ts != NULL && lg_waiter_interrupted(ts->cur))) {
      r = LG_INTERRUPTED;
      break;
    }
    if (deadline != NULL)
      more = lg_timeleft(deadline, &left);  /* 0 once passed: poll once */
    got = ppoll(fds, (nfds_t)n + 1, deadline != NULL ? &left : NULL,
                ts != NULL ? &sleeping : NULL);
    if (got < 0) {
      if (errno != EINTR) {
        r = -1;
        break;
      }
      continue;
    }
    if (watch && (fds[n].revents & POLLIN) && interrupted()) {
      r = LG_INTERRUPTED;
      break;
    }
    r = LG_WOKEN;
    for (int i = 0; i < n; i++)
      if (fds[i].revents != 0)
        goto done;
    if (!more || (got == 0 && deadline != NULL)) {
      r = LG_TIMEDOUT;
      break;
    }
  }
done:
  if (ts != NULL) {
    int saved_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    errno = saved_errno;
  }
  return r;
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
  struct pollfd fds[2] = {{fd, POLLIN, 0}};
  int r = lg_poll(fds, 1, deadline, intr);
  if (r < 0)
    lg_fatal("ppoll", errno);
  if (r == LG_WOKEN) {
    uint64_t drain;
    while (read(fd, &drain, sizeof drain) < 0 && errno == EINTR)
      ;
  }
  return r;
}


/* The token is ASLEEP until a waker sets it. */
static int park_futex (lg_TState *ts, const struct timespec *deadline) {
  for (;;) {
    long r = syscall(SYS_futex, &ts->park_token,
                     FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, ASLEEP,
                     deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0 || errno == EAGAIN)  /* woken, or the token was already set */
      return LG_WOKEN;
    if (errno == ETIMEDOUT)
      return LG_TIMEDOUT;
    if (errno != EINTR)
      lg_fatal("futex wait", errno);
    if (atomic_load(&ts->park_token) != ASLEEP)
      return LG_WOKEN;
  }
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
** A thread that finds no free slot looks again for a moment: in a
** ping-pong the other thread, which it has just woken, is on its way out
** of the slot.
*/
#define SLOT_TRIES  32  /* pauses: about a microsecond */

static atomic_int spinners;

static void cpu_pause (void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}


/* 1 if the caller took a spinner's slot; -1 if its token came first */
static int spinslot (lg_TState *ts, int ncpu) {
  for (int i = 0; i < SLOT_TRIES; i++) {
    if (atomic_load_explicit(&spinners, memory_order_relaxed) < ncpu - 1) {
      if (atomic_fetch_add(&spinners, 1) < ncpu - 1)
        return 1;
      atomic_fetch_sub(&spinners, 1);
    }
    if (atomic_load_explicit(&ts->park_token, memory_order_relaxed))
      return -1;
    cpu_pause();
  }
  return 0;
}


static int spinwait (lg_TState *ts, const struct timespec *deadline) {
  struct timespec end, left;
  int got = 0, ncpu = lg_usable_cpus(), slot;
  if (ncpu < 2)
    return 0;
  slot = spinslot(ts, ncpu);
  if (slot <= 0)
    return slot < 0 && atomic_exchange(&ts->park_token, NONE) == SET;
  lg_deadline_within(SPIN_NS * 1e-9, deadline, &end);  /* never spin past
                                                          the deadline */
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (atomic_load_explicit(&ts->park_token, memory_order_relaxed)) {
        got = atomic_exchange(&ts->park_token, NONE) == SET;
        goto done;
      }
      cpu_pause();
    }
    if (!lg_timeleft(&end, &left))
      break;
  }
done:
  atomic_fetch_sub(&spinners, 1);
  return got;
}


/*
** Back from a sleep that ended with 'r': the token is ASLEEP again, or
** SET, which a wake-up takes; a timeout or a Ctrl-C leaves it SET for the
** next park, as it was before the park began.
*/
static int awake (lg_TState *ts, const struct timespec *deadline, int r) {
  unsigned asleep = ASLEEP;
  if (atomic_compare_exchange_strong(&ts->park_token, &asleep, NONE))
    return r == LG_WOKEN && deadline_passed(deadline) ? LG_TIMEDOUT : r;
  if (r == LG_WOKEN)
    atomic_store(&ts->park_token, NONE);
  return r;
}


int lg_park (lg_TState *ts, const struct timespec *deadline, int flags) {
  int saved = errno;
  int r = LG_WOKEN;
  unsigned none = NONE;
  if (atomic_exchange(&ts->park_token, NONE) == SET)
    return LG_WOKEN;
  if ((flags & LG_PARK_SPIN) && ts->spin && spinwait(ts, deadline))
    return LG_WOKEN;  /* soon: the next park spins too (no clock read) */
  if (!atomic_compare_exchange_strong(&ts->park_token, &none, ASLEEP)) {
    atomic_store(&ts->park_token, NONE);  /* SET as we spun or looked */
    ts->spin = 1;
  }
  else {
    long t0 = lg_now_ns();
    if (atomic_load(&ts->park_fd) >= 0)
      r = park_fd(ts, deadline, !(flags & LG_PARK_NOINTR));
    else
      r = park_futex(ts, deadline);
    r = awake(ts, deadline, r);
    if (r == LG_WOKEN)  /* the spin, if any, took at most SPIN_NS */
      ts->spin = lg_now_ns() - t0 < SHORT_NS - SPIN_NS;
  }
  errno = saved;
  return r;
}


static inline void unpark (lg_TState *ts, int always) {
  int saved = errno;
  int fd = atomic_load(&ts->park_fd);  /* before the token: lg_waitq_wait */
  if (atomic_exchange(&ts->park_token, SET) != ASLEEP && !always)
    ;  /* it spins, or has not parked yet: it will see the token */
  else if (fd >= 0) {
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
      ;
  }
  else
    syscall(SYS_futex, &ts->park_token, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
            NULL, NULL, 0);
  errno = saved;
}


void lg_unpark (lg_TState *ts) {
  unpark(ts, 0);
}


void lg_unpark_post (lg_TState *ts) {
  unpark(ts, 1);
}


int lg_parked (lg_TState *ts) {
  return atomic_load(&ts->park_token) == ASLEEP;
}

/* }====================================================== */
