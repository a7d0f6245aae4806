/*
** vm/gil.h -- the global interpreter lock.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_gil_h
#define lg_gil_h

#include "tstate.h"

/* Default switch interval, in seconds. */
#define LG_DEFAULT_INTERVAL  0.005


/* Create the GIL; the calling thread 'ts' (the main thread) holds it. */
LG_FUNC void lg_gil_init (lg_TState *ts);

/* waiting -> running: block until 'ts' holds the GIL. Preserves errno. */
LG_FUNC void lg_gil_take (lg_TState *ts);

/* running -> released, for 'reason' (LG_DROP_* in vm/stats.h). Preserves
** errno. */
LG_FUNC void lg_gil_drop (lg_TState *ts, int reason);

/*
** running -> released -> running, for a drop request: does not take the
** GIL back before another thread has had it (forced switching).
*/
LG_FUNC void lg_gil_yield (lg_TState *ts);

/* time.sleep(0): yield if another thread waits for the GIL. */
LG_FUNC void lg_gil_yield_if_waiting (lg_TState *ts);

/* True if a drop request is outstanding and 'ts' holds the GIL. */
LG_FUNC int lg_gil_drop_pending_for (lg_TState *ts);

/* Number of threads waiting for the GIL now (any thread). */
LG_FUNC int lg_gil_nwaiting (void);

/* Does 'ts' hold the GIL? For assertions. */
LG_FUNC int lg_gil_held (lg_TState *ts);

/* The switch interval in seconds (any thread). */
LG_FUNC double lg_gil_getinterval (void);
LG_FUNC void lg_gil_setinterval (double seconds);

/*
** Interpreter shutdown, called by the main thread holding the GIL: from
** now on any other thread that wants the GIL parks forever, and the main
** thread is never asked to drop it.
*/
LG_FUNC void lg_gil_finalize (void);
LG_FUNC int lg_gil_finalizing (void);


/*
** Releasing the GIL around a blocking call. Between the two halves the
** thread touches no lua_State; both halves preserve errno. A thread that
** is not registered (no lg_TState) passes through unchanged.
*/
LG_FUNC lg_TState *lg_blocking_begin (void);
LG_FUNC void lg_blocking_end (lg_TState *ts);

#define LG_BEGIN_BLOCKING  { lg_TState *lg_blocked_ = lg_blocking_begin();
#define LG_END_BLOCKING    lg_blocking_end(lg_blocked_); }

#endif
