/*
** tests/unit/test_park.c -- the parker (vm/park.h): a token set before a
** park ends it at once, deadlines time out, an unpark from another thread
** wakes a parked one, and a stray token ends exactly one later park.
** See LICENSE for copyright and licence (MIT).
**
** Most tests need no interpreter: they register plain threads, which park
** on a futex. The main thread of an interpreter parks on its eventfd
** instead; the last tests use the fixture for it. Threads are ordered by
** joins and tokens, never by sleeps, and no test bounds a time from above.
*/

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "clock.h"
#include "fixture.h"
#include "park.h"
#include "tstate.h"


TestSuite(park, .timeout = 60);
TestSuite(park_main, .init = setup, .fini = teardown, .timeout = 60);


/* The calling thread, registered as a thread other than the main one. */
static lg_TState *registered (void) {
  lg_TState *ts = lg_tstate_register(NULL, NULL, 0);
  cr_assert_not_null(ts);
  return ts;
}


Test(park, token_before_park_returns_at_once) {
  lg_TState *ts = registered();
  struct timespec dl;
  lg_unpark(ts);
  cr_assert_eq(lg_park(ts, NULL, 0), LG_WOKEN);  /* no deadline: would hang */
  lg_unpark(ts);
  cr_assert_eq(lg_park(ts, lg_deadline(30, &dl), 0), LG_WOKEN);
  lg_tstate_unregister(ts);
}


Test(park, deadline_in_the_past_times_out) {
  lg_TState *ts = registered();
  struct timespec past = {0, 0}, now;
  cr_assert_eq(lg_park(ts, &past, 0), LG_TIMEDOUT);
  cr_assert_eq(lg_park(ts, lg_deadline(0, &now), 0), LG_TIMEDOUT);
  lg_tstate_unregister(ts);
}


/* A timed park never ends before its deadline (a lower bound only). */
Test(park, short_deadline_times_out) {
  lg_TState *ts = registered();
  struct timespec dl;
  double t0 = lg_clock();
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_TIMEDOUT);
  cr_assert_geq(lg_clock() - t0, 0.01 - 1e-6);  /* 1 us: rounding */
  lg_tstate_unregister(ts);
}


/*
** A thread that parks once, with no deadline or with 'timeout' seconds
** (< 0: none), after it has published its state.
*/
typedef struct Parker {
  lg_TState *_Atomic ts;
  double timeout;
  int result;
} Parker;


static void *parker_main (void *arg) {
  Parker *p = arg;
  lg_TState *ts = registered();
  struct timespec dl;
  atomic_store(&p->ts, ts);
  p->result = lg_park(
    ts, p->timeout < 0 ? NULL : lg_deadline(p->timeout, &dl), 0);
  lg_tstate_unregister(ts);
  return NULL;
}


/* Start a parker; returns its state, published just before it parks. */
static lg_TState *start_parker (Parker *p, pthread_t *t, double timeout) {
  lg_TState *ts;
  atomic_store(&p->ts, NULL);
  p->timeout = timeout;
  p->result = -1;
  cr_assert_eq(pthread_create(t, NULL, parker_main, p), 0);
  while ((ts = atomic_load(&p->ts)) == NULL)
    sched_yield();
  return ts;
}


/*
** The unpark may come before the park or during it (the parker may not
** be asleep yet): either way the park ends woken. A lost wake-up hangs
** the parker with no deadline; with a 30 s one it would time out.
*/
Test(park, unpark_wakes_a_parked_thread) {
  for (int i = 0; i < 100; i++) {
    Parker p;
    pthread_t t;
    lg_unpark(start_parker(&p, &t, i % 2 ? 30 : -1));
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(p.result, LG_WOKEN, "round %d", i);
  }
}


/* A parker is seen asleep once it sleeps, and no longer once woken;
** lg_unpark_post wakes it as lg_unpark does. */
Test(park, parked_while_asleep_until_woken) {
  Parker p;
  pthread_t t;
  lg_TState *ts = start_parker(&p, &t, -1);
  while (!lg_parked(ts))  /* it sleeps for ever unless woken */
    sched_yield();
  lg_unpark_post(ts);
  cr_assert(!lg_parked(ts), "woken");
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(p.result, LG_WOKEN);
}


/* Tokens do not add up: two unparks still end one park. */
Test(park, stray_token_ends_exactly_one_park) {
  lg_TState *ts = registered();
  struct timespec dl;
  lg_unpark(ts);
  lg_unpark(ts);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_WOKEN);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_TIMEDOUT);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_TIMEDOUT);
  lg_tstate_unregister(ts);
}


/* A thread that unparks 'arg' and ends. */
static void *unparker (void *arg) {
  lg_unpark(arg);
  return NULL;
}


/* The same from another thread: the stray token waits for the park. */
Test(park, stray_token_from_another_thread) {
  lg_TState *ts = registered();
  struct timespec dl;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, unparker, ts), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_WOKEN);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), 0), LG_TIMEDOUT);
  lg_tstate_unregister(ts);
}


/*
** The interpreter's main thread parks on its eventfd (so that Ctrl-C
** can end its waits): the same token rules, without the GIL. But a token
** taken at once leaves the eventfd readable, so the next park may end
** spuriously (LG_WOKEN, which lg_park allows); the one after times out.
*/
Test(park_main, main_thread_token_and_timeout) {
  lg_TState *ts = lg_tstate_current();
  struct timespec past = {0, 0}, dl;
  int r;
  cr_assert(lg_tstate_is_main());
  LUAGIL_BEGIN_ALLOW_THREADS
  cr_assert_eq(lg_park(ts, &past, LG_PARK_NOINTR), LG_TIMEDOUT);
  lg_unpark(ts);
  cr_assert_eq(lg_park(ts, NULL, LG_PARK_NOINTR), LG_WOKEN);
  r = lg_park(ts, lg_deadline(0.01, &dl), LG_PARK_NOINTR);
  cr_assert(r == LG_WOKEN || r == LG_TIMEDOUT);
  cr_assert_eq(lg_park(ts, lg_deadline(0.01, &dl), LG_PARK_NOINTR),
               LG_TIMEDOUT);
  LUAGIL_END_ALLOW_THREADS
}


/* The main thread woken by another thread's unpark, while it parks. */
Test(park_main, unpark_wakes_the_main_thread) {
  lg_TState *ts = lg_tstate_current();
  LUAGIL_BEGIN_ALLOW_THREADS
  for (int i = 0; i < 100; i++) {
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, unparker, ts), 0);
    cr_assert_eq(lg_park(ts, NULL, LG_PARK_NOINTR), LG_WOKEN);
    cr_assert_eq(pthread_join(t, NULL), 0);
  }
  LUAGIL_END_ALLOW_THREADS
}
