/*
** vm/trace.c -- the GIL event trace.
** See LICENSE for copyright and licence (MIT).
**
** While a recording is on, a listener (vm/stats.h) appends every GIL event
** to one growing array under trace_mutex; the thread the event is about
** appends it, so the events of one thread are in order. Turning events
** into spans happens after the recording, not while threads run.
*/

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"


typedef struct Event {
  long t;                      /* ns, monotonic */
  const lg_Stats *st;          /* the thread (records live for good) */
  short ev, reason;
} Event;

static pthread_mutex_t trace_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
  Event *events;               /* trace_mutex */
  size_t n, size;              /* trace_mutex */
  long t0;                     /* trace_mutex: when the recording began */
  char *path;                  /* trace_mutex: where it goes */
  atomic_int on;
} trace;


static void record (int ev, int reason, const lg_Stats *st, long t,
                    void *ud) {
  (void)ud;
  lg_check(pthread_mutex_lock(&trace_mutex));
  if (trace.n == trace.size) {
    size_t size = trace.size ? trace.size * 2 : 4096;
    Event *e = realloc(trace.events, size * sizeof *e);
    if (e == NULL) {  /* out of memory: drop the event, keep running */
      lg_check(pthread_mutex_unlock(&trace_mutex));
      return;
    }
    trace.events = e;
    trace.size = size;
  }
  trace.events[trace.n++] = (Event){t, st, (short)ev, (short)reason};
  lg_check(pthread_mutex_unlock(&trace_mutex));
}


void lg_trace_start (const char *path) {
  if (atomic_exchange(&trace.on, 0))
    lg_unlisten(record, NULL);
  lg_check(pthread_mutex_lock(&trace_mutex));
  trace.n = 0;
  trace.t0 = lg_now_ns();
  free(trace.path);
  trace.path = strdup(path);
  lg_check(pthread_mutex_unlock(&trace_mutex));
  atomic_store(&trace.on, lg_listen(record, NULL));
}


static int endswith (const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}


int lg_trace_stop (void) {
  FILE *f;
  int r;
  if (!atomic_exchange(&trace.on, 0))
    return 1;
  lg_unlisten(record, NULL);
  if (trace.path == NULL || (f = fopen(trace.path, "w")) == NULL)
    return -1;
  if (endswith(trace.path, ".html"))
    r = lg_trace_write_html(f);
  else
    r = lg_trace_write_json(f);
  if (fclose(f) != 0)
    r = -1;
  return r;
}


void lg_trace_atfork (int phase) {
  lg_mutex_atfork(&trace_mutex, phase);
}


/*
** {======================================================
** Spans
** =======================================================
*/

typedef struct Lane {
  const lg_Stats *st;
  int state;                   /* current state, or -1 before any event */
  long since;                  /* when it entered 'state' */
} Lane;


/* The lane of 'st', added on first sight. */
static int lane (Lane **lanes, int *n, const lg_Stats *st,
                 const lg_TraceVisitor *v) {
  for (int i = 0; i < *n; i++)
    if ((*lanes)[i].st == st)
      return i;
  Lane *l = realloc(*lanes, (size_t)(*n + 1) * sizeof *l);
  if (l == NULL)
    return -1;
  *lanes = l;
  l[*n] = (Lane){st, -1, 0};
  if (lg_stats_interp(st) > 1) {  /* lanes grouped by interpreter */
    char name[sizeof st->name + 24];
    snprintf(name, sizeof name, "[%ld] %s", lg_stats_interp(st), st->name);
    v->thread(v->ud, *n + 1, name);
  }
  else
    v->thread(v->ud, *n + 1, st->name);
  return (*n)++;
}


static void enter (Lane *l, int tid, int state, long t,
                   const lg_TraceVisitor *v) {
  if (l->state >= 0 && t > l->since)
    v->span(v->ud, tid, l->state, l->since, t);
  l->state = state;
  l->since = t;
}


/* The state a thread enters with event 'e' (-1: none, no span). */
static int stateafter (const Event *e) {
  switch (e->ev) {
    case LG_EV_READY:
      return LG_STATE_WAITING;
    case LG_EV_RESUMED:
      return LG_STATE_RUNNING;
    case LG_EV_SUSPENDED:
      if (e->reason == LG_DROP_BLOCKING)
        return LG_STATE_BLOCKED;
      if (e->reason == LG_DROP_FORCED)  /* it queues up at once */
        return LG_STATE_WAITING;
      return -1;
    default:  /* LG_EV_EXITED */
      return -1;
  }
}


void lg_trace_visit (const lg_TraceVisitor *v) {
  Lane *lanes = NULL;
  int nlanes = 0;
  long end = 0;
  lg_check(pthread_mutex_lock(&trace_mutex));
  for (size_t i = 0; i < trace.n; i++) {
    const Event *e = &trace.events[i];
    int k = lane(&lanes, &nlanes, e->st, v);
    long t = e->t - trace.t0;
    if (k < 0)
      break;
    if (t > end)
      end = t;
    if (e->ev == LG_EV_REQUEST)
      v->instant(v->ud, k + 1, t);
    else if (e->ev != LG_EV_STARTED)
      enter(&lanes[k], k + 1, stateafter(e), t, v);
  }
  for (int k = 0; k < nlanes; k++)  /* close what is still open */
    enter(&lanes[k], k + 1, -1, end, v);
  lg_check(pthread_mutex_unlock(&trace_mutex));
  free(lanes);
}

/* }====================================================== */


/*
** {======================================================
** Chrome trace-event JSON
** =======================================================
*/

static const char *const statenames[] = {
  "running", "waiting for the GIL", "blocked"};


typedef struct Json {
  FILE *f;
  int first;
} Json;


static void sep (Json *j) {
  fputs(j->first ? "\n" : ",\n", j->f);
  j->first = 0;
}


static void json_thread (void *ud, int tid, const char *name) {
  Json *j = ud;
  sep(j);
  fprintf(j->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
          "\"args\":{\"name\":\"", tid);
  for (const char *c = name; *c; c++) {  /* JSON string escapes */
    if (*c == '"' || *c == '\\')
      fprintf(j->f, "\\%c", *c);
    else if ((unsigned char)*c < 0x20)
      fprintf(j->f, "\\u%04x", *c);
    else
      fputc(*c, j->f);
  }
  fputs("\"}}", j->f);
}


static void json_span (void *ud, int tid, int state, long t0, long t1) {
  Json *j = ud;
  sep(j);
  fprintf(j->f, "{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"name\":\"%s\","
          "\"ts\":%.3f,\"dur\":%.3f}", tid, statenames[state],
          (double)t0 / 1e3, (double)(t1 - t0) / 1e3);
}


static void json_instant (void *ud, int tid, long t) {
  Json *j = ud;
  sep(j);
  fprintf(j->f, "{\"ph\":\"i\",\"pid\":1,\"tid\":%d,\"name\":\"drop request\","
          "\"s\":\"t\",\"ts\":%.3f}", tid, (double)t / 1e3);
}


int lg_trace_write_json (FILE *f) {
  Json j = {f, 1};
  lg_TraceVisitor v = {json_thread, json_span, json_instant, &j};
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
  lg_trace_visit(&v);
  fputs("\n]}\n", f);
  return ferror(f) ? -1 : 0;
}

/* }====================================================== */
