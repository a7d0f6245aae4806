/*
** tests/unit/test_gil.c -- the GIL: handoff and forced switching, the
** allow-threads pair, settings, one interpreter per process.
** See LICENSE for copyright and licence (MIT).
*/

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
