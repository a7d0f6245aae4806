/*
** vm/stats.c -- per-thread GIL statistics and GIL events.
** See LICENSE for copyright and licence (MIT).
**
** Counting is always on, so it must cost nothing that matters: one clock
** read at each take and drop, and relaxed atomic adds that only the owner
** thread makes. Listeners are rare (a trace, a host's hook): one atomic
** load tells whether there are any.
*/

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fork.h"
#include "gil.h"
#include "stats.h"

#define MAX_LISTENERS  4

#define add(field, n) \
  atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define get(field)  atomic_load_explicit(&(field), memory_order_relaxed)


static pthread_mutex_t stats_mutex = PTHREAD_MUTEX_INITIALIZER;

static struct {
  lg_Stats *all;                        /* stats_mutex */
  long seq;                             /* stats_mutex */
  atomic_long requests;
  atomic_int nlisteners;                /* written under stats_mutex */
  struct {
    _Atomic lg_Listener fn;
    void *_Atomic ud;
  } listeners[MAX_LISTENERS];
} stats;


long lg_now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}


lg_Stats *lg_stats_new (const char *name, unsigned long ident) {
  lg_Stats *st = calloc(1, sizeof *st);
  if (st == NULL)
    lg_fatal("calloc", ENOMEM);
  st->ident = ident;
  st->alive = 1;
  lg_check(pthread_mutex_lock(&stats_mutex));
  {
    strncpy(st->name, name, sizeof st->name - 1);
    st->seq = ++stats.seq;
    st->next = stats.all;
    stats.all = st;
  }
  lg_check(pthread_mutex_unlock(&stats_mutex));
  return st;
}


void lg_stats_setname (lg_Stats *st, const char *name) {
  lg_check(pthread_mutex_lock(&stats_mutex));
  strncpy(st->name, name, sizeof st->name - 1);
  lg_check(pthread_mutex_unlock(&stats_mutex));
}


void lg_stats_foreach (void (*fn) (const lg_Stats *st, void *ud), void *ud) {
  lg_check(pthread_mutex_lock(&stats_mutex));
  for (lg_Stats *st = stats.all; st != NULL; st = st->next)
    fn(st, ud);
  lg_check(pthread_mutex_unlock(&stats_mutex));
}


static void printone (const lg_Stats *st, void *ud) {
  fprintf(ud, "%-20.20s %7ld %9.3f %9.3f %9.3f %7ld %7ld %7ld%s\n", st->name,
          get(st->acquisitions), get(st->hold_ns) * 1e-9,
          get(st->wait_ns) * 1e-9, get(st->wait_max_ns) * 1e-9,
          get(st->forced_drops), get(st->blocking_drops), get(st->requests),
          st->alive ? "" : "  (exited)");
}


void lg_stats_print (FILE *f) {
  fprintf(f, "%-20s %7s %9s %9s %9s %7s %7s %7s\n", "thread", "acq",
          "hold_s", "wait_s", "wait_max", "forced", "block", "req");
  lg_stats_foreach(printone, f);
  fprintf(f, "switches %lu, drop requests %ld\n", lg_gil_switches(),
          get(stats.requests));
}


void lg_stats_totals (long *switches, long *requests) {
  *switches = (long)lg_gil_switches();
  *requests = get(stats.requests);
}


static void update (lg_Stats *st, int ev, int reason, long now) {
  switch (ev) {
    case LG_EV_READY:
      st->t_ready = now;
      break;
    case LG_EV_RESUMED:
      add(st->acquisitions, 1);
      if (st->t_ready != 0) {
        long waited = now - st->t_ready;
        add(st->wait_ns, waited);
        if (waited > get(st->wait_max_ns))
          atomic_store_explicit(&st->wait_max_ns, waited,
                                memory_order_relaxed);
        st->t_ready = 0;
      }
      atomic_store_explicit(&st->t_acquired, now, memory_order_relaxed);
      break;
    case LG_EV_SUSPENDED:
      add(st->hold_ns, now - get(st->t_acquired));
      if (reason == LG_DROP_FORCED)
        add(st->forced_drops, 1);
      else if (reason == LG_DROP_BLOCKING)
        add(st->blocking_drops, 1);
      break;
    case LG_EV_REQUEST:
      add(st->requests, 1);
      add(stats.requests, 1);
      break;
    case LG_EV_EXITED:
      lg_check(pthread_mutex_lock(&stats_mutex));
      st->alive = 0;
      lg_check(pthread_mutex_unlock(&stats_mutex));
      break;
  }
}


void lg_event (lg_TState *ts, int ev, int reason) {
  lg_stats_event(ts->stats, ev, reason);
}


void lg_stats_event (lg_Stats *st, int ev, int reason) {
  int n = atomic_load(&stats.nlisteners);
  long now;
  if (st == NULL)
    return;
  if (ev == LG_EV_STARTED && n == 0)
    return;
  now = lg_now_ns();
  update(st, ev, reason, now);
  for (int i = 0; i < n; i++) {
    lg_Listener fn = atomic_load(&stats.listeners[i].fn);
    if (fn != NULL)
      fn(ev, reason, st, now, atomic_load(&stats.listeners[i].ud));
  }
}


void lg_stats_atfork (int phase) {
  if (phase == LG_FORK_PREPARE)
    lg_check(pthread_mutex_lock(&stats_mutex));
  else {
    if (phase == LG_FORK_CHILD)  /* only the forking thread lives on */
      for (lg_Stats *st = stats.all; st != NULL; st = st->next)
        st->alive = (lg_tstate_tls != NULL && st == lg_tstate_tls->stats);
    lg_check(pthread_mutex_unlock(&stats_mutex));
  }
}


int lg_listen (lg_Listener fn, void *ud) {
  int ok = 0;
  lg_check(pthread_mutex_lock(&stats_mutex));
  for (int i = 0; i < MAX_LISTENERS && !ok; i++) {
    if (atomic_load(&stats.listeners[i].fn) == NULL) {
      atomic_store(&stats.listeners[i].ud, ud);
      atomic_store(&stats.listeners[i].fn, fn);
      if (i + 1 > atomic_load(&stats.nlisteners))
        atomic_store(&stats.nlisteners, i + 1);
      ok = 1;
    }
  }
  lg_check(pthread_mutex_unlock(&stats_mutex));
  return ok;
}


void lg_unlisten (lg_Listener fn, void *ud) {
  lg_check(pthread_mutex_lock(&stats_mutex));
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (atomic_load(&stats.listeners[i].fn) == fn &&
        atomic_load(&stats.listeners[i].ud) == ud)
      atomic_store(&stats.listeners[i].fn, NULL);
  lg_check(pthread_mutex_unlock(&stats_mutex));
}
