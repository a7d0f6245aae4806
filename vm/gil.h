/*
** vm/gil.h -- the global interpreter lock.
** See LICENSE for copyright and licence (MIT).
**
** Floor 3 of vm/ (docs/ARCHITECTURE.md), paired with vm/breaker.h; uses
** vm/park.h, vm/stats.h, vm/service.h. vm/gil.c's top comment explains
** the protocol.
*/

#ifndef lg_gil_h
#define lg_gil_h

#include "istate.h"
#include "tstate.h"

/* Default switch interval, in seconds. */
#define LG_DEFAULT_INTERVAL  0.005
/* The longest switch interval (seconds, about three years): the timer's
** deadlines, 8 intervals ahead at most, stay far from overflowing. */
#define LG_MAX_INTERVAL      1e8

/* Switching policies. */
#define LG_POLICY_INTERVAL       0  /* drop requests after an interval */
#define LG_POLICY_TICKS          1  /* Python 2: drop every N instructions */
#define LG_POLICY_PRIORITY_IO    2  /* returning from I/O jumps the queue */
#define LG_POLICY_DETERMINISTIC  3  /* round-robin every N +- jitter */
#define LG_POLICY_GVL            4  /* Ruby's GVL: a slice of N ms */

/* The 'n' of interval: how a release that no drop request asked for
** goes, straight to the next waiter (luagil's default, the faster one on
** the benchmarks) or free for whoever comes first (CPython 3's drop_gil,
** "interval:free"). */
#define LG_INTERVAL_HANDOFF  0
#define LG_INTERVAL_FREE     1

/* Their names, by number, then NULL (for luaL_checkoption). */
LG_FUNC const char *const lg_gil_policynames[];


/*
** Create interpreter 'I''s GIL (after its statistics, vm/stats.h); the
** calling thread 'ts' (its main thread) holds it. 0 or ENOMEM.
** lg_gil_free frees it once no thread of 'I' is left.
*/
LG_FUNC int lg_gil_init (lg_IState *I, lg_TState *ts);
LG_FUNC void lg_gil_free (lg_IState *I);

/* waiting -> running: block until 'ts' holds the GIL. Preserves errno. */
LG_FUNC void lg_gil_take (lg_TState *ts);

/*
** The caller holds the GIL and wakes 'waiter', which is parked in a
** blocking call (lg_waitq_wait): queue it for the GIL now, without waking
** it; the handoff that grants it the GIL wakes it, once. Returns false
** (nothing done) where the waker must unpark it itself: under another
** policy than 'interval', or if the caller does not hold the GIL.
*/
LG_FUNC int lg_gil_wake_into (lg_TState *waiter);

/* running -> released, for 'reason' (LG_DROP_* in vm/stats.h). Preserves
** errno. */
LG_FUNC void lg_gil_drop (lg_TState *ts, int reason);

/*
** lg_gil_drop in two halves. A worker that switches tasks (vm/task.c)
** keeps the GIL: it pauses for the one ('reason' as for lg_gil_drop),
** sets 'ts->stats' and the running state to the other's, and unpauses.
** The switch interval runs on: a stream of short tasks cannot keep a
** waiter out. A worker with no task left releases the GIL instead.
*/
LG_FUNC void lg_gil_pause (lg_TState *ts, int reason);
LG_FUNC void lg_gil_unpause (lg_TState *ts);
LG_FUNC void lg_gil_release (lg_TState *ts, int reason);

/*
** running -> released -> running, for a drop request: does not take the
** GIL back before another thread has had it (forced switching).
*/
LG_FUNC void lg_gil_yield (lg_TState *ts);

/* time.sleep(0): yield if another thread waits for the GIL. */
LG_FUNC void lg_gil_yield_if_waiting (lg_TState *ts);

/* True if a drop request is outstanding and 'ts' holds the GIL. */
LG_FUNC int lg_gil_drop_pending_for (lg_TState *ts);

/* The deadlock detector's count of the blocked threads of 'I' (vm/waitq.c):
** it lives in the GIL, beside what every handoff writes. */
LG_FUNC atomic_int *lg_gil_nblocked (lg_IState *I);

/* Number of threads waiting for 'I''s GIL now (any thread). */
LG_FUNC int lg_gil_nwaiting (lg_IState *I);

/* Number of times 'I''s GIL went to another thread than the one that
** last had it, so far (any thread). */
LG_FUNC unsigned long lg_gil_switches (lg_IState *I);

/* Does 'ts' hold the GIL? For assertions. */
LG_FUNC int lg_gil_held (lg_TState *ts);

