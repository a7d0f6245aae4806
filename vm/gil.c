/*
** vm/gil.c -- the global interpreter lock.
** See LICENSE for copyright and licence (MIT).
**
** Floor 3 of vm/ (docs/ARCHITECTURE.md), paired with vm/breaker.c.
**
** The protocol in five minutes
**
** State: 'holder' (NULL while the GIL is free) and a FIFO of waiting
** threads (linked by lg_TState.gil_next), both guarded by gil.mutex, the
** innermost mutex of luagil. A waiter parks on its own token
** (vm/park.c), so each handoff wakes exactly one thread. Transitions, and
** the function that makes each:
**
**   released -> running    take(): lg_gil_take, and lg_gil_blocking_take
**                          after a blocking call. Free: grant_locked.
**                          Busy: queue (enter_queue_locked) and park in
**                          wait_locked until a handoff names us holder.
**   running -> released    lg_gil_drop = lg_gil_pause + lg_gil_release.
**                          handoff_locked picks the next waiter, makes it
**                          the holder, and it is unparked once gil.mutex
**                          is let go: nobody can barge in between.
**   running -> running'    the handoff itself: the holder never becomes
**                          NULL while someone waits (but see 'ticks').
**   running -> waiting     lg_gil_yield, for a drop request or a counting
**     -> running           policy: hand off and queue up again under one
**                          lock, so the yielder is last in line (forced
**                          switching, and fairness).
**   pause / unpause        lg_gil_pause, lg_gil_unpause: a worker that
**                          switches tasks (vm/task.c) keeps the GIL; the
**                          thread-level record changes, the holder not.
**   wake-into              lg_gil_wake_into: a thread that holds the GIL
**                          and wakes a parked waiter of a wait queue
**                          queues it for the GIL instead of unparking it;
**                          the handoff that grants it the GIL wakes it,
**                          once ('interval' only).
**   blocking bracket       lg_gil_blocking_drop / lg_gil_blocking_take,
**                          called by vm/waitq.c's LG_BEGIN_BLOCKING and
**                          LG_END_BLOCKING around every blocking call.
**
** The in_lua handshake with the eval breaker (vm/breaker.c). A drop
** request is an atomic flag plus a signal to the holder's OS thread; the
** handler arms a count hook on the state the thread runs, and the hook
** yields. The handler arms only while lg_TState.in_lua is 1, which the
** holder sets when it runs Lua holding the GIL (running()) and clears
** when it pauses: a late signal must not touch a state that the thread no
** longer runs (the next holder's collector may be freeing it). A request
** or a Ctrl-C that came while in_lua was 0 is seen by running(), which
** arms the hook itself; so is a cancellation of the thread (vm/waitq.c).
**
** The timer. One thread (vm/service.h; started when a thread first
** queues) times the holder for the head of the queue: once the head has
** waited a whole switch interval without a switch, it raises the drop
** request. While the holder does not answer (a request can be lost, the
** holder may be in a long C call, or under preempt=safe just leaving the
** hook) it signals again after 100 us, then after 1, 2, 4, ... 8
** intervals. Waiters of 'interval' park without a timeout (Ruby's design;
** in CPython every waiter times out each interval); priority-io's asking
** waiter parks with one (wait_locked). While the queue is empty the timer
** looks again every interval, so a thread that queues need not wake it,
** and after a second with nobody waiting it sleeps until a thread queues.
** With a GIL-hog limit set (gil.setwarn), a holder that has not answered
** that long after the first request gets one warning (warn_hog_locked).
**
** The policies:
**
**   policy         who asks for a switch      the switch      default N
**   interval       the timer, after an        handoff to the  -
**                  interval                   head
**   interval:free  the timer, as interval     handoff; other  -
**                                             releases free
**   ticks          the holder's count hook,   no handoff: the 200
**                  every N instructions       head competes
**   priority-io    the timer; and a thread    handoff; it     -
**                  back from real I/O, at     queues first
**                  once (1/64 interval)
**   deterministic  the count hook, every      handoff to the  1000
**                  N +- N/2 (seeded)          next by seq
**   gvl            the timer, after a slice   handoff; other  100 ms
**                  of N ms                    releases free
**
** - 'interval' hands the GIL to the head of the queue on every release
**   (compete_locked says which release competes instead). That is not
**   CPython 3's drop_gil, which forces a switch only when a drop request
**   is pending and otherwise just lets go: on one core the difference is
**   the convoy's whole gap (issue 17: each send or receive of an I/O
**   thread handed the GIL to a CPU-bound spinner for a whole interval,
**   120 round trips/s; CPython ~12,000). 'interval:free' releases as
**   CPython does and no longer wakes sync-object waiters into the queue
**   (lg_gil_wake_into: CPython's woken thread competes). It is not the
**   default because the handoff is faster on the benchmarks (pingpong,
**   queue, pool, scale: scripts/bench), which issue 17 measured.
** - 'gvl' (Ruby 3.x's GVL): the timer asks the holder to yield once the
**   head has waited a slice (default 100 ms) without a switch; a yield
**   hands the GVL to the head (FIFO, the yielder queues at the back); a
**   blocking region lets it go free, its head woken to compete.
** - 'ticks' (Python 2's GIL): the holder's count hook drops the GIL every
**   N instructions while a thread waits, and no release hands it over:
**   it wakes a waiter and only then takes the GIL back (lg_gil_yield lets
**   gil.mutex go between the two, as Python 2 posts its lock and then
**   waits on it), so a waiter already running on another CPU sometimes
**   wins and CPU-bound threads thrash as they did on multicore Python 2;
**   on one CPU the woken waiter preempts the holder in that window, wins,
**   and the loser waits for the OS to run it. As Python 2's semaphore
**   does, the release wakes the first waiter that is asleep (else the
**   head), with a system call even if none is, and the woken one goes to
**   the back of the queue, as a loser goes back to the end of the
**   kernel's futex queue (ticks_woken_locked); waiters do not spin. A head
**   that has waited a whole switch interval is handed the GIL at the next
**   release, so that none starves for ever (issue 19, case 20;
**   tests/lua/misuse_vm.lua). Issue 17 measured each of these against
**   2.7.18 (scripts/lab/fidelity, medians of 5 on two idle cores):
**   without the window the head never won (~200 switches/s seen, 2.7.18
**   ~30,000); with the window but no wake system call for a head that
**   was not asleep (vm/park.c), the same; with spinning waiters,
**   286,000/s. Waking the head rather than the first asleep made 4
**   threads 1.90-2.10x slower than 1 where 2.7.18 was 2.33-2.45x, and
**   the first asleep 2.12-2.25x. A thread that queued from a take (back
**   from I/O) was once handed the GIL at the next drop too: a timeline of
**   the convoy beside a spinner showed the GIL idle ~11 us (median) at
**   each such handoff while the parked I/O thread woke, 71% of the time
**   in all, and the spinner kept 0.19 of its solo rate (2.7.18: 0.33);
**   racing for the GIL as in Python 2, 2 us, and 0.31.
**   N = 200: Python 2.7 checks every 100 "ticks", and its loop in
**   scripts/lab/fidelity/cpu.py ticks 6 times an iteration (LOAD_FAST,
**   LOAD_CONST and STORE_FAST do not tick), so it checks every ~17
**   iterations, ~2.6 us; luagil runs the same loop at 3 instructions an
**   iteration (POWK, ADD, FORLOOP) in ~12 ns each: ~210 in 2.6 us. A
**   sweep (issue 17, medians of 5; 2.7.18 beside: 31,250 switches/s
**   seen, 2 threads / 1 2.26, 4 / 1 2.45 on two idle cores; 250, 1.03,
**   1.17 on one) gave N = 120: 30,760, 1.81, 2.42 and 301, 0.99, 1.19;
**   N = 200: 23,860, 1.85, 2.26 and 295, 1.02, 1.09; N = 300: 14,910,
**   1.72, 1.77 and 301, 1.02, 1.12. 2.7.18's own 2 / 1 swings from 1.6
**   to 2.3 between runs.
** - 'priority-io': a thread whose blocking call really waited (its
**   voluntary context switches rose, or the caller said so) queues at the
**   front and requests a drop itself; the thread that yields for it
**   queues at the front too (behind it), so that an I/O-bound thread
**   preempted by another does not then wait a whole interval behind a
**   CPU-bound one. On one CPU every blocking release leaves the GIL free
**   (compete_locked), and sends go without the GIL as under 'interval'
**   (stdlib/socket/tcp.c): the peer a send wakes runs on our CPU, and a
**   handoff to a CPU-bound head, or a GIL kept over the send, cost a
**   whole interval or two more context switches a round trip (issue 17,
**   the convoy pinned to one core: 44,000 round trips/s alone and a
**   spinner's share of 0.42 before, 70,000 and ~0.7 after; CPython
**   81,000 and 0.75).
** - 'deterministic': the next holder is the queued thread after the
**   holder in creation order, chosen only once every thread the holder
**   made runnable (started, woken: lg_gil_expect) has queued, so the
**   OS's wake-up order never decides who runs. (A yielding thread queues
**   up again under the same lock as its handoff, so it is never missing
**   either.)
**
** - PCT schedules on 'deterministic' (prioof, det_step): every instruction
**   is a step (a count hook of 1); the queued thread with the highest
**   priority is the next holder, and the holder yields at a step where a
**   queued thread outranks it, after waiting for the awaited ones, so the
**   candidates never depend on timing. 'luagil --explore' draws them.
** - A brief blocking call (lg_gil_will_be_brief: a write, an fopen) under
**   'deterministic' hands off and is awaited at once, as if woken: the
**   next holder decides nothing until it has queued again, so that output
**   from threads replays exactly.
**
** Shutdown. Once finalizing, every thread but the main one parks for ever
** when it wants the GIL and is never handed it; no request is raised any
** more.
**
** Lock order: an object's mutex may be taken with the GIL held (never the
** GIL while one is held); gil.mutex is innermost.
*/

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "breaker.h"
#include "gil.h"
#include "istate.h"
#include "park.h"
#include "service.h"
#include "sigint.h"
#include "stats.h"

