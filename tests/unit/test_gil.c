/*
** tests/unit/test_gil.c -- the GIL: handoff and forced switching, the
** allow-threads pair, settings, one interpreter per process.
** See LICENSE for copyright and licence (MIT).
*/

#include <pthread.h>
#include <signal.h>

#include "snippets.h"


TestSuite(gil, .init = setup, .fini = teardown, .timeout = 60);


/* Forced switching: a thread that yields for a request does not take the
** GIL back before the waiting thread has had it. */
Test(gil, forced_switch_hands_gil_to_waiter_first) {
  lg_TState *ts = lg_tstate_current();
  run_main("order = {}");
  for (int i = 0; i < 20; i++) {
    Snippet *j = spawn("table.insert(order, 'snippet')");
    while (lg_gil_nwaiting(lg_interp_current()) == 0)  /* the snippet queues up for the GIL */
      sched_yield();
    lg_gil_yield(ts);  /* as the hook does for a drop request */
    run_main("table.insert(order, 'main')");
    finish(j);
  }
  run_main(
    "local snippets = 0\n"
    "for i, who in ipairs(order) do\n"
    "  if who == 'snippet' then snippets = snippets + 1 end\n"
    "  assert(snippets * 2 >= i and (i % 2 == 0 or who == 'snippet'),\n"
    "         'main retook the GIL before the snippet ran')\n"
    "end\n"
    "assert(snippets == 20)");
}


/* The allow-threads pair lets another thread run Lua meanwhile. */
Test(gil, allow_threads_lets_another_thread_run) {
  run_main("ran = false");
  Snippet *j = spawn("ran = true");
  LUAGIL_BEGIN_ALLOW_THREADS
  while (!atomic_load(&j->done))  /* the snippet needs the GIL to finish */
    sched_yield();
  LUAGIL_END_ALLOW_THREADS
  run_main("assert(ran)");
  finish(j);
}


/* The allow-threads pair keeps errno. */
Test(gil, allow_threads_preserves_errno) {
  errno = ERANGE;
  LUAGIL_BEGIN_ALLOW_THREADS
  cr_assert_eq(errno, ERANGE);
  errno = EDOM;
  LUAGIL_END_ALLOW_THREADS
  cr_assert_eq(errno, EDOM);
}


/* Nothing is armed while one thread runs: no hook on the main state. */
Test(gil, single_thread_runs_without_hook) {
  run_main("local x = 0 for i = 1, 1000000 do x = x + i end");
  cr_assert_null(lua_gethook(L));
}


/* A second interpreter installed by the same thread is refused. */
Test(gil, second_install_fails_clearly) {
  lua_State *L2 = luaL_newstate();
  cr_assert_neq(luagil_install(L2, NULL), LUA_OK);
  cr_assert(strstr(lua_tostring(L2, -1), "already installed") != NULL);
  lua_close(L2);
}


Test(gil, switch_interval_set_and_checked) {
  cr_assert_float_eq(luagil_getswitchinterval(), 0.005, 1e-9);
  cr_assert(luagil_setswitchinterval(0.001));
  cr_assert_float_eq(luagil_getswitchinterval(), 0.001, 1e-9);
  cr_assert(!luagil_setswitchinterval(0));
  cr_assert(!luagil_setswitchinterval(-1));
  cr_assert(luagil_setpreempt("safe") && luagil_setpreempt("any"));
  cr_assert(!luagil_setpreempt("sometimes"));
}


/*
** A waiter that an Event wakes is woken even if its timeout then passes
** before it gets the GIL: under 'interval' it waits in the GIL's queue
** from the set() on (lg_gil_wake_into), under the other policies it wakes
** and queues itself.
*/
Test(gil, woken_waiter_stays_woken_past_its_timeout) {
  const int policies[] = {LG_POLICY_INTERVAL, LG_POLICY_TICKS,
                          LG_POLICY_PRIORITY_IO};
  run_main("threading = require 'threading'\n"
           "time = require 'time'");
  for (int i = 0; i < 3; i++) {
    lg_gil_setpolicy(lg_interp_current(), policies[i], 0);
    run_main("ev = threading.Event(); got = nil");
    Snippet *j = spawn("got = ev:wait(0.05)");
    run_main("while ev:_waiting() == 0 do time.sleep(0.001) end\n"
             "ev:set()");
    if (policies[i] == LG_POLICY_INTERVAL)
      cr_assert_eq(lg_gil_nwaiting(lg_interp_current()), 1, "queued for the GIL at set()");
    usleep(100000);  /* holding the GIL past the waiter's timeout */
    finish(j);
    run_main("assert(got == true, 'wait() said ' .. tostring(got))");
  }
  lg_gil_setpolicy(lg_interp_current(), LG_POLICY_INTERVAL, 0);
}


