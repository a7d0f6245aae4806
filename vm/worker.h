/*
** vm/worker.h -- the OS threads that run luagil's threads.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_worker_h
#define lg_worker_h

#include <signal.h>
#include <stddef.h>

#include "tstate.h"

/* Tasks are started, woken and put to sleep through vm/task.h. */

/*
** Start a detached OS thread running 'fn(arg)', with 'stacksize' bytes of
** stack (0: the default) and exactly the signals in 'block' blocked.
** Returns 0 or an errno value.
*/
LG_FUNC int lg_spawn (void *(*fn) (void *), void *arg, size_t stacksize,
                      const sigset_t *block, pthread_t *t);

#endif