#define MAX_BACKOFF  8            /* re-signal after at most 8 intervals */
#define MIN_RESIGNAL_NS  100000L  /* the first re-signal, after 100 us */
#define POLL_MIN_NS  1000000L     /* the idle timer looks every interval, at
                                     most every 1 ms ... */
#define IDLE_NS      1000000000L  /* ... and sleeps after 1 s with nobody
                                     waiting */
#define TIMER_STACK  (64 * 1024) /* enough for a host's event hook */
#define TICKS_COUNT  200          /* default N of ticks: see the notes */
#define DET_COUNT    1000         /* default N of deterministic */
#define GVL_SLICE_MS 100          /* default slice of gvl, as Ruby's */
#define PRIORITY_DIV 64           /* priority-io: the least a holder keeps
                                     the GIL is 1/64 of the interval */


const char *const lg_gil_policynames[] = {
  "interval", "ticks", "priority-io", "deterministic", "gvl", NULL};


/*
** One interpreter's GIL (vm/istate.h: 'gil'). What every handoff writes
** comes first, on two cache lines (vm/base.h): the lines move between the
** cores of the threads that hand the GIL to each other, and fields spread
** over more lines would cost a miss each; what it only reads is on a
** third, which stays in every core's cache. The deadlock detector's count
** lives here for that reason (vm/waitq.c: waits and wake-ups happen
** under the GIL, beside a handoff).
*/
struct lg_Gil {
  /* Line 1: the lock and who holds or waits. */
  pthread_mutex_t mutex;
  lg_TState *_Atomic holder;   /* written under gil.mutex; read atomically;
                                  NULL while nobody holds the GIL */
  lg_TState *head, *tail;      /* gil.mutex: waiters, linked by gil_next */
  /* Line 2: what a handoff counts. */
  _Alignas(LG_CACHELINE)
  atomic_ulong grants;         /* written under gil.mutex: grants so far */
  atomic_ulong switches;       /* written under gil.mutex: the grants to
                                  another thread than 'last' */
  lg_TState *last;             /* gil.mutex: the last thread granted it */
  atomic_int nqueued;          /* written under gil.mutex: queue length */
  atomic_int nblocked;         /* vm/waitq.c: threads in a wait that only
                                  another of them can end */
  atomic_int drop_request;     /* atomic: 1 while a request is outstanding */
  atomic_int priority_request; /* atomic: the request is priority-io's */
  long t_grant;                /* gil.mutex: when the holder got the GIL
                                  if a thread waited then, else 0 */
  int expected;                /* gil.mutex: awaited takes (deterministic) */
  /* Line 3: what a handoff reads, seldom written. */
  _Alignas(LG_CACHELINE)
  atomic_int policy;           /* atomic: LG_POLICY_* */
  atomic_int free_release;     /* atomic: interval:free (CPython's drop) */
  _Atomic long interval_ns;    /* atomic */
  _Atomic long count;          /* atomic: N of ticks and deterministic */
  int finalizing;              /* gil.mutex */
  struct lg_StatsSet *stats;   /* its interpreter's records (read-only) */
  /* The rest. */
  pthread_cond_t never;        /* threads parked at shutdown */
  pthread_cond_t arrived;      /* awaited threads have queued */
  lg_Service timer;            /* gil.mutex: the timer thread */
  _Atomic long warn_ns;        /* atomic: the GIL-hog warning's limit, or
                                  0 (gil.setwarn, --gil-warn) */
  uint64_t rng;                /* GIL held: the deterministic jitter */
  uint64_t seed;               /* GIL held: as given, for PCT priorities */
  int pct;                     /* gil.mutex: PCT schedules (see below) */
  int npoints, nextpoint;      /* gil.mutex: change points, the next one */
  long points[LG_PCT_MAXPOINTS];  /* gil.mutex: ascending step numbers */
  long lowseq[LG_PCT_MAXPOINTS];  /* gil.mutex: who took each low value */
  long steps;                  /* gil.mutex: switch points counted */
  long forced;                 /* gil.mutex: holders switched away from */
  long budget;                 /* gil.mutex: steps allowed; 0: no limit */
  long tbudget;                /* gil.mutex: virtual ns allowed; 0: none */
  long lastcount;              /* GIL held: the count last drawn */
  lg_BudgetFn onbudget;        /* called once steps pass the budget */
  int retired;                 /* gil.mutex: freed; the timer ends */
};

typedef struct lg_Gil lg_Gil;

#define GIL(ts)  ((ts)->interp->gil)


