/*
** vm/trace.h -- the GIL event trace: what every thread did when.
** See LICENSE for copyright and licence (MIT).
**
** Floor 6 of vm/ (docs/ARCHITECTURE.md): a listener of vm/stats.h's
** events; uses vm/stats.h, and vm/timeline.c (the HTML writer, the same
** floor) uses vm/gil.h for the switch interval it draws.
*/

#ifndef lg_trace_h
#define lg_trace_h

#include <stdio.h>

#include "stats.h"

/* States of a thread between two events. */
#define LG_STATE_RUNNING  0  /* holding the GIL */
#define LG_STATE_WAITING  1  /* waiting for the GIL */
#define LG_STATE_BLOCKED  2  /* in a blocking call (sleep, I/O, a wait) */

/*
** Start recording (ending an earlier recording unwritten), to be written
** to 'path' when it stops: Chrome trace-event JSON, or with a name ending
** in ".html" a self-contained HTML timeline. Any thread.
*/
LG_FUNC void lg_trace_start (const char *path);

/*
** Stop recording and write the file. Returns 0, 1 if no recording was on,
** or -1 with errno set if the file could not be written.
*/
LG_FUNC int lg_trace_stop (void);

/*
** The recording as spans: calls 'span' for each interval in which thread
** 'tid' (a small number, 1 for the first thread seen) named 'name' was in
** 'state', and 'instant' for each drop request; times in ns from the
** start. Call after lg_trace_stop.
*/
typedef struct lg_TraceVisitor {
  void (*thread) (void *ud, int tid, const char *name);
  void (*span) (void *ud, int tid, int state, long t0, long t1);
  void (*instant) (void *ud, int tid, long t);
  void *ud;
} lg_TraceVisitor;

LG_FUNC void lg_trace_visit (const lg_TraceVisitor *v);

/* Write the recording as Chrome trace-event JSON (Perfetto opens it), or
** as an HTML timeline; 0 or -1. */
LG_FUNC int lg_trace_write_json (FILE *f);
LG_FUNC int lg_trace_write_html (FILE *f);

/* fork(): the recording's mutex is held across it. */
LG_FUNC void lg_trace_atfork (int phase);

#endif