/*
** A waiter whose timeout passed while the waker held the GIL queues for
** the GIL by itself; when the waker then chooses it (it is still on the
** Event's queue), it must not be queued a second time.
*/
Test(gil, waiter_that_timed_out_is_not_queued_twice) {
  run_main("threading = require 'threading'\n"
           "time = require 'time'\n"
           "ev = threading.Event(); got = nil");
  Snippet *j = spawn("got = ev:wait(0.02)");
  run_main("while ev:_waiting() == 0 do time.sleep(0.001) end");
  while (lg_gil_nwaiting(lg_interp_current()) == 0)  /* holding the GIL: its timeout */
    usleep(1000);                  /* passes and it queues for the GIL */
  run_main("ev:set()");
  cr_assert_eq(lg_gil_nwaiting(lg_interp_current()), 1, "queued once");
  finish(j);
  run_main("assert(got == true, 'wait() said ' .. tostring(got))");
}


/*
** {======================================================
** How each policy releases the GIL around a blocking call
** =======================================================
*/

/* A host thread that wants the GIL, and a signal that stalls it inside
** its wait until the test lets it go: it is queued but cannot compete. */
static int stall_fd[2];
static atomic_int stalled;


static void stall (int sig) {
  char c;
  (void)sig;
  atomic_store(&stalled, 1);
  while (read(stall_fd[0], &c, 1) < 0 && errno == EINTR)
    ;
}


static void *want_gil (void *arg) {
  lua_State *HL;
  (void)arg;
  if (luagil_ensure(&HL) == LUAGIL_OK)
    luagil_release();
  return NULL;
}


/*
** The main thread holds the GIL, a stalled host thread waits for it, and
** the main thread lets the GIL go for a blocking call and takes it back.
** Returns true if the release handed the GIL to the waiter (which then
** cannot give it back before it is let go: the test does so before it
** takes the GIL back), false if it left the GIL free for whoever came
** first (the main thread takes it back straight away).
*/
static int blocking_release_hands_over (int policy, long n) {
  lg_IState *I = lg_interp_current();
  struct sigaction sa = {.sa_handler = stall}, old;
  pthread_t t;
  unsigned long sw;
  int handed;
  lg_gil_setpolicy(I, policy, n);
  cr_assert_eq(pipe(stall_fd), 0);
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR2, &sa, &old), 0);
  atomic_store(&stalled, 0);
  cr_assert_eq(pthread_create(&t, NULL, want_gil, NULL), 0);
  while (lg_gil_nwaiting(I) == 0)  /* it queues behind us */
    sched_yield();
  pthread_kill(t, SIGUSR2);
  while (!atomic_load(&stalled))
    sched_yield();
  usleep(1000);  /* not an ordering: the head has waited at least 1 ms,
                    more than the 1/64 interval after which priority-io
                    once handed a one-CPU release to it */
  sw = lg_gil_switches(I);
  LUAGIL_BEGIN_ALLOW_THREADS
  handed = lg_gil_switches(I) != sw;  /* granted to the stalled thread */
  if (handed)
    cr_assert_eq(lg_gil_nwaiting(I), 0, "handed to the head");
  else
    cr_assert_eq(lg_gil_nwaiting(I), 1, "left free, the head queued");
  cr_assert_eq(write(stall_fd[1], "x", 1), 1);  /* let it go */
  if (handed)
    pthread_join(t, NULL);
  LUAGIL_END_ALLOW_THREADS
  if (!handed) {  /* we came first; now let it have its turn */
    LUAGIL_BEGIN_ALLOW_THREADS
    pthread_join(t, NULL);
    LUAGIL_END_ALLOW_THREADS
  }
  sigaction(SIGUSR2, &old, NULL);
  close(stall_fd[0]);
  close(stall_fd[1]);
  lg_gil_setpolicy(I, LG_POLICY_INTERVAL, 0);
  return handed;
}