int lg_gil_init (lg_IState *I, lg_TState *ts) {
  lg_Gil *G = lg_calloc_lines(sizeof *G);
  if (G == NULL)
    return ENOMEM;
  I->gil = G;
  G->stats = I->stats;
  lg_mutex_init(&G->mutex);
  lg_check(pthread_cond_init(&G->never, NULL));
  lg_check(pthread_cond_init(&G->arrived, NULL));
  atomic_store(&G->holder, ts);
  atomic_store(&G->grants, 0);
  atomic_store(&G->switches, 0);
  G->last = ts;
  atomic_store(&G->interval_ns, (long)(LG_DEFAULT_INTERVAL * 1e9));
  atomic_store(&G->count, TICKS_COUNT);
  G->rng = 0x9e3779b97f4a7c15u;
  lg_event(ts, LG_EV_RESUMED, 0);
  atomic_store(&ts->gil_resumed, lg_now_ns());
  atomic_store(&ts->in_lua, 1);
  return 0;
}


/* Free an interpreter's GIL: nobody holds or wants it, and its timer
** (if any) is told to end. */
void lg_gil_free (lg_IState *I) {
  lg_Gil *G = I->gil;
  if (G == NULL)
    return;
  lg_check(pthread_mutex_lock(&G->mutex));
  G->retired = 1;
  if (!G->timer.on) {
    lg_check(pthread_mutex_unlock(&G->mutex));
    free(G);
  }
  else {  /* the timer frees it on its way out */
    lg_service_tell_locked(&G->timer, 0);
    lg_check(pthread_mutex_unlock(&G->mutex));
  }
  I->gil = NULL;
}


static int must_park (lg_Gil *G, lg_TState *ts) {
  return G->finalizing && !ts->is_main;
}


static void park_forever_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  for (;;)
    pthread_cond_wait(&G->never, &G->mutex);
}


static int busy_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  return atomic_load(&G->holder) != NULL;
}


/* released -> running, for 'ts' (not necessarily the caller) */
static void grant_locked (lg_Gil *G, lg_TState *ts) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  int priority = atomic_load(&G->policy) == LG_POLICY_PRIORITY_IO;
  /* the timer measures from a grant only if a thread waits already */
  G->t_grant = G->head != NULL || priority ? lg_now_ns() : 0;
  if (priority && ts->gil_left != 0) {  /* back from a yield */
    ts->gil_out = G->t_grant - ts->gil_left;
    ts->gil_left = 0;
  }
  atomic_store(&G->holder, ts);
  atomic_fetch_add(&G->grants, 1);
  if (ts != G->last) {  /* not a thread taking back the GIL it let go */
    G->last = ts;
    atomic_fetch_add(&G->switches, 1);
  }
  atomic_store(&G->drop_request, 0);  /* a new holder starts afresh */
}


static void request_drop_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *holder = atomic_load(&G->holder);
  atomic_store(&G->drop_request, 1);
  if (holder != NULL)  /* it cannot exit: exiting needs gil.mutex */
    lg_breaker_signal(holder);
}


/*
** {======================================================
** The timer
** =======================================================
*/

/*
** Ask the scheduler for a short time slice (100 us) for the calling
** thread. Since Linux 6.6 (EEVDF) a thread woken on a busy CPU may wait
** for the running thread's whole slice, ~3 ms: the timer, woken beside a
** CPU-bound holder, asked 3.5 ms late every few switches. Linux 6.12 and
** later take sched_runtime as the slice of an ordinary thread; older
** kernels ignore or refuse it, and need it less. No privilege is needed.
** The struct is the kernel's sched_attr (not in glibc's headers).
*/
static void short_slice (void) {
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr = {.size = sizeof attr, .policy = SCHED_OTHER, .runtime = 100000};
  (void)syscall(SYS_sched_setattr, 0, &attr, 0);
}


/* Does the timer time the holder under the current policy? */
static int timed_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  int policy = atomic_load(&G->policy);
  return G->head != NULL && busy_locked(G) && !G->finalizing &&
         (policy == LG_POLICY_INTERVAL || policy == LG_POLICY_PRIORITY_IO ||
          policy == LG_POLICY_GVL);
}


/* The time the timer gives a holder: the switch interval, or gvl's
** slice. */
static long slice_ns (lg_Gil *G) {
  if (atomic_load(&G->policy) == LG_POLICY_GVL)
    return atomic_load(&G->count) * 1000000L;
  return atomic_load(&G->interval_ns);
}


/*
** Since when the head of the queue has waited without a switch: since it
** queued or since the holder got the GIL, whichever is later; and not
** before the holder really runs: a holder still waking up gets its whole
** interval from when it resumes.
*/
static long since_locked (lg_Gil *G, long now) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  long resumed = atomic_load_explicit(&atomic_load(&G->holder)->gil_resumed,
                                      memory_order_relaxed);
  long since = G->head->gil_since > G->t_grant ? G->head->gil_since
                                                 : G->t_grant;
  return resumed >= G->t_grant ? (resumed > since ? resumed : since)
                                : now;  /* not yet: look again */
}


/*
** The GIL-hog warning (gil.setwarn): the holder has kept the GIL for
** 'late' ns after the first drop request while others wait: it runs a C
** function that neither returns nor lets the GIL go (Lua code answers in
** microseconds). Where it is gets read from its Lua state while gil.mutex
** keeps it from letting the GIL go, so that no other thread runs Lua
** meanwhile; its own frames do not change while it stays in that C call.
** Its name is read, and the warning written, after gil.mutex is let go.
** A C function that keeps calling other functions through the API could
** be read in the middle of a call: this is best effort, as
** --faulthandler's dump is; a blocked one, the case it is for, is still.
*/
static void warn_hog_locked (lg_Gil *G, long now, long late) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *ts = atomic_load(&G->holder);
  lua_State *co = atomic_load(&ts->running);
  lg_Stats *st = ts->stats;
  char where[160], name[64], msg[400];
  long held = now - atomic_load(&ts->gil_resumed);
  int nwait = atomic_load(&G->nqueued), n;
  lua_Debug ar;
  snprintf(where, sizeof where, "outside Lua");
  if (co != NULL && atomic_load(&ts->in_lua) && lua_getstack(co, 0, &ar) &&
      lua_getinfo(co, "Sln", &ar)) {
    if (ar.what[0] == 'C') {
      const char *fn = ar.name;
      if (lua_getstack(co, 1, &ar) && lua_getinfo(co, "Sl", &ar) &&
          ar.currentline > 0)
        snprintf(where, sizeof where, "in C function '%s' (%s:%d)",
                 fn != NULL ? fn : "?", ar.short_src, ar.currentline);
      else
        snprintf(where, sizeof where, "in C function '%s'",
                 fn != NULL ? fn : "?");
    }
    else if (ar.currentline > 0)
      snprintf(where, sizeof where, "at %s:%d", ar.short_src,
               ar.currentline);
  }
  lg_stats_pin(G->stats, st);
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (st != NULL)
    lg_stats_name(st, name, sizeof name);
  else
    snprintf(name, sizeof name, "a thread");
  lg_stats_pin(G->stats, NULL);
  n = snprintf(msg, sizeof msg, "luagil: warning: %s has held the GIL for "
               "%.3f s, %.3f s after a drop request, %s; %d thread%s "
               "wait%s for it\n", name, (double)held * 1e-9,
               (double)late * 1e-9, where, nwait, nwait == 1 ? "" : "s",
               nwait == 1 ? "s" : "");
  if (n > 0)
    (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n
                                                : sizeof msg - 1);
  lg_check(pthread_mutex_lock(&G->mutex));
}


