/*
** tests/unit/test_task.c -- tasks on workers (vm/task.h): a task started
** under the GIL runs once on a worker, holding the GIL, as itself (its
** ident); its 'done' and then its 'release' are called once each; and
** many tasks started at once all run.
** See LICENSE for copyright and licence (MIT).
**
** The test's thread is the interpreter's main thread (fixture.h). It
** waits for the tasks by parking until the last release unparks it: no
** sleeps, no time limits but Criterion's.
*/

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "fixture.h"
#include "gil.h"
#include "park.h"
#include "task.h"
#include "tstate.h"


TestSuite(task, .init = setup, .fini = teardown, .timeout = 60);


typedef struct Probe {
  lg_Task task;  /* first */
  atomic_int runs, dones, releases;
  int held_in_run, held_in_done;  /* the GIL was held there */
  int done_before_release;
  int self_is_task;               /* lg_self() was the task in run */
  unsigned long ident;            /* lg_self_ident() in run */
  pthread_t thread;               /* the worker that ran it */
} Probe;


static struct {
  lg_TState *main;                /* unparked by the last release */
  atomic_int released;
  int n;
} waiting;


static int probe_run (lg_Task *t) {
  Probe *p = (Probe *)t;
  lg_TState *ts = lg_tstate_current();
  atomic_fetch_add(&p->runs, 1);
  p->held_in_run = ts != NULL && lg_gil_held(ts);
  p->self_is_task = lg_self() == (const void *)t;
  p->ident = lg_self_ident();
  p->thread = pthread_self();
  return LG_TASK_DONE;
}


static void probe_done (lg_Task *t) {
  Probe *p = (Probe *)t;
  atomic_fetch_add(&p->dones, 1);
  p->held_in_done = lg_gil_held(lg_tstate_current());
}


static void probe_release (lg_Task *t) {
  Probe *p = (Probe *)t;
  p->done_before_release = atomic_load(&p->dones) == 1;
  atomic_fetch_add(&p->releases, 1);
  if (atomic_fetch_add(&waiting.released, 1) + 1 == waiting.n)
    lg_unpark(waiting.main);
}


/* Start 'n' probes under the GIL; idents 1000 + i. */
static Probe *start_probes (int n) {
  Probe *p = calloc((size_t)n, sizeof *p);
  cr_assert_not_null(p);
  waiting.main = lg_tstate_current();
  atomic_store(&waiting.released, 0);
  waiting.n = n;
  for (int i = 0; i < n; i++) {
    lg_Task *t = &p[i].task;
    lg_task_init(t, lg_interp_current());
    t->run = probe_run;
    t->done = probe_done;
    t->release = probe_release;
    t->L = lua_newthread(L);
    luaL_ref(L, LUA_REGISTRYINDEX);  /* kept until the interpreter closes */
    t->ident = 1000 + (unsigned long)i;
    cr_assert_eq(lg_task_start(t), 0, "task %d", i);
  }
  return p;
}


/* Wait, without the GIL, until every probe has been released. */
static void wait_released (void) {
  LUAGIL_BEGIN_ALLOW_THREADS
  while (atomic_load(&waiting.released) < waiting.n)
    lg_park(waiting.main, NULL, LG_PARK_NOINTR);
  LUAGIL_END_ALLOW_THREADS
}


static void check_probe (Probe *p, int i) {
  cr_assert_eq(atomic_load(&p->runs), 1, "task %d: runs", i);
  cr_assert_eq(atomic_load(&p->dones), 1, "task %d: dones", i);
  cr_assert_eq(atomic_load(&p->releases), 1, "task %d: releases", i);
  cr_assert(p->held_in_run && p->held_in_done, "task %d: no GIL", i);
  cr_assert(p->done_before_release, "task %d: released before done", i);
  cr_assert(p->self_is_task, "task %d: lg_self", i);
  cr_assert_eq(p->ident, 1000 + (unsigned long)i, "task %d: ident", i);
  cr_assert(!pthread_equal(p->thread, pthread_self()),
            "task %d ran on the main thread", i);
}


Test(task, task_runs_once_with_its_ident) {
  Probe *p = start_probes(1);
  wait_released();
  check_probe(&p[0], 0);
  free(p);
}


/* More tasks than workers at once: the ready queue holds the rest. */
Test(task, many_tasks_all_run) {
  const int n = 200;
  Probe *p = start_probes(n);
  wait_released();
  for (int i = 0; i < n; i++)
    check_probe(&p[i], i);
  free(p);
}
