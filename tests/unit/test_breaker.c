/*
** tests/unit/test_breaker.c -- the eval breaker: drop requests reach a
** thread spinning in Lua wherever it spins, lost requests are recovered,
** CPU-bound threads all progress. Needs pure-Lua code to be preempted, so
** it is left out of the ThreadSanitizer build (label 'preempt').
** See LICENSE for copyright and licence (MIT).
*/

#include "snippets.h"


TestSuite(breaker, .init = setup, .fini = teardown, .timeout = 60);


/* The main thread spins in Lua holding the GIL; only a drop request lets
** the snippet in to set 'stop'. One test per place a thread can spin. */
static void spin_until_stopped (const char *spin) {
  run_main("stop = false");
  Snippet *j = spawn("stop = true");
  run_main(spin);
  finish(j);
}


Test(breaker, drop_request_reaches_holder_in_while_loop) {
  spin_until_stopped("while not stop do end");
}


Test(breaker, drop_request_reaches_holder_in_numeric_for) {
  spin_until_stopped("while not stop do for i = 1, 100 do end end");
}


Test(breaker, drop_request_reaches_holder_inside_coroutine) {
  spin_until_stopped(
    "local co = coroutine.wrap(function () while not stop do end end)\n"
    "co()");
}


Test(breaker, drop_request_reaches_holder_in_function_called_in_loop) {
  spin_until_stopped(
    "local function f (x) return x + 1 end\n"
    "local n = 0 while not stop do n = f(n) end");
}


Test(breaker, drop_request_reaches_holder_inside_pcall_and_metamethod) {
  spin_until_stopped(
    "local t = setmetatable({}, {__index = function () return stop end})\n"
    "pcall(function () while not t.x do end end)");
}


/* A request that the holder loses (its hook cleared before it fired) is
** recovered: the waiter signals again. */
static int lose_one_request (lua_State *co) {
  lg_TState *ts = lg_tstate_current();
  while (!ts->armed)  /* the first request arrives ... */
    ;
  sigset_t saved;
  lg_breaker_block(1, &saved);
  lua_sethook(co, NULL, 0, 0);  /* ... and is lost */
  ts->armed = 0;
  lg_breaker_block(0, &saved);
  return 0;
}


Test(breaker, lost_request_is_recovered_by_re_request) {
  lua_register(L, "lose_one_request", lose_one_request);
  spin_until_stopped("lose_one_request() while not stop do end");
}


/* N threads of CPU work all make progress, the main thread too. */
Test(breaker, cpu_bound_threads_all_progress) {
  enum { N = 4 };
  static char code[N][128];
  Snippet *snippets[N];
  run_main("stop = false progress = {}");
  for (int i = 0; i < N; i++) {
    snprintf(code[i], sizeof code[i],
             "progress[%d] = 0 while not stop do "
             "progress[%d] = progress[%d] + 1 end", i + 1, i + 1, i + 1);
    snippets[i] = spawn(code[i]);
  }
  run_main(
    "repeat\n"
    "  local all = true\n"
    "  for i = 1, 4 do if (progress[i] or 0) < 1000 then all = false end end\n"
    "until all\n"
    "stop = true");
  for (int i = 0; i < N; i++)
    finish(snippets[i]);
}
