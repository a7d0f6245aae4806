/*
** vm/worker.h -- the OS threads that run luagil's threads.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_worker_h
#define lg_worker_h

#include <signal.h>
#include <stddef.h>

#include "tstate.h"

typedef void (*lg_Job) (void *arg);

/*
** Run 'job(arg)', then 'done(arg)', on an OS thread: an idle one whose
** previous job ended, or a new one with 'stacksize' bytes of stack (0: the
** default). The thread is registered (it has an lg_TState), does not hold
** the GIL when the job starts, and blocks SIGINT. Between the two calls it
** is already back in the idle pool, so a thread that waits for 'done' and
** then starts another job finds it there. 'job' may return holding the
** GIL if 'done' lets it go. Sets '*ident' to the thread's
** ident (its pthread_self()) without waiting for it to run. Returns 0 or
** an errno value. Called with the GIL held; does not release it.
*/
LG_FUNC int lg_worker_start (lg_Job job, lg_Job done, void *arg,
                             size_t stacksize, unsigned long *ident);

/*
** Start a detached OS thread running 'fn(arg)', with 'stacksize' bytes of
** stack (0: the default) and the signals in 'block' blocked. Returns 0 or
** an errno value.
*/
LG_FUNC int lg_spawn (void *(*fn) (void *), void *arg, size_t stacksize,
                      const sigset_t *block, pthread_t *t);

#endif
