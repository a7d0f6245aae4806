/*
** tests/unit/test_gil.c -- the GIL and the eval breaker, driven from C.
** See LICENSE for copyright and licence (MIT).
**
** Each test runs in its own process (Criterion forks), with a fresh
** interpreter whose main thread is the test's thread. Jobs run Lua on
** worker threads (vm/worker.c), each on its own lua_State.
*/

#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "luagil.h"
#include "park.h"
#include "worker.h"

static lua_State *L;


static void setup (void) {
  luagil_Options o = {0};
  L = luagil_newstate(&o);
  cr_assert_not_null(L);
  luagil_openlibs(L);
}


static void teardown (void) {
  luagil_close(L);
}


/*
** {======================================================
** Jobs: Lua code run on a worker thread
** =======================================================
*/

typedef struct Job {
  lua_State *L;
  const char *code;
  atomic_int done;
  int status;
} Job;


static void run_job (void *arg) {
  Job *j = arg;
  lg_TState *ts = lg_tstate_current();
  lg_gil_take(ts);
  lg_tstate_setrunning(ts, j->L);
  j->status = luaL_dostring(j->L, j->code);
  lg_tstate_setrunning(ts, NULL);
  lg_gil_drop(ts);
}


static void job_done (void *arg) {
  atomic_store(&((Job *)arg)->done, 1);
}


/* Start 'code' on a worker; called with the GIL held. */
static Job *spawn (const char *code) {
  Job *j = calloc(1, sizeof *j);
  unsigned long ident;
  long native_id;
  j->L = lua_newthread(L);
  luaL_ref(L, LUA_REGISTRYINDEX);
  j->code = code;
  cr_assert_eq(lg_worker_start(run_job, job_done, j, 0, &ident, &native_id),
               0);
  return j;
}


/* Wait, without the GIL, until the job has ended; check it succeeded. */
static void finish (Job *j) {
  LUAGIL_BEGIN_ALLOW_THREADS
  while (!atomic_load(&j->done))
    sched_yield();
  LUAGIL_END_ALLOW_THREADS
  cr_assert_eq(j->status, LUA_OK, "job failed: %s", lua_tostring(j->L, -1));
  free(j);
}


/* Run 'code' in the main thread and check it succeeded. */
static void run_main (const char *code) {
  int status = luaL_dostring(L, code);
  cr_assert_eq(status, LUA_OK, "%s", lua_tostring(L, -1));
}

/* }====================================================== */


TestSuite(gil, .init = setup, .fini = teardown, .timeout = 60);


/* The main thread spins in Lua holding the GIL; only a drop request lets
** the job in to set 'stop'. One test per place a thread can spin. */
static void spin_until_stopped (const char *spin) {
  run_main("stop = false");
  Job *j = spawn("stop = true");
  run_main(spin);
  finish(j);
}


Test(gil, drop_request_reaches_holder_in_while_loop) {
  spin_until_stopped("while not stop do end");
}


Test(gil, drop_request_reaches_holder_in_numeric_for) {
  spin_until_stopped("while not stop do for i = 1, 100 do end end");
}


Test(gil, drop_request_reaches_holder_inside_coroutine) {
  spin_until_stopped(
    "local co = coroutine.wrap(function () while not stop do end end)\n"
    "co()");
}


Test(gil, drop_request_reaches_holder_in_function_called_in_loop) {
  spin_until_stopped(
    "local function f (x) return x + 1 end\n"
    "local n = 0 while not stop do n = f(n) end");
}


Test(gil, drop_request_reaches_holder_inside_pcall_and_metamethod) {
  spin_until_stopped(
    "local t = setmetatable({}, {__index = function () return stop end})\n"
    "pcall(function () while not t.x do end end)");
}


/* Forced switching: a thread that yields for a request does not take the
** GIL back before the waiting thread has had it. */
Test(gil, forced_switch_hands_gil_to_waiter_first) {
  lg_TState *ts = lg_tstate_current();
  run_main("order = {}");
  for (int i = 0; i < 20; i++) {
    Job *j = spawn("table.insert(order, 'job')");
    while (lg_gil_nwaiting() == 0)  /* the job queues up for the GIL */
      sched_yield();
    lg_gil_yield(ts);  /* as the hook does for a drop request */
    run_main("table.insert(order, 'main')");
    finish(j);
  }
  run_main(
    "local jobs = 0\n"
    "for i, who in ipairs(order) do\n"
    "  if who == 'job' then jobs = jobs + 1 end\n"
    "  assert(jobs * 2 >= i and (i % 2 == 0 or who == 'job'),\n"
    "         'main retook the GIL before the job ran')\n"
    "end\n"
    "assert(jobs == 20)");
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


Test(gil, lost_request_is_recovered_by_re_request) {
  lua_register(L, "lose_one_request", lose_one_request);
  spin_until_stopped("lose_one_request() while not stop do end");
}


/* N threads of CPU work all make progress, the main thread too. */
Test(gil, cpu_bound_threads_all_progress) {
  enum { N = 4 };
  static char code[N][128];
  Job *jobs[N];
  run_main("stop = false progress = {}");
  for (int i = 0; i < N; i++) {
    snprintf(code[i], sizeof code[i],
             "progress[%d] = 0 while not stop do "
             "progress[%d] = progress[%d] + 1 end", i + 1, i + 1, i + 1);
    jobs[i] = spawn(code[i]);
  }
  run_main(
    "repeat\n"
    "  local all = true\n"
    "  for i = 1, 4 do if (progress[i] or 0) < 1000 then all = false end end\n"
    "until all\n"
    "stop = true");
  for (int i = 0; i < N; i++)
    finish(jobs[i]);
}


/* The allow-threads pair lets another thread run Lua meanwhile. */
Test(gil, allow_threads_lets_another_thread_run) {
  run_main("ran = false");
  Job *j = spawn("ran = true");
  LUAGIL_BEGIN_ALLOW_THREADS
  while (!atomic_load(&j->done))  /* the job needs the GIL to finish */
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


/* A second interpreter in the same process is refused. */
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
