/*
** vm/fork.c -- fork() with threads and a GIL.
** See LICENSE for copyright and licence (MIT).
**
** A child of fork() has one thread, the one that forked, but a copy of
** every mutex as it was: one held by a thread that does not exist in the
** child stays held for ever. So, as POSIX intends pthread_atfork for, the
** prepare handlers take luagil's internal mutexes (none is held for long,
** and none is taken while another of them is held, so any order is free of
** deadlock), the parent's give them back, and the child's give them back
** and forget every other thread: the forking thread becomes the main
** thread and holds the GIL. User-visible locks (threading.Lock, ...) keep
** their state in the child, as in Python.
**
** One registration serves all: vm/'s subsystems in a fixed order, then
** the modules' handlers (lg_fork_register) around them.
*/

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "breaker.h"
#include "fork.h"
#include "gil.h"
#include "istate.h"
#include "sigint.h"
#include "stats.h"
#include "task.h"
#include "trace.h"
#include "tstate.h"
#include "waitq.h"

#define MAX_HANDLERS  8  /* modules with a handler: _thread, socket, ... */


/* The modules' handlers: 'n' counts the slots written (GIL held). */
static struct {
  lg_ForkHandler fn[MAX_HANDLERS];
  atomic_int n;
} modules;


void lg_fork_register (lg_ForkHandler fn) {
  int n = atomic_load(&modules.n);
  for (int i = 0; i < n; i++)
    if (modules.fn[i] == fn)
      return;
  if (n == MAX_HANDLERS)
    lg_fatal("lg_fork_register", ENOSPC);
  modules.fn[n] = fn;
  atomic_store(&modules.n, n + 1);
}


/* A thread that did not come along: off the wait queue it was on. */
static void forget (lg_TState *ts) {
  lg_waitq_forget(&ts->wq);
}


/* An interpreter's parts. */
static void interp_handlers (lg_IState *I, int phase) {
  lg_task_atfork(I, phase);
  lg_stats_atfork(I, phase);
  lg_gil_atfork(I, phase);
}


static void vm_handlers (int phase) {
  lg_tstate_atfork(phase, forget);
  lg_istate_atfork(phase, interp_handlers);
  lg_listeners_atfork(phase);
  lg_trace_atfork(phase);
  lg_breaker_atfork(phase);
  lg_sigint_atfork(phase);
  lg_waitq_atfork(phase);
}


static void prepare (void) {
  for (int i = atomic_load(&modules.n) - 1; i >= 0; i--)
    modules.fn[i](LG_FORK_PREPARE);
  vm_handlers(LG_FORK_PREPARE);
}


static void after (int phase) {
  int n = atomic_load(&modules.n);
  vm_handlers(phase);
  for (int i = 0; i < n; i++)
    modules.fn[i](phase);
}


static void parent (void) { after(LG_FORK_PARENT); }
static void child (void) { after(LG_FORK_CHILD); }


static void install (void) {
  lg_check(pthread_atfork(prepare, parent, child));
}


void lg_fork_init (void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  lg_check(pthread_once(&once, install));
}


pid_t lg_fork (void) {
  fflush(NULL);  /* else both would write what is buffered */
  return fork();
}
