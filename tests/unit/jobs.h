/*
** tests/unit/jobs.h -- fixtures shared by the vm/ unit tests: the fresh
** interpreter of fixture.h, and Lua code run as jobs on worker threads.
** See LICENSE for copyright and licence (MIT).
**
** The interpreter's main thread is the test's thread. Jobs run Lua on
** worker threads (vm/worker.c), each on its own lua_State.
*/

#ifndef jobs_h
#define jobs_h

#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "fixture.h"
#include "gil.h"
#include "luagil.h"
#include "park.h"
#include "stats.h"
#include "worker.h"


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
  lg_gil_drop(ts, LG_DROP_PLAIN);
}


static void job_done (void *arg) {
  atomic_store(&((Job *)arg)->done, 1);
}


/* Start 'code' on a worker; called with the GIL held. */
static Job *spawn (const char *code) {
  Job *j = calloc(1, sizeof *j);
  unsigned long ident;
  j->L = lua_newthread(L);
  luaL_ref(L, LUA_REGISTRYINDEX);
  j->code = code;
  cr_assert_eq(lg_worker_start(run_job, job_done, j, 0, &ident),
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

#endif
