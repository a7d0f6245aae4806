/*
** vm/stats.h -- per-thread GIL statistics and GIL events.
** See LICENSE for copyright and licence (MIT).
**
** Every Lua thread (a task on a worker, the main thread, a host thread that
** entered Lua) has one lg_Stats record, kept after the thread ends so that
** gil.stats() lists exited threads too: the last LG_STATS_EXITED of them.
** An older one is freed, its counters added to the totals of the
** forgotten (lg_stats_forgotten), so that a program that starts a thread
** per request does not grow without bound (issue 19, case 19) -- unless a
** listener that keeps record pointers (the trace) was ever added: then
** every record is kept for good. The GIL reports each transition of
** a thread as an event (lg_event); the event updates the record and, when
** someone listens (the trace, a host's hook), is passed on to them.
**
** Floor 2 of vm/ (docs/ARCHITECTURE.md): uses vm/tstate.h, vm/clock.h.
*/

#ifndef lg_stats_h
#define lg_stats_h

#include <stdio.h>

#include "clock.h"
#include "istate.h"
#include "tstate.h"

/* Events, Ruby 3.2's set plus what the trace draws. */
#define LG_EV_STARTED    0  /* a thread began */
#define LG_EV_READY      1  /* it wants the GIL (and must wait) */
#define LG_EV_RESUMED    2  /* it got the GIL */
#define LG_EV_SUSPENDED  3  /* it let the GIL go */
#define LG_EV_EXITED     4  /* it ended */
#define LG_EV_REQUEST    5  /* it asked the holder to drop the GIL */

/* Why a thread let the GIL go (the 'reason' of LG_EV_SUSPENDED). */
#define LG_DROP_PLAIN     0  /* the end of a task, a host's release */
#define LG_DROP_FORCED    1  /* a drop request, or a voluntary yield */
#define LG_DROP_BLOCKING  2  /* around a blocking call */


/* How many exited threads' records are kept at least (at most twice). */
#define LG_STATS_EXITED  1000

typedef struct lg_Stats lg_Stats;
typedef struct lg_StatsSet lg_StatsSet;  /* an interpreter's records */

struct lg_Stats {
  lg_StatsSet *set;            /* its interpreter's (read-only) */
  lg_Stats *next, *prev;       /* set's mutex: all records, newest first */
  lg_Stats *exited_next;       /* set's mutex: exited ones, oldest first */
  char name[64];               /* set's mutex */
  _Atomic unsigned long ident; /* set once, early (atomic) */
  long seq;                    /* creation order, from 1 (read-only) */
  int alive;                   /* set's mutex */
  /* Counters: written by the owner thread, read by anyone (atomic). */
  atomic_long acquisitions, hold_ns, hold_max_ns, wait_ns, wait_max_ns;
  atomic_long forced_drops, blocking_drops, requests;
  atomic_long t_acquired;      /* when it last got the GIL */
  atomic_long t_released;      /* when it last let it go (the dumps'
                                  "blocked for") */
  /* The owner's, or the waker's of a parked owner (lg_gil_wake_into):
     both, when a waker queues an owner whose wait just timed out (atomic,
     relaxed; either time will do). */
  atomic_long t_ready;         /* when it began to wait, or 0 */
};


/* Make interpreter 'I''s set of records (first of its parts); 0 or
** ENOMEM. */
LG_FUNC int lg_stats_init (lg_IState *I);

/* A new record of 'I' for thread 'name' (copied), alive; NULL if memory
** runs out. */
LG_FUNC lg_Stats *lg_stats_new (lg_IState *I, const char *name,
                                unsigned long ident);

/* Copy the name of 'st' into 'buf' (at most 'size' bytes, terminated);
** for the GIL's timer, which pins the record first. */
LG_FUNC void lg_stats_name (const lg_Stats *st, char *buf, size_t size);

/* The record of a thread that never started: it is an exited one now. */
LG_FUNC void lg_stats_discard (lg_Stats *st);
LG_FUNC void lg_stats_setname (lg_Stats *st, const char *name);

/* Call 'fn' on every record, newest first, under the records' mutex:
** 'fn' must not call back into this file. */
LG_FUNC void lg_stats_foreach (lg_IState *I,
                               void (*fn) (const lg_Stats *st, void *ud),
                               void *ud);

/*
** Copy up to 'cap' records, newest first, into 'buf' (for a caller that
** cannot hold the records' mutex: one whose Lua allocations may raise).
** Returns how many there are, which may be more than 'cap'.
*/
LG_FUNC long lg_stats_copy (lg_IState *I, lg_Stats *buf, long cap);

/* Print a table of every thread's statistics (--gil-stats), and the
** total of GIL switches (vm/gil.h's lg_gil_switches). */
LG_FUNC void lg_stats_print (lg_IState *I, FILE *f, unsigned long switches);

/* The id of the interpreter whose thread 'st' is (vm/istate.h). */
LG_FUNC long lg_stats_interp (const lg_Stats *st);

/* Drop requests so far, in total. */
LG_FUNC long lg_stats_requests (lg_IState *I);

/* fork(): each interpreter's records' mutex, and the listeners', are held
** across it. */
LG_FUNC void lg_stats_atfork (lg_IState *I, int phase);
LG_FUNC void lg_listeners_atfork (int phase);

/* The exited threads whose records were freed: how many, and the sums of
** their counters (name and ident are empty; wait_max_ns and hold_max_ns
** are the worst). */
LG_FUNC long lg_stats_forgotten (lg_IState *I, lg_Stats *sum);

/*
** The GIL's timer reports a drop request for a thread it saw queued, once
** it has let gil.mutex go: pinning the record first (under gil.mutex,
** while that thread cannot exit) keeps it from being freed until it is
** unpinned (NULL). One pin at a time.
*/
LG_FUNC void lg_stats_pin (lg_StatsSet *set, const lg_Stats *st);

/*
** Report event 'ev' of thread 'ts' (with 'reason' for LG_EV_SUSPENDED):
** updates its record and calls the listeners. Called by the thread itself,
** with or without the GIL as the event implies.
*/
LG_FUNC void lg_event (lg_TState *ts, int ev, int reason);

/* The same for an event that happened at 'now' (lg_now_ns), read already
** for another purpose: one clock read fewer on a handoff's path. */
LG_FUNC void lg_event_at (lg_TState *ts, int ev, int reason, long now);

/* The same for the thread whose record is 'st' (NULL: none). The GIL's
** timer reports LG_EV_REQUEST so for the thread it asks for. */
LG_FUNC void lg_stats_event (lg_Stats *st, int ev, int reason);

/*
** A listener: called for every event, without the GIL where the event
** happens without it, on the thread the event is about (LG_EV_REQUEST may
** come from the GIL's timer thread).
*/
typedef void (*lg_Listener) (int ev, int reason, const lg_Stats *st,
                             long t_ns, void *ud);

/*
** Add or remove a listener; at most a few at once. Returns 0 if full.
** lg_listen's listener may keep the record pointers it is given (the
** trace does): from then on no record is ever freed. A listener added with
** lg_listen_passing uses them only during its call.
*/
LG_FUNC int lg_listen (lg_Listener fn, void *ud);
LG_FUNC int lg_listen_passing (lg_Listener fn, void *ud);
LG_FUNC void lg_unlisten (lg_Listener fn, void *ud);

#endif