/*
** The GIL-hog watchdog (any thread): while others wait, a holder that
** keeps the GIL 'seconds' past the first drop request (a C function that
** blocks without letting it go) gets one warning on stderr, naming it,
** where it is and how long it held the GIL. 0 turns it off (the default).
** Under the policies whose timer raises drop requests (interval,
** priority-io).
*/
LG_FUNC double lg_gil_getwarn (lg_IState *I);
LG_FUNC void lg_gil_setwarn (lg_IState *I, double seconds);

/* The switch interval in seconds (any thread). */
LG_FUNC double lg_gil_getinterval (lg_IState *I);
LG_FUNC void lg_gil_setinterval (lg_IState *I, double seconds);

/*
** The policy and its count 'n': instructions for ticks and
** deterministic, the time slice in milliseconds for gvl, LG_INTERVAL_*
** for interval (0: HANDOFF); 0 for the
** policy's default (200 for ticks, 1000 for deterministic,
** 100 ms for gvl). Any thread; takes effect at each thread's next take
** or switch.
*/
LG_FUNC void lg_gil_setpolicy (lg_IState *I, int policy, long n);
LG_FUNC int lg_gil_getpolicy (lg_IState *I, long *n);

/* Seed of the deterministic policy's jitter (and of 'any' preemption). */
LG_FUNC void lg_gil_seed (lg_IState *I, unsigned long seed);

/*
** PCT schedules on the deterministic policy (see vm/gil.c): 'n' change
** points, ascending step numbers; priorities come from the seed. Set
** before any other thread starts.
*/
#define LG_PCT_MAXPOINTS 16
LG_FUNC void lg_gil_setpct (lg_IState *I, const long *points, int n);

/*
** Under the deterministic policy, once more than 'steps' instructions
** have run, or the virtual clock (vm/clock.h) has gone 'ns' past its
** start, 'f' is called once, with the GIL held, in the thread that runs
** 'L', with what was exceeded ("budget of N steps exceeded"); it must not
** return. 0 for either: no limit.
*/
typedef void (*lg_BudgetFn) (lua_State *L, const char *what);
LG_FUNC void lg_gil_setbudget (lg_IState *I, long steps, long ns,
                               lg_BudgetFn f);

/* vm/waitq.c is about to move the virtual clock 'ns' past its start: past
** the budget, this calls the function (GIL held) and does not return. */
LG_FUNC void lg_gil_checktime (lg_IState *I, long ns);

/* Under the deterministic policy: switch points so far, and how many of
** them switched a holder away while it could still run. */
LG_FUNC void lg_gil_schedule (lg_IState *I, long *steps, long *forced);

/*
** For a policy that counts instructions: the count until this holder's
** next switch, or 0 if the policy does not count. GIL held.
*/
LG_FUNC long lg_gil_count (lg_TState *ts);

/*
** A switch point of a counting policy, from the hook (GIL held). Returns 0
** if it did not switch (ticks with nobody waiting): the hook keeps its
** count then.
*/
LG_FUNC int lg_gil_policy_switch (lg_TState *ts);

/*
** Deterministic policy: the caller (GIL held) has made 'ts' runnable, or
** (ts NULL) is starting a thread; the next handoff waits until it has
** queued for the GIL, so the order in which the OS wakes threads never
** decides who runs next. No effect under other policies.
*/
LG_FUNC int lg_gil_expect (lg_IState *I, lg_TState *ts);  /* true if it
                                                            counted */
LG_FUNC void lg_gil_unexpect (lg_IState *I);  /* a start that failed */

/*
** Interpreter shutdown, called by the main thread holding the GIL: from
** now on any other thread that wants the GIL parks forever, and the main
** thread is never asked to drop it.
*/
LG_FUNC void lg_gil_finalize (lg_IState *I);
LG_FUNC int lg_gil_finalizing (lg_IState *I);


/*
** The GIL's half of the blocking bracket (vm/waitq.h's LG_BEGIN_BLOCKING
** and LG_END_BLOCKING): running -> released for a blocking call, and
** waiting -> running after it, where under priority-io a call that
** waited (it slept in the kernel, or lg_gil_will_wait said it would)
** queues at the front; when lg_gil_will_wait said whether it will, the
** kernel is not asked. Both preserve errno.
*/
LG_FUNC void lg_gil_blocking_drop (lg_TState *ts);
LG_FUNC void lg_gil_blocking_take (lg_TState *ts);
LG_FUNC void lg_gil_will_wait (lg_TState *ts, int waits);  /* GIL held,
                                                              or nothing */
LG_FUNC void lg_gil_will_be_brief (lg_TState *ts);  /* lg_blocking_brief */

/* fork(): gil.mutex is held across it; the child's caller holds the GIL
** and the queue is empty. */
LG_FUNC void lg_gil_atfork (lg_IState *I, int phase);

#endif
