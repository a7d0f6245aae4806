/*
** vm/fork.h -- fork() with threads and a GIL.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_fork_h
#define lg_fork_h

#include <sys/types.h>

#include "tstate.h"

/* The phases of a fork, for the subsystems' handlers. */
#define LG_FORK_PREPARE  0  /* take the internal mutexes */
#define LG_FORK_PARENT   1  /* give them back */
#define LG_FORK_CHILD    2  /* give them back and forget other threads */

/* Install the fork handlers (once; luagil_install calls it). */
LG_FUNC void lg_fork_init (void);

/*
** fork(), called with the GIL held. stdio is flushed first. In the child
** the calling thread is the only thread: it becomes the main thread and
** holds the GIL, the GIL's queue and the idle worker pool are empty, and
** Ctrl-C goes to it. Returns like fork().
*/
LG_FUNC pid_t lg_fork (void);

/* The subsystems' handlers, called by vm/fork.c in a fixed order. */
LG_FUNC void lg_tstate_atfork (int phase);
LG_FUNC void lg_worker_atfork (int phase);
LG_FUNC void lg_gil_atfork (int phase);
LG_FUNC void lg_stats_atfork (int phase);
LG_FUNC void lg_trace_atfork (int phase);
LG_FUNC void lg_breaker_atfork (int phase);

#endif