/*
** The timer's loop, under gil.mutex. After a request, 'asked' is when the
** timer last asked and 'backoff' how many intervals it waits before it
** asks again (0: MIN_RESIGNAL_NS).
*/
static void *timer_main (void *arg) {
  lg_Gil *G = arg;
  unsigned long sw = 0;
  long asked = 0, first = 0, idle_since = lg_now_ns();
  int backoff = 1;
  short_slice();
  lg_check(pthread_mutex_lock(&G->mutex));
  for (;;) {
    long now = lg_now_ns(), interval = slice_ns(G), due;
    if (G->retired) {  /* its interpreter is gone (lg_gil_free) */
      lg_check(pthread_mutex_unlock(&G->mutex));
      free(G);
      return NULL;
    }
    if (!timed_locked(G)) {
      asked = first = 0;
      if (now - idle_since >= IDLE_NS)
        due = LONG_MAX;  /* until a thread queues (enqueue_locked) */
      else
        due = now + (interval > POLL_MIN_NS ? interval : POLL_MIN_NS);
    }
    else {
      idle_since = now;
      long warn = atomic_load(&G->warn_ns);
      if (atomic_load(&G->grants) != sw) {  /* a new hold, a retake too */
        sw = atomic_load(&G->grants);
        asked = first = 0;
      }
      if (asked == 0)
        due = since_locked(G, now) + interval;
      else {
        long wait = interval * backoff;
        due = asked + (wait > MIN_RESIGNAL_NS ? wait : MIN_RESIGNAL_NS);
      }
      if (first > 0 && warn > 0) {  /* the GIL-hog watchdog */
        if (now - first >= warn) {
          warn_hog_locked(G, now, now - first);
          first = -1;  /* once per hold */
          continue;
        }
        if (first + warn < due)
          due = first + warn;
      }
      if (now >= due) {
        lg_Stats *st = G->head->stats;
        if (asked == 0)
          backoff = 0;  /* the first re-signal comes after 100 us */
        else if (backoff < MAX_BACKOFF)
          backoff = backoff ? backoff * 2 : 1;
        asked = now;
        if (first == 0)
          first = now;
        request_drop_locked(G);
        lg_stats_pin(G->stats, st);  /* the head may exit once we let go:
                                        keep it */
        lg_check(pthread_mutex_unlock(&G->mutex));
        lg_stats_event(st, LG_EV_REQUEST, 0);  /* for the head */
        lg_stats_pin(G->stats, NULL);
        lg_check(pthread_mutex_lock(&G->mutex));
        continue;
      }
    }
    lg_service_sleep_locked(&G->timer, due);
  }
  return NULL;
}


/*
** A thread has queued at 'now': start the timer if it is not running, or
** wake it if it would look too late.
*/
static void tell_timer_locked (lg_Gil *G, long now) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  if (!G->timer.on)  /* if it fails (out of threads), the next thread
                         that queues retries */
    (void)lg_service_start_locked(&G->timer, &G->mutex, timer_main, G,
                                  TIMER_STACK);
  else
    lg_service_tell_locked(&G->timer, now + slice_ns(G));
}

/* }====================================================== */


/*
** {======================================================
** The queue
** =======================================================
*/

/* Queue 'ts', which began to wait at 'now' (lg_now_ns). */
static void enqueue_locked (lg_Gil *G, lg_TState *ts, int front, long now) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  ts->gil_queued = 1;
  ts->gil_since = now;
  if (G->head == NULL)  /* the timer had nobody to time */
    tell_timer_locked(G, ts->gil_since);
  atomic_fetch_add(&G->nqueued, 1);
  if (front) {
    ts->gil_next = G->head;
    G->head = ts;
    if (G->tail == NULL)
      G->tail = ts;
    return;
  }
  ts->gil_next = NULL;
  if (G->tail)
    G->tail->gil_next = ts;
  else
    G->head = ts;
  G->tail = ts;
}


/* Remove 'ts', which is queued. */
static void unlink_locked (lg_Gil *G, lg_TState *ts) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *prev = NULL;
  atomic_fetch_sub(&G->nqueued, 1);
  for (lg_TState *w = G->head; w != ts; w = w->gil_next)
    prev = w;
  if (prev)
    prev->gil_next = ts->gil_next;
  else
    G->head = ts->gil_next;
  if (G->tail == ts)
    G->tail = prev;
  ts->gil_next = NULL;
  ts->gil_queued = 0;
}


static long seqof (lg_TState *ts) {
  return ts->stats ? ts->stats->seq : 0;
}


/*
** PCT (Burckhardt et al., ASPLOS 2010), on the deterministic policy. Each
** thread has a priority, a pure function of the seed and its creation
** order, so that the OS's timing never changes it; the holder keeps the
** GIL while it is the runnable thread with the highest priority. At the
** i-th change point (a step number, a step being one instruction of
** whoever holds the GIL) the holder's priority falls to npoints - i,
** below every initial one. Waiting for the awaited threads before each
** comparison (lg_gil_expect) makes the set of candidates exact.
*/
static long prioof (lg_Gil *G, lg_TState *ts) {
  long seq = seqof(ts);
  uint64_t x;
  for (int i = G->nextpoint - 1; i >= 0; i--)
    if (G->lowseq[i] == seq)
      return G->npoints - i;
  x = (G->seed + 1) * 0x9e3779b97f4a7c15u ^
      (uint64_t)seq * 0xbf58476d1ce4e5b9u;
  x ^= x >> 31;
  x *= 0x94d049bb133111ebu;
  x ^= x >> 29;
  return (long)((x >> 2) | ((uint64_t)1 << 61));  /* above every low one */
}


/* The queued thread with the highest priority (PCT). */
static lg_TState *pct_best_locked (lg_Gil *G) {
  lg_TState *best = NULL;
  long bp = 0;
  LG_ASSERT(lg_mutex_held(&G->mutex));
  for (lg_TState *w = G->head; w != NULL; w = w->gil_next) {
    long p = prioof(G, w);
    if (best == NULL || p > bp || (p == bp && seqof(w) < seqof(best))) {
      best = w;
      bp = p;
    }
  }
  return best;
}


/*
** Take the next holder off the queue: its head, or under the deterministic
** policy the queued thread that follows 'from' in creation order.
*/
static lg_TState *dequeue_locked (lg_Gil *G, lg_TState *from) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *next = G->head;
  if (atomic_load(&G->policy) == LG_POLICY_DETERMINISTIC && G->pct)
    next = pct_best_locked(G);
  else if (atomic_load(&G->policy) == LG_POLICY_DETERMINISTIC) {
    lg_TState *first = NULL;
    long after = seqof(from);
    next = NULL;
    for (lg_TState *w = G->head; w != NULL; w = w->gil_next) {
      if (first == NULL || seqof(w) < seqof(first))
        first = w;
      if (seqof(w) > after && (next == NULL || seqof(w) < seqof(next)))
        next = w;
    }
    if (next == NULL)
      next = first;
  }
  unlink_locked(G, next);
  return next;
}


