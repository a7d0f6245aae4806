/*
** vm/sigint.h -- Ctrl-C: the flag that says one came, and the eventfd that
** the main thread's waits watch (vm/park.c) so that it ends them.
** See LICENSE for copyright and licence (MIT).
**
** Floor 1 of vm/ (docs/ARCHITECTURE.md): uses only vm/base.h. The
** handler that also asks the main thread's Lua code to stop is the eval
** breaker's (vm/breaker.c); it calls lg_sigint_note.
*/

#ifndef lg_sigint_h
#define lg_sigint_h

#include "base.h"

/* Make the descriptor (once, at install). */
LG_FUNC void lg_sigint_init (void);

/* A Ctrl-C came: set the flag and make the descriptor readable.
** Async-signal-safe. */
LG_FUNC void lg_sigint_note (void);

/* Is one pending? Any thread, any time. */
LG_FUNC int lg_sigint_pending (void);

/* Consume a pending one (flag and descriptor); true if one was pending. */
LG_FUNC int lg_sigint_take (void);

/* The descriptor, readable while one is pending; -1 before init. */
LG_FUNC int lg_sigint_fd (void);

/* fork(): the child gets a descriptor of its own (see vm/sigint.c). */
LG_FUNC void lg_sigint_atfork (int phase);

#endif
