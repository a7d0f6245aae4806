/*
** vm/park.h -- parking a thread, and polling descriptors against Ctrl-C.
** See LICENSE for copyright and licence (MIT).
**
** A blocking wait of luagil (join, sleep, the synchronisation objects)
** parks the calling thread on its own token and is woken by another thread
** that sets the token; only a task waiting at its own top level yields
** instead (vm/waitq.h). The main thread parks on an eventfd and also watches
** the Ctrl-C descriptor, so a Ctrl-C interrupts any of its waits; condition
** variables could not do that. A wait for a descriptor (a socket, a pipe)
** is one lg_poll, which watches Ctrl-C the same way.
**
** Floor 2 of vm/ (docs/ARCHITECTURE.md): uses vm/tstate.h, vm/clock.h
** (included: the deadlines of every wait), vm/sigint.h. Nothing here
** touches the GIL: the callers release it (vm/waitq.h).
*/

#ifndef lg_park_h
#define lg_park_h

#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "tstate.h"

/* Results of a wait. */
#define LG_WOKEN        0
#define LG_TIMEDOUT     1
#define LG_INTERRUPTED  2  /* Ctrl-C arrived (main thread only) */

/* Flags of lg_park. */
#define LG_PARK_SPIN    1  /* spin a few microseconds before sleeping */
#define LG_PARK_NOINTR  2  /* Ctrl-C does not end the wait */

/*
** Park the calling thread until woken, the deadline (NULL: none) passes,
** or (main thread, without LG_PARK_NOINTR) Ctrl-C. May return LG_WOKEN
** spuriously. Called without the GIL. Retries on EINTR.
*/
LG_FUNC int lg_park (lg_TState *ts, const struct timespec *deadline,
                     int flags);

/* Wake 'ts' (any thread, any time; a token is kept if it is not parked). */
LG_FUNC void lg_unpark (lg_TState *ts);

/*
** Wake 'ts' as lg_unpark does, but make the wake-up system call even if
** it is not asleep, as a lock of Python 2 does on every release while a
** thread waits for it ('ticks' models its GIL: vm/gil.c).
*/
LG_FUNC void lg_unpark_post (lg_TState *ts);

/* Is 'ts' asleep in lg_park now, not yet woken (any thread, a glance)? */
LG_FUNC int lg_parked (lg_TState *ts);

/*
** Poll the 'n' descriptors of 'fds' (as poll(2); the caller has released
** the GIL) until one has an event, 'deadline' passes (NULL: never; a
** deadline that has passed still polls once, so a ready descriptor is
** seen), or what 'intr' asks to watch: LG_POLL_SIGINT (1, so a true
** value), a pending Ctrl-C; LG_POLL_CANCEL, an interrupt of the caller's
** waiter (a cancellation: vm/waitq.h's lg_waiter_interrupt signals the
** thread, and ppoll unblocks that signal only while it sleeps, so none
** is lost). 'fds' has room for n + 1: the last entry is the Ctrl-C
** descriptor's. Retries on EINTR. Returns LG_WOKEN (see the revents),
** LG_TIMEDOUT, LG_INTERRUPTED (the Ctrl-C or the interrupt stays
** pending), or -1 with errno set if poll failed.
*/
#define LG_POLL_SIGINT  1
#define LG_POLL_CANCEL  2
LG_FUNC int lg_poll (struct pollfd *fds, int n,
                     const struct timespec *deadline, int intr);

/* The signal that ends an LG_POLL_CANCEL poll (the eval breaker's). */
LG_FUNC void lg_poll_setsignal (int signo);

#endif