/* A thread the holder awaited has queued (deterministic policy). */
static void arrive_locked (lg_Gil *G, lg_TState *ts) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  if (ts->expected) {
    ts->expected = 0;
    if (--G->expected == 0)
      lg_check(pthread_cond_broadcast(&G->arrived));
  }
}

/* }====================================================== */


/* Where a thread queues for the GIL. */
#define QUEUE_BACK     0  /* an ordinary wait */
#define QUEUE_PRIORITY 1  /* priority-io: at the front, asking at once */
#define QUEUE_FRONT    2  /* priority-io: at the front, yielded for one */

static void enter_queue_locked (lg_Gil *G, lg_TState *ts, int where,
                                long now) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  enqueue_locked(G, ts, where != QUEUE_BACK, now);
  arrive_locked(G, ts);
}


/*
** priority-io: how long 'holder' keeps the GIL before a thread back from
** I/O asks for it: 1/64 of the interval, and under priority-io:K, K times
** as long as the holder was last kept out (its yield to its grant: the
** I/O thread's turn and the handoffs), so that a CPU-bound thread keeps
** K/(K+1) of its time however many round trips the I/O threads make
** (issue 17: the spinner kept 0.4-0.56 of its solo rate); at most an
** interval. K costs round trips: it is an option, 0 by default.
*/
static long priority_keep_locked (lg_Gil *G, lg_TState *holder) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  long interval = atomic_load(&G->interval_ns);
  long least = interval / PRIORITY_DIV;
  long keep = atomic_load(&G->count) * holder->gil_out;
  /* never more than an interval: a holder kept out by a stall (load,
  ** a long C call) must not keep the I/O threads out in turn */
  return keep < least ? least : keep > interval ? interval : keep;
}


/*
** waiting: park (queued already) until a releasing thread hands us the
** GIL, or (ticks) finds it free. The timer raises the drop requests, but
** a thread with 'priority' (priority-io) asks for itself, as soon as the
** holder has had the GIL for 1/64 of the interval, not after a whole one:
** soon enough that an I/O-bound thread makes thousands of round trips a
** second beside a CPU-bound one, seldom enough that the CPU-bound one
** keeps most of its speed. On one CPU the holder does not run while we do
** anyway: it asks at once (under priority-io:K it too waits for the
** holder's K times, priority_keep_locked), unless the holder last let the
** GIL go for a
** blocking call. That holder is an I/O-bound thread that the OS preempted
** (it woke us, say, by writing to our socket) and it lets go again as soon
** as it runs, unasked; asking would cost it a signal per round trip.
** A thread with 'priority' does not spin (vm/park.c) while it waits: the
** wait is the holder's 1/64 interval and then its way to the yield, and
** a waiter spinning that long beside a CPU-bound holder slows the holder
** (issue 17, the convoy with a spinner on two cores, 8 interleaved runs:
** the spinner's share 0.58 with the spin, 0.85 without; round trips
** 3,992/s and 3,094/s, CPython's 70). Nor does one under 'ticks', as
** Python 2's semaphore does not (see the notes).
*/
static void wait_locked (lg_Gil *G, lg_TState *ts, int priority) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  int ticks = atomic_load(&G->policy) == LG_POLICY_TICKS;  /* the notes */
  int spin = priority || ticks ? 0 : LG_PARK_SPIN;
  while (atomic_load(&G->holder) != ts) {
    struct timespec dl, *deadline = NULL;
    int requested = 0;
    if (must_park(G, ts))
      park_forever_locked(G);
    if (!busy_locked(G)) {  /* let go without a handoff (handoff_locked) */
      unlink_locked(G, ts);
      grant_locked(G, ts);
      break;
    }
    if (priority) {
      lg_TState *holder = atomic_load(&G->holder);
      long ns = lg_usable_cpus() < 2 && atomic_load(&G->count) == 0 ? 0
                : priority_keep_locked(G, holder) -
                  (lg_now_ns() - G->t_grant);
      if (lg_usable_cpus() < 2 && holder->gil_dropped == LG_DROP_BLOCKING)
        priority = 0;  /* see above: wait unasked */
      else if (ns <= 0) {  /* held long enough already: ask now */
        atomic_store(&G->priority_request, 1);
        request_drop_locked(G);
        requested = 1;
        priority = 0;
      }
      else
        deadline = lg_deadline(ns * 1e-9, &dl);
    }
    lg_check(pthread_mutex_unlock(&G->mutex));
    if (requested)  /* reported outside gil.mutex */
      lg_event(ts, LG_EV_REQUEST, 0);
    lg_park(ts, deadline, spin | LG_PARK_NOINTR);
    lg_check(pthread_mutex_lock(&G->mutex));
  }
}


/*
** The holder runs Lua again, now or after lg_gil_pause; its interval runs
** from 'gil_resumed'. A request or a Ctrl-C may have come while it was not
** running Lua (in_lua was 0: the signal handler left it alone); it sees to
** that now.
*/
static void running (lg_TState *ts, int saved_errno) {
  lg_event(ts, LG_EV_RESUMED, 0);
  if (ts->in_hook == LG_HOOK_LEAVING)  /* a take in a C call: it is past */
    ts->in_hook = LG_HOOK_OUT;         /* the instruction after the hook */
  atomic_store(&ts->in_lua, 1);
  lg_breaker_follow(ts);  /* a counting policy re-arms its hook */
  if ((ts->is_main && lg_sigint_pending()) || lg_waiter_cancelled(ts->cur))
    lg_breaker_arm_self(ts);  /* the hook raises (a cancel: vm/breaker.c) */
  else if (lg_gil_drop_pending_for(ts))
    lg_breaker_arm_for_request(ts);
  errno = saved_errno;
}


/*
** The GIL is ours: what every take ends with. The RESUMED event has read
** the clock already if the thread keeps statistics.
*/
static void resumed (lg_TState *ts, int saved_errno) {
  lg_Stats *st = ts->stats;
  running(ts, saved_errno);
  atomic_store_explicit(&ts->gil_resumed,
                        st != NULL ? atomic_load(&st->t_acquired)
                                   : lg_now_ns(), memory_order_relaxed);
}


/*
** waiting -> running; 'where': QUEUE_*. A thread that lg_gil_wake_into
** queued while it was blocked is in the queue already, or even holds the
** GIL; so may one whose wait timed out, while it reports READY with
** gil.mutex unlocked (a waker chose it just then): it looks again.
*/
static void take (lg_TState *ts, int where) {
  lg_Gil *G = GIL(ts);
  int saved = errno, busy;
  lg_check(pthread_mutex_lock(&G->mutex));
  {
    if (must_park(G, ts))
      park_forever_locked(G);
    if (atomic_load(&G->holder) == ts)  /* granted while blocked */
      busy = 0;
    else if (ts->gil_queued) {  /* queued while blocked */
      wait_locked(G, ts, 0);
      busy = 0;
    }
    else {
      busy = busy_locked(G);
      if (!busy) {
        arrive_locked(G, ts);
        grant_locked(G, ts);
      }
    }
  }
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (busy) {  /* say so outside gil.mutex, then queue up */
    long now = lg_now_ns();
    lg_event_at(ts, LG_EV_READY, 0, now);
    lg_check(pthread_mutex_lock(&G->mutex));
    if (atomic_load(&G->holder) == ts || ts->gil_queued)
      wait_locked(G, ts, 0);  /* woken into the GIL or its queue meanwhile */
    else if (busy_locked(G)) {
      enter_queue_locked(G, ts, where, now);
      wait_locked(G, ts, where == QUEUE_PRIORITY);
    }
    else {
      arrive_locked(G, ts);
      grant_locked(G, ts);
    }
    lg_check(pthread_mutex_unlock(&G->mutex));
  }
  resumed(ts, saved);
}


