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
#include "task.h"


/*
** {======================================================
** Jobs: Lua code run on a worker thread
** =======================================================
*/

typedef struct Job {
  lg_Task task;  /* first */
  const char *code;
  atomic_int done;
  int status;
} Job;


/* The task's run: the worker holds the GIL and runs the job's state. */
static int run_job (lg_Task *t) {
  Job *j = (Job *)t;
  j->status = luaL_dostring(t->L, j->code);
  return LG_TASK_DONE;
}


static void job_done (lg_Task *t) {
  (void)t;
}


static void job_release (lg_Task *t) {
  atomic_store(&((Job *)t)->done, 1);
}


/* Start 'code' on a worker; called with the GIL held. */
static Job *spawn (const char *code) {
  Job *j = calloc(1, sizeof *j);
  lg_task_init(&j->task);
  j->task.run = run_job;
  j->task.done = job_done;
  j->task.release = job_release;
  j->task.L = lua_newthread(L);
  luaL_ref(L, LUA_REGISTRYINDEX);
  j->task.ident = (unsigned long)j;
  j->code = code;
  cr_assert_eq(lg_task_start(&j->task), 0);
  return j;
}


/* Wait, without the GIL, until the job has ended; check it succeeded. */
static void finish (Job *j) {
  LUAGIL_BEGIN_ALLOW_THREADS
  while (!atomic_load(&j->done))
    sched_yield();
  LUAGIL_END_ALLOW_THREADS
  cr_assert_eq(j->status, LUA_OK, "job failed: %s",
               lua_tostring(j->task.L, -1));
  free(j);
}


/* Run 'code' in the main thread and check it succeeded. */
static void run_main (const char *code) {
  int status = luaL_dostring(L, code);
  cr_assert_eq(status, LUA_OK, "%s", lua_tostring(L, -1));
}

/* }====================================================== */

#endif
