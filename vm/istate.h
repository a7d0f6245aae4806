/*
** vm/istate.h -- an interpreter: what belongs to one, and the registry of
** the process's interpreters.
** See LICENSE for copyright and licence (MIT).
**
** Floor 1 of vm/ (docs/ARCHITECTURE.md): uses only vm/base.h.
**
** One process may run many interpreters, each with its own GIL, so that
** Lua runs in parallel in one process (issue 14; CPython's per-interpreter
** GIL, PEP 684). What is whose:
**
**   per interpreter (here)          per process (file-level globals)
**   the GIL: holder, queue, timer,  the signal handlers and the eval
**     switch interval, policy,        breaker's request signal
**     count and seed (vm/gil.c)     Ctrl-C's flag and descriptor, which
**   preemption mode (breaker)         interrupt the first interpreter's
**   the task pool: workers, ready     main thread (vm/sigint.c)
**     queue, monitor, deadline      the registry of OS threads' states
**     heap (vm/task.c)                and their free list (vm/tstate.c)
**   the statistics records          fork handlers (vm/fork.c)
**     (vm/stats.c)                  the trace and its listeners
**   finalization (vm/gil.c)           (vm/stats.c, vm/trace.c)
**
** Every lg_TState belongs to one interpreter ('interp'), set when it is
** adopted; a thread that enters another interpreter (interpreters'
** exec) does so with a second state of its own there. Each subsystem
** allocates its own part of an interpreter when it is first needed and
** keeps it behind an opaque pointer, so that this file needs none of
** their definitions (floors).
*/

#ifndef lg_istate_h
#define lg_istate_h

#include <stdatomic.h>

#include "base.h"

typedef struct lg_IState lg_IState;

struct lg_IState {
  long id;                     /* 1, 2, ...: creation order (read-only) */
  struct lg_Gil *gil;          /* vm/gil.c: lg_gil_init */
  struct lg_Pool *pool;        /* vm/task.c: made with the first task */
  struct lg_StatsSet *stats;   /* vm/stats.c: lg_stats_init */
  atomic_int preempt;          /* vm/breaker.c: LG_PREEMPT_* */
  atomic_int nthreads;         /* stdlib/_thread.c: started, not done */
  atomic_int deadlocks;        /* vm/waitq.c: LG_DEADLOCKS_* */
  atomic_int closed;           /* interp/: it was closed */
  unsigned long main_ident;    /* interp/: its main thread's ident, as
                                  threading's MainThread (read-only) */
  lg_IState *next, *prev;      /* the registry's mutex: live ones */
};


/* A new interpreter (its parts not made yet), registered; NULL if
** memory runs out. */
LG_FUNC lg_IState *lg_istate_new (void);

/* Unregister it and free what this file allocated (the subsystems free
** their parts first). */
LG_FUNC void lg_istate_free (lg_IState *I);

/* The first interpreter that is still registered (the main one), or
** NULL. */
LG_FUNC lg_IState *lg_istate_main (void);

/* Call 'fn' on every registered interpreter, oldest first, under the
** registry's mutex ('fn' must not register or free one). */
LG_FUNC void lg_istate_foreach (void (*fn) (lg_IState *I, void *ud),
                                void *ud);

/* How many interpreters were made so far (the last id). */
LG_FUNC long lg_istate_made (void);

/* How many registered interpreters are not closed. */
LG_FUNC int lg_istate_nlive (void);

/*
** fork(): the registry's mutex is held across it, and 'each' is called
** for every interpreter in every phase (after the mutex is taken in
** prepare, before it is given back or made anew).
*/
LG_FUNC void lg_istate_atfork (int phase,
                               void (*each) (lg_IState *I, int phase));

#endif