void lg_gil_take (lg_TState *ts) {
  take(ts, QUEUE_BACK);
}


/*
** A waiter whose wait timed out just before we chose it may have queued
** for the GIL itself already: it must not be queued twice.
*/
int lg_gil_wake_into (lg_TState *waiter) {
  lg_Gil *G = GIL(waiter);
  lg_TState *self = lg_tstate_current();
  int queued, already;
  long now;
  if (atomic_load(&G->policy) != LG_POLICY_INTERVAL ||
      atomic_load(&G->free_release) || self == NULL ||
      self->interp != waiter->interp || !lg_gil_held(self))
    return 0;
  now = lg_now_ns();
  lg_check(pthread_mutex_lock(&G->mutex));
  already = waiter->gil_queued;
  queued = !G->finalizing;
  if (queued && !already)
    enqueue_locked(G, waiter, 0, now);
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (queued && !already)  /* for it: it waits for the GIL from now; we */
    lg_event_at(waiter, LG_EV_READY, 0, now);  /* hold it, so it cannot
                                                  resume first */
  return queued;
}


/*
** Ticks: the thread a release hands the GIL to (see the notes), or NULL:
** the head if it has waited a whole interval.
*/
static lg_TState *ticks_next_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *head = G->head;
  if (head != NULL && !must_park(G, head) &&
      lg_now_ns() - head->gil_since >= atomic_load(&G->interval_ns))
    return head;
  return NULL;
}


/*
** Ticks: the waiter a release wakes to compete, or NULL. As Python 2's
** sem_post wakes the first thread asleep in the kernel's futex queue,
** it is the first one asleep (else the head), and it goes to the back of
** the queue, as a loser goes back to the end of the futex queue; with
** several waiting, several compete at once (see the notes).
*/
static lg_TState *ticks_woken_locked (lg_Gil *G) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  lg_TState *w = G->head;
  for (lg_TState *x = w; x != NULL; x = x->gil_next)
    if (lg_parked(x)) {
      w = x;
      break;
    }
  if (w != NULL && w != G->tail) {  /* to the back, its wait unchanged */
    unlink_locked(G, w);
    enqueue_locked(G, w, 0, w->gil_since);
  }
  return w;
}


/*
** Does a release for 'reason' leave the GIL free for whoever comes first
** (a waiter is woken to compete: the head, or under 'ticks' the first
** one asleep), rather than hand it over?
** See the notes for each policy.
*/
static int compete_locked (lg_Gil *G, int policy, int reason) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  switch (policy) {
    case LG_POLICY_TICKS:
      return 1;
    case LG_POLICY_INTERVAL:
      return atomic_load(&G->free_release) && reason != LG_DROP_FORCED &&
             !atomic_load(&G->drop_request);
    case LG_POLICY_GVL:
      return reason != LG_DROP_FORCED;
    case LG_POLICY_PRIORITY_IO:  /* see handoff_locked */
      return reason == LG_DROP_BLOCKING && lg_usable_cpus() < 2;
    default:
      return 0;
  }
}


/*
** running -> released, under gil.mutex: hand the GIL to the next waiter,
** if any. Returns the thread to unpark once gil.mutex is let go (on one
** core a woken thread runs at once and would only block on gil.mutex), or
** NULL. A release that competes (compete_locked: every one of 'ticks' but
** to a starved waiter, those of 'interval:free' and 'gvl' that
** no drop request asked for) hands nothing: it only wakes the head to
** compete. So does a blocking drop under 'priority-io' on one CPU: the
** head is then mostly a CPU-bound thread, and the thread that wakes first
** is mostly an I/O-bound one, whose reply is what the blocked thread waits
** for. States are never freed, so a thread that already went on when we
** unpark it only finds a stray token.
*/
static lg_TState *handoff_locked (lg_Gil *G, lg_TState *ts, int reason) {
  LG_ASSERT(lg_mutex_held(&G->mutex));
  int policy = atomic_load(&G->policy);
  lg_TState *next = NULL;
  ts->gil_dropped = reason;
  if (policy == LG_POLICY_DETERMINISTIC)
    while (G->expected > 0 && !G->finalizing)  /* see the notes */
      lg_check(pthread_cond_wait(&G->arrived, &G->mutex));
  int compete = compete_locked(G, policy, reason);
  if (compete && policy == LG_POLICY_TICKS && (next = ticks_next_locked(G))) {
    unlink_locked(G, next);  /* see the notes: it would never win the race */
    grant_locked(G, next);
    return next;
  }
  while (!compete && G->head != NULL && next == NULL) {
    next = dequeue_locked(G, ts);
    if (must_park(G, next)) {  /* it will see that and park for ever */
      lg_unpark(next);
      next = NULL;
    }
  }
  if (next != NULL) {
    grant_locked(G, next);
    return next;
  }
  atomic_store(&G->holder, NULL);
  if (!compete)
    return NULL;
  if (policy == LG_POLICY_TICKS)
    return ticks_woken_locked(G);
  return G->head;  /* no handoff: the head competes */
}


static void wake (lg_TState *ts) {
  if (ts != NULL)
    lg_unpark(ts);
}


void lg_gil_pause (lg_TState *ts, int reason) {
  LG_ASSERT(lg_gil_held(ts));
  atomic_store(&ts->in_lua, 0);
  lg_event(ts, LG_EV_SUSPENDED, reason);
}


void lg_gil_unpause (lg_TState *ts) {
  running(ts, errno);
}


void lg_gil_release (lg_TState *ts, int reason) {
  lg_Gil *G = GIL(ts);
  int saved = errno;
  lg_TState *next;
  LG_ASSERT(lg_gil_held(ts));
  lg_check(pthread_mutex_lock(&G->mutex));
  next = handoff_locked(G, ts, reason);
  lg_check(pthread_mutex_unlock(&G->mutex));
  wake(next);
  errno = saved;
}


void lg_gil_drop (lg_TState *ts, int reason) {
  lg_gil_pause(ts, reason);
  lg_gil_release(ts, reason);
}


