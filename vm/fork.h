/*
** vm/fork.h -- fork() with threads and a GIL.
** See LICENSE for copyright and licence (MIT).
**
** Floor 7 of vm/ (docs/ARCHITECTURE.md), the top: it calls the fork
** handler of every subsystem below (LG_FORK_* phases, vm/base.h) in a
** fixed order, and those that modules register, through one
** pthread_atfork registration.
*/

#ifndef lg_fork_h
#define lg_fork_h

#include <sys/types.h>

#include "base.h"

/* Install the fork handlers (once; luagil_install calls it). */
LG_FUNC void lg_fork_init (void);

/*
** fork(), called with the GIL held. stdio is flushed first. In the child
** the calling thread is the only thread: it becomes the main thread and
** holds the GIL, the GIL's queue and the idle worker pool are empty, and
** Ctrl-C goes to it. Returns like fork().
*/
LG_FUNC pid_t lg_fork (void);

/*
** A module's fork handler: called with LG_FORK_PREPARE before vm/'s own
** handlers take their mutexes (so it may still use them), and with
** LG_FORK_PARENT or LG_FORK_CHILD after vm/'s have run (in the child, the
** caller is the main thread and holds the GIL). Modules' prepare handlers
** run newest first, the others oldest first, as pthread_atfork's do.
** Registering the same function again does nothing. Call it with the GIL
** held (from a luaopen_ function, say).
*/
typedef void (*lg_ForkHandler) (int phase);

LG_FUNC void lg_fork_register (lg_ForkHandler fn);

#endif
