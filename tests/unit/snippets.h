/*
** tests/unit/snippets.h -- fixtures shared by the vm/ unit tests: the fresh
** interpreter of fixture.h, and Lua code run as snippets on worker threads.
** See LICENSE for copyright and licence (MIT).
**
** The interpreter's main thread is the test's thread. Snippets run Lua on
** worker threads (vm/task.c), each on its own lua_State.
*/

#ifndef snippets_h
#define snippets_h

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
** Snippets: Lua code run on a worker thread
** =======================================================
*/

typedef struct Snippet {
  lg_Task task;  /* first */
  const char *code;
  atomic_int done;
  int status;
} Snippet;


/* The task's run: the worker holds the GIL and runs the snippet's state. */
static int run_job (lg_Task *t) {
  Snippet *j = (Snippet *)t;
  j->status = luaL_dostring(t->L, j->code);
  return LG_TASK_DONE;
}


static void job_done (lg_Task *t) {
  (void)t;
}


static void job_release (lg_Task *t) {
  atomic_store(&((Snippet *)t)->done, 1);
}


/* Start 'code' on a worker; called with the GIL held. */
static Snippet *spawn (const char *code) {
  Snippet *j = calloc(1, sizeof *j);
  lg_task_init(&j->task, lg_interp_current());
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


/* Wait, without the GIL, until the snippet has ended; check it succeeded. */
static void finish (Snippet *j) {
  LUAGIL_BEGIN_ALLOW_THREADS
  while (!atomic_load(&j->done))
    sched_yield();
  LUAGIL_END_ALLOW_THREADS
  cr_assert_eq(j->status, LUA_OK, "snippet failed: %s",
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