/*
** running -> waiting -> running, for a drop request or a counting policy.
** The handoff and the queueing up happen under one lock, so no other
** thread can run a turn and hand the GIL on before we are back in line.
** After a priority-io request the yielder queues at the front (behind the
** thread that asked), so an I/O thread preempted by another does not then
** wait a whole interval behind a CPU-bound one.
*/
void lg_gil_yield (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  int saved = errno, queued;
  int where = atomic_exchange(&G->priority_request, 0) &&
              atomic_load(&G->policy) == LG_POLICY_PRIORITY_IO
              ? QUEUE_FRONT : QUEUE_BACK;
  lg_TState *next;
  long now = 0;
  LG_ASSERT(lg_gil_held(ts));
  lg_gil_pause(ts, LG_DROP_FORCED);
  lg_check(pthread_mutex_lock(&G->mutex));
  {
    next = handoff_locked(G, ts, LG_DROP_FORCED);
    if (next != NULL && atomic_load(&G->holder) == NULL) {
      /* ticks, competing: wake a waiter before we take the GIL back, as
      ** Python 2 posts its lock before it waits on it again, so that a
      ** waiter already running (on another CPU) can win */
      lg_check(pthread_mutex_unlock(&G->mutex));
      lg_unpark_post(next);
      next = NULL;
      lg_check(pthread_mutex_lock(&G->mutex));
    }
    queued = busy_locked(G);
    if (queued) {
      now = lg_now_ns();
      if (atomic_load(&G->policy) == LG_POLICY_PRIORITY_IO)
        ts->gil_left = now;  /* grant_locked: how long it was out */
      enter_queue_locked(G, ts, where, now);
    }
    else  /* nobody wanted it (or ticks): take it straight back */
      grant_locked(G, ts);
  }
  lg_check(pthread_mutex_unlock(&G->mutex));
  wake(next);
  if (queued) {
    lg_event_at(ts, LG_EV_READY, 0, now);
    lg_check(pthread_mutex_lock(&G->mutex));
    wait_locked(G, ts, 0);
    lg_check(pthread_mutex_unlock(&G->mutex));
  }
  resumed(ts, saved);
}


void lg_gil_yield_if_waiting (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  int waiting;
  lg_check(pthread_mutex_lock(&G->mutex));
  waiting = (G->head != NULL || G->expected > 0) && !G->finalizing;
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (waiting)
    lg_gil_yield(ts);
}


int lg_gil_drop_pending_for (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  return atomic_load(&G->drop_request) && atomic_load(&G->holder) == ts;
}


int lg_gil_nwaiting (lg_IState *I) {
  lg_Gil *G = I->gil;
  return atomic_load(&G->nqueued);
}


atomic_int *lg_gil_nblocked (lg_IState *I) {
  return &I->gil->nblocked;
}


unsigned long lg_gil_switches (lg_IState *I) {
  lg_Gil *G = I->gil;
  return atomic_load(&G->switches);
}


int lg_gil_held (lg_TState *ts) {
  return ts != NULL && atomic_load(&GIL(ts)->holder) == ts;
}


double lg_gil_getwarn (lg_IState *I) {
  lg_Gil *G = I->gil;
  return (double)atomic_load(&G->warn_ns) * 1e-9;
}


void lg_gil_setwarn (lg_IState *I, double seconds) {
  lg_Gil *G = I->gil;
  long ns = seconds > 0 ? (long)(seconds * 1e9) : 0;
  atomic_store(&G->warn_ns, seconds > 0 && ns == 0 ? 1 : ns);
  lg_check(pthread_mutex_lock(&G->mutex));
  lg_service_tell_locked(&G->timer, lg_now_ns());  /* look again */
  lg_check(pthread_mutex_unlock(&G->mutex));
}


double lg_gil_getinterval (lg_IState *I) {
  lg_Gil *G = I->gil;
  return (double)atomic_load(&G->interval_ns) * 1e-9;
}


void lg_gil_setinterval (lg_IState *I, double seconds) {
  lg_Gil *G = I->gil;
  long ns = (long)(seconds * 1e9);
  atomic_store(&G->interval_ns, ns > 0 ? ns : 1);
  lg_check(pthread_mutex_lock(&G->mutex));
  lg_service_tell_locked(&G->timer, lg_now_ns() + ns);  /* shorter: look */
  lg_check(pthread_mutex_unlock(&G->mutex));
}


/*
** {======================================================
** Policies
** =======================================================
*/

void lg_gil_setpolicy (lg_IState *I, int policy, long n) {
  lg_Gil *G = I->gil;
  if (n <= 0 && policy != LG_POLICY_INTERVAL)
    n = policy == LG_POLICY_DETERMINISTIC ? DET_COUNT
        : policy == LG_POLICY_GVL ? GVL_SLICE_MS
        : policy == LG_POLICY_PRIORITY_IO ? 0 : TICKS_COUNT;
  atomic_store(&G->free_release,
               policy == LG_POLICY_INTERVAL && n == LG_INTERVAL_FREE);
  if (policy != LG_POLICY_INTERVAL)
    atomic_store(&G->count, n);
  atomic_store(&G->policy, policy);
  lg_TState *ts = lg_tstate_current();
  if (ts != NULL && ts->interp == I && lg_gil_held(ts))
    lg_breaker_follow(ts);  /* the caller switches as the policy says */
}


int lg_gil_getpolicy (lg_IState *I, long *n) {
  lg_Gil *G = I->gil;
  int policy = atomic_load(&G->policy);
  if (n != NULL)
    *n = policy != LG_POLICY_INTERVAL ? atomic_load(&G->count)
         : atomic_load(&G->free_release) ? LG_INTERVAL_FREE
                                         : LG_INTERVAL_HANDOFF;
  return policy;
}


void lg_gil_seed (lg_IState *I, unsigned long seed) {
  lg_Gil *G = I->gil;
  G->rng = seed * 0x9e3779b97f4a7c15u + 1;  /* never 0 */
  G->seed = seed;
}


void lg_gil_setpct (lg_IState *I, const long *points, int n) {
  lg_Gil *G = I->gil;
  if (n > LG_PCT_MAXPOINTS)
    n = LG_PCT_MAXPOINTS;
  lg_check(pthread_mutex_lock(&G->mutex));
  G->pct = 1;
  G->npoints = n;
  G->nextpoint = 0;
  for (int i = 0; i < n; i++)
    G->points[i] = points[i];
  lg_check(pthread_mutex_unlock(&G->mutex));
}


void lg_gil_setbudget (lg_IState *I, long steps, long ns, lg_BudgetFn f) {
  lg_Gil *G = I->gil;
  lg_check(pthread_mutex_lock(&G->mutex));
  G->budget = steps;
  G->tbudget = ns;
  G->onbudget = f;
  lg_check(pthread_mutex_unlock(&G->mutex));
}


/* Take the budget's function, once, if 'over'. gil.mutex held. */
static lg_BudgetFn overbudget_locked (lg_Gil *G, int over) {
  lg_BudgetFn f = over ? G->onbudget : NULL;
  LG_ASSERT(lg_mutex_held(&G->mutex));
  if (f != NULL)
    G->onbudget = NULL;
  return f;
}


void lg_gil_checktime (lg_IState *I, long ns) {
  lg_Gil *G = I->gil;
  lg_TState *ts = lg_tstate_current();
  lg_BudgetFn f;
  long budget;
  char what[96];
  lg_check(pthread_mutex_lock(&G->mutex));
  budget = G->tbudget;
  f = overbudget_locked(G, budget > 0 && ns > budget);
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (f == NULL)
    return;
  snprintf(what, sizeof what, "virtual time budget of %.9g s exceeded",
           (double)budget * 1e-9);
  f(ts != NULL ? atomic_load(&ts->running) : NULL, what);
}


void lg_gil_schedule (lg_IState *I, long *steps, long *forced) {
  lg_Gil *G = I->gil;
  lg_check(pthread_mutex_lock(&G->mutex));
  *steps = G->steps;
  *forced = G->forced;
  lg_check(pthread_mutex_unlock(&G->mutex));
}