/* interval hands the GIL to the head of the queue on every release; so
** do priority-io (on several CPUs) and deterministic. */
Test(gil, interval_hands_the_gil_over_around_blocking) {
  cr_assert(blocking_release_hands_over(LG_POLICY_INTERVAL,
                                        LG_INTERVAL_HANDOFF));
  cr_assert(blocking_release_hands_over(LG_POLICY_DETERMINISTIC, 0));
  if (lg_usable_cpus() >= 2)
    cr_assert(blocking_release_hands_over(LG_POLICY_PRIORITY_IO, 0));
}


/* interval:free (CPython 3's drop_gil) and gvl (Ruby's blocking region)
** leave the GIL free when no drop request is pending: the thread back
** from its blocking call takes it before the queued one. So does ticks
** (Python 2's lock) unless the head has waited a whole interval (here a
** minute, so that a loaded machine cannot make the head wait that long),
** and priority-io on one CPU, however long the head has waited (unit.
** test_gil_onecpu runs these under taskset -c 0). */
Test(gil, free_release_leaves_the_gil_to_whoever_comes_first) {
  cr_assert(!blocking_release_hands_over(LG_POLICY_INTERVAL,
                                         LG_INTERVAL_FREE));
  cr_assert(!blocking_release_hands_over(LG_POLICY_GVL, 0));
  lg_gil_setinterval(lg_interp_current(), 60.0);
  cr_assert(!blocking_release_hands_over(LG_POLICY_TICKS, 0));
  lg_gil_setinterval(lg_interp_current(), 0.005);
  if (lg_usable_cpus() < 2)
    cr_assert(!blocking_release_hands_over(LG_POLICY_PRIORITY_IO, 0));
}


/* ... but a drop request pending at the release is answered with a
** handoff, as CPython's drop_gil forces a switch then. */
Test(gil, free_release_hands_over_under_a_drop_request) {
  lg_IState *I = lg_interp_current();
  lg_gil_setinterval(I, 0.001);
  lg_gil_setpolicy(I, LG_POLICY_INTERVAL, LG_INTERVAL_FREE);
  Snippet *j = spawn("done = true");
  while (!lg_gil_drop_pending_for(lg_tstate_current()))  /* the timer */
    usleep(1000);                          /* asks us for the snippet */
  unsigned long sw = lg_gil_switches(I);
  LUAGIL_BEGIN_ALLOW_THREADS
  cr_assert_neq(lg_gil_switches(I), sw, "handed to the snippet");
  LUAGIL_END_ALLOW_THREADS
  finish(j);
  lg_gil_setpolicy(I, LG_POLICY_INTERVAL, 0);
  lg_gil_setinterval(I, 0.005);
}


/* Sync objects wake their waiters into the GIL's queue only under the
** default interval: interval:free and gvl wake them to compete. */
Test(gil, wake_into_only_under_interval_handoff) {
  lg_IState *I = lg_interp_current();
  const long modes[] = {LG_INTERVAL_HANDOFF, LG_INTERVAL_FREE};
  for (int i = 0; i < 3; i++) {
    lg_gil_setpolicy(I, i < 2 ? LG_POLICY_INTERVAL : LG_POLICY_GVL,
                     i < 2 ? modes[i] : 0);
    run_main("threading = require 'threading'\n"
             "time = require 'time'\n"
             "ev = threading.Event()");
    Snippet *j = spawn("assert(ev:wait())");
    run_main("while ev:_waiting() == 0 do time.sleep(0.001) end\n"
             "ev:set()");
    if (i == 0)
      cr_assert_eq(lg_gil_nwaiting(I), 1, "queued for the GIL at set()");
    else  /* woken: it queues itself once it runs, or waits for its turn */
      cr_assert(lg_gil_nwaiting(I) <= 1);
    finish(j);
  }
  lg_gil_setpolicy(I, LG_POLICY_INTERVAL, 0);
}

/* }====================================================== */
