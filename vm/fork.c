/*
** vm/fork.c -- fork() with threads and a GIL.
** See LICENSE for copyright and licence (MIT).
**
** A child of fork() has one thread, the one that forked, but a copy of
** every mutex as it was: one held by a thread that does not exist in the
** child stays held for ever. So, as POSIX intends pthread_atfork for, the
** prepare handler takes luagil's internal mutexes (none is held for long,
** and none is taken while another of them is held, so any order is free of
** deadlock), the parent gives them back, and the child gives them back and
** forgets every other thread: the forking thread becomes the main thread
** and holds the GIL. User-visible locks (threading.Lock, ...) keep their
** state in the child, as in Python.
*/

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "fork.h"


static void each (int phase) {
  lg_tstate_atfork(phase);
  lg_worker_atfork(phase);
  lg_stats_atfork(phase);
  lg_trace_atfork(phase);
  lg_gil_atfork(phase);     /* innermost of the internal mutexes: last */
  lg_breaker_atfork(phase);
}


static void prepare (void) { each(LG_FORK_PREPARE); }
static void parent (void) { each(LG_FORK_PARENT); }
static void child (void) { each(LG_FORK_CHILD); }


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