long lg_gil_count (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  long n = atomic_load(&G->count);
  switch (atomic_load(&G->policy)) {
    case LG_POLICY_TICKS:
      return n;
    case LG_POLICY_DETERMINISTIC: {  /* n/2 .. 3n/2, xorshift64 */
      uint64_t x = G->rng;
      if (G->pct)
        return 1;  /* every instruction is a step */
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      G->rng = x;
      G->lastcount = n / 2 + 1 + (long)(x % (uint64_t)(n + 1));
      return G->lastcount;
    }
    default:
      return 0;
  }
}


/*
** A step of the deterministic policy (GIL held). Under PCT: count it, pass
** a change point if it is one, wait for the awaited threads, and say
** whether a queued thread now outranks the holder. Otherwise every switch
** point switches if anybody waits. Either way steps past the budget call
** 'onbudget' (once), which does not return.
*/
static int det_step (lg_Gil *G, lg_TState *ts) {
  int yield;
  long steps;
  lg_BudgetFn over;
  lg_check(pthread_mutex_lock(&G->mutex));
  {
    G->steps += G->pct ? 1 : G->lastcount;
    if (G->pct && G->nextpoint < G->npoints &&
        G->steps >= G->points[G->nextpoint]) {
      G->lowseq[G->nextpoint] = seqof(ts);  /* prioof: now npoints - i */
      G->nextpoint++;
    }
    while (G->expected > 0 && !G->finalizing)  /* see the notes */
      lg_check(pthread_cond_wait(&G->arrived, &G->mutex));
    if (G->pct) {
      lg_TState *best = pct_best_locked(G);
      yield = best != NULL && prioof(G, best) > prioof(G, ts);
    }
    else {  /* as it always did: yield, maybe to itself (a new count) */
      G->forced += G->head != NULL;
      yield = 1;
    }
    if (yield && G->pct)
      G->forced++;
    over = overbudget_locked(G, G->budget > 0 && G->steps > G->budget);
    steps = G->budget;
  }
  lg_check(pthread_mutex_unlock(&G->mutex));
  if (over != NULL) {
    char what[64];
    snprintf(what, sizeof what, "budget of %ld steps exceeded", steps);
    over(atomic_load(&ts->running), what);
  }
  return yield;
}


int lg_gil_policy_switch (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  int policy = atomic_load(&G->policy);
  if (policy == LG_POLICY_TICKS && atomic_load(&G->nqueued) == 0)
    return 0;  /* nobody to compete with: keep counting */
  if (policy == LG_POLICY_DETERMINISTIC && !det_step(G, ts))
    return 0;
  if (policy == LG_POLICY_TICKS || policy == LG_POLICY_DETERMINISTIC) {
    lg_gil_yield(ts);
    return 1;
  }
  return 0;
}


int lg_gil_expect (lg_IState *I, lg_TState *ts) {
  lg_Gil *G = I->gil;
  int counted = 0;
  if (atomic_load(&G->policy) != LG_POLICY_DETERMINISTIC)
    return 0;
  lg_check(pthread_mutex_lock(&G->mutex));
  if (ts == NULL || (!ts->expected && !ts->gil_queued &&
                     atomic_load(&G->holder) != ts)) {
    /* a wait that timed out may have queued already: it has arrived
       (scripts/explore/timer_cancel.lua hung on that) */
    G->expected++;
    counted = 1;
    if (ts != NULL)
      ts->expected = 1;
  }
  lg_check(pthread_mutex_unlock(&G->mutex));
  return counted;
}


void lg_gil_unexpect (lg_IState *I) {
  lg_Gil *G = I->gil;
  if (atomic_load(&G->policy) != LG_POLICY_DETERMINISTIC)
    return;
  lg_check(pthread_mutex_lock(&G->mutex));
  if (G->expected > 0 && --G->expected == 0)
    lg_check(pthread_cond_broadcast(&G->arrived));
  lg_check(pthread_mutex_unlock(&G->mutex));
}

/* }====================================================== */


void lg_gil_atfork (lg_IState *I, int phase) {
  lg_Gil *G = I->gil;
  if (G == NULL)  /* not made yet, or freed with its interpreter */
    return;
  lg_mutex_atfork(&G->mutex, phase);
  if (phase == LG_FORK_CHILD) {  /* the forking thread holds the GIL */
    lg_TState *ts = lg_tstate_tls;
    G->head = G->tail = NULL;
    atomic_store(&G->nqueued, 0);
    G->expected = 0;
    atomic_store(&G->drop_request, 0);
    atomic_store(&G->holder, ts);
    if (ts != NULL) {
      ts->gil_next = NULL;
      ts->expected = 0;
    }
    lg_check(pthread_cond_init(&G->arrived, NULL));
    lg_check(pthread_cond_init(&G->never, NULL));
    lg_service_forget(&G->timer);  /* the next thread that queues starts
                                       one */
  }
}


void lg_gil_finalize (lg_IState *I) {
  lg_Gil *G = I->gil;
  lg_check(pthread_mutex_lock(&G->mutex));
  G->finalizing = 1;
  atomic_store(&G->drop_request, 0);
  lg_check(pthread_cond_broadcast(&G->arrived));
  lg_check(pthread_mutex_unlock(&G->mutex));
}


int lg_gil_finalizing (lg_IState *I) {
  lg_Gil *G = I->gil;
  int f;
  lg_check(pthread_mutex_lock(&G->mutex));
  f = G->finalizing;
  lg_check(pthread_mutex_unlock(&G->mutex));
  return f;
}


/*
** {======================================================
** Blocking calls
** =======================================================
*/

static long voluntary_switches (void) {
  struct rusage ru;
  return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}


/*
** priority-io asks the kernel whether the call slept (its count of
** voluntary context switches, ~0.4 us a call) only if the caller did not
** say beforehand whether it will wait (lg_gil_will_wait).
*/
void lg_gil_blocking_drop (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  int policy = atomic_load(&G->policy), brief = ts->brief;
  ts->brief = 0;
  if (policy == LG_POLICY_PRIORITY_IO && ts->waited == 0)
    ts->nvcsw = voluntary_switches();
  if (policy == LG_POLICY_DETERMINISTIC && brief) {
    lg_TState *next;  /* hand off, then be awaited (lg_blocking_brief) */
    int saved = errno;
    lg_gil_pause(ts, LG_DROP_BLOCKING);
    lg_check(pthread_mutex_lock(&G->mutex));
    {
      next = handoff_locked(G, ts, LG_DROP_BLOCKING);
      if (!ts->expected && !G->finalizing) {
        G->expected++;
        ts->expected = 1;
      }
    }
    lg_check(pthread_mutex_unlock(&G->mutex));
    wake(next);
    errno = saved;
    return;
  }
  lg_gil_drop(ts, LG_DROP_BLOCKING);
}


void lg_gil_will_be_brief (lg_TState *ts) {
  if (lg_gil_held(ts))
    ts->brief = 1;
}


void lg_gil_will_wait (lg_TState *ts, int waits) {
  if (lg_gil_held(ts))
    ts->waited = waits ? 1 : -1;
}


void lg_gil_blocking_take (lg_TState *ts) {
  lg_Gil *G = GIL(ts);
  int saved = errno;
  int front = atomic_load(&G->policy) == LG_POLICY_PRIORITY_IO &&
              (ts->waited > 0 ||
               (ts->waited == 0 && voluntary_switches() != ts->nvcsw));
  ts->waited = 0;
  errno = saved;
  take(ts, front ? QUEUE_PRIORITY : QUEUE_BACK);
}

/* }====================================================== */
