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

#include "stats.h"

#define MAX_LISTENERS  4

#define add(field, n) \
  atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define get(field)  atomic_load_explicit(&(field), memory_order_relaxed)


static pthread_mutex_t stats_mutex = PTHREAD_MUTEX_INITIALIZER;

static struct {
  lg_Stats *all;                        /* stats_mutex */
  long seq;                             /* stats_mutex */
  lg_Stats *exited, *exited_tail;       /* stats_mutex: oldest first */
  long nexited;                         /* stats_mutex */
  lg_Stats forgotten;                   /* stats_mutex: freed ones' sums */
  long nforgotten;                      /* stats_mutex */
  int keep;                             /* stats_mutex: free none */
  const lg_Stats *_Atomic pinned;       /* the GIL timer's (lg_stats_pin) */
  atomic_long requests;
  atomic_int nlisteners;                /* written under stats_mutex */
  struct {
    _Atomic lg_Listener fn;
    void *_Atomic ud;
  } listeners[MAX_LISTENERS];
} stats;


lg_Stats *lg_stats_new (const char *name, unsigned long ident) {
  lg_Stats *st = calloc(1, sizeof *st);
  if (st == NULL)
    return NULL;
  st->ident = ident;
  st->alive = 1;
  lg_check(pthread_mutex_lock(&stats_mutex));
  {
    strncpy(st->name, name, sizeof st->name - 1);
    st->seq = ++stats.seq;
    st->prev = NULL;
    st->next = stats.all;
    if (stats.all != NULL)
      stats.all->prev = st;
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


/* A copy of 'st' for a reader: its counters as they are now. */
static void copyone (lg_Stats *dst, const lg_Stats *st) {
  memset(dst, 0, sizeof *dst);
  memcpy(dst->name, st->name, sizeof dst->name);
  atomic_store(&dst->ident, atomic_load(&st->ident));
  dst->seq = st->seq;
  dst->alive = st->alive;
  atomic_store(&dst->acquisitions, get(st->acquisitions));
  atomic_store(&dst->hold_ns, get(st->hold_ns));
  atomic_store(&dst->wait_ns, get(st->wait_ns));
  atomic_store(&dst->wait_max_ns, get(st->wait_max_ns));
  atomic_store(&dst->forced_drops, get(st->forced_drops));
  atomic_store(&dst->blocking_drops, get(st->blocking_drops));
  atomic_store(&dst->requests, get(st->requests));
}


long lg_stats_copy (lg_Stats *buf, long cap) {
  long n = 0;
  lg_check(pthread_mutex_lock(&stats_mutex));
  for (lg_Stats *st = stats.all; st != NULL; st = st->next, n++)
    if (n < cap)
      copyone(&buf[n], st);
  lg_check(pthread_mutex_unlock(&stats_mutex));
  return n;
}


static void printone (const lg_Stats *st, void *ud) {
  fprintf(ud, "%-20.20s %7ld %9.3f %9.3f %9.3f %7ld %7ld %7ld%s\n", st->name,
          get(st->acquisitions), get(st->hold_ns) * 1e-9,
          get(st->wait_ns) * 1e-9, get(st->wait_max_ns) * 1e-9,
          get(st->forced_drops), get(st->blocking_drops), get(st->requests),
          st->alive ? "" : "  (exited)");
}


void lg_stats_print (FILE *f, unsigned long switches) {
  fprintf(f, "%-20s %7s %9s %9s %9s %7s %7s %7s\n", "thread", "acq",
          "hold_s", "wait_s", "wait_max", "forced", "block", "req");
  lg_stats_foreach(printone, f);
  fprintf(f, "switches %lu, drop requests %ld\n", switches,
          get(stats.requests));
}


long lg_stats_requests (void) {
  return get(stats.requests);
}


long lg_stats_forgotten (lg_Stats *sum) {
  long n;
  lg_check(pthread_mutex_lock(&stats_mutex));
  {
    copyone(sum, &stats.forgotten);
    n = stats.nforgotten;
  }
  lg_check(pthread_mutex_unlock(&stats_mutex));
  return n;
}


void lg_stats_pin (const lg_Stats *st) {
  atomic_store(&stats.pinned, st);
}


/* Free exited record 'st', the oldest, adding it to the forgotten. */
static void forget_locked (lg_Stats *st) {
  LG_ASSERT(lg_mutex_held(&stats_mutex));
  lg_Stats *f = &stats.forgotten;
  stats.exited = st->exited_next;
  if (stats.exited == NULL)
    stats.exited_tail = NULL;
  stats.nexited--;
  if (st->prev != NULL)
    st->prev->next = st->next;
  else
    stats.all = st->next;
  if (st->next != NULL)
    st->next->prev = st->prev;
  add(f->acquisitions, get(st->acquisitions));
  add(f->hold_ns, get(st->hold_ns));
  add(f->wait_ns, get(st->wait_ns));
  if (get(st->wait_max_ns) > get(f->wait_max_ns))
    atomic_store(&f->wait_max_ns, get(st->wait_max_ns));
  add(f->forced_drops, get(st->forced_drops));
  add(f->blocking_drops, get(st->blocking_drops));
  add(f->requests, get(st->requests));
  stats.nforgotten++;
  free(st);
}


/*
** Thread 'st' has exited (its last event is past: nobody else reports
** one for it). Keep the last LG_STATS_EXITED records; past twice that,
** free the older half at once, so that the cost per exit stays constant.
** A pinned record waits for the next round.
*/
static void retire (lg_Stats *st) {
  lg_check(pthread_mutex_lock(&stats_mutex));
  {
    st->alive = 0;
    st->exited_next = NULL;
    if (stats.exited_tail != NULL)
      stats.exited_tail->exited_next = st;
    else
      stats.exited = st;
    stats.exited_tail = st;
    stats.nexited++;
    if (!stats.keep && stats.nexited > 2 * LG_STATS_EXITED)
      while (stats.nexited > LG_STATS_EXITED &&
             stats.exited != atomic_load(&stats.pinned))
        forget_locked(stats.exited);
  }
  lg_check(pthread_mutex_unlock(&stats_mutex));
}


static void update (lg_Stats *st, int ev, int reason, long now) {
  switch (ev) {
    case LG_EV_READY:
      atomic_store_explicit(&st->t_ready, now, memory_order_relaxed);
      break;
    case LG_EV_RESUMED:
      add(st->acquisitions, 1);
      if (get(st->t_ready) != 0) {
        long waited = now - get(st->t_ready);
        add(st->wait_ns, waited);
        if (waited > get(st->wait_max_ns))
          atomic_store_explicit(&st->wait_max_ns, waited,
                                memory_order_relaxed);
        atomic_store_explicit(&st->t_ready, 0, memory_order_relaxed);
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
    case LG_EV_EXITED:  /* retire(st) once the listeners have seen it */
      break;
  }
}


void lg_event (lg_TState *ts, int ev, int reason) {
  lg_stats_event(ts->stats, ev, reason);
}


void lg_stats_discard (lg_Stats *st) {
  retire(st);
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
  if (ev == LG_EV_EXITED)
    retire(st);
}


void lg_stats_atfork (int phase) {
  lg_mutex_atfork(&stats_mutex, phase);
  if (phase == LG_FORK_CHILD)  /* only the forking thread lives on */
    for (lg_Stats *st = stats.all; st != NULL; st = st->next)
      st->alive = (lg_tstate_tls != NULL && st == lg_tstate_tls->stats);
}


static int listen (lg_Listener fn, void *ud, int keeps) {
  int ok = 0;
  lg_check(pthread_mutex_lock(&stats_mutex));
  if (keeps)
    stats.keep = 1;  /* for good: the pointers may be anywhere now */
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


int lg_listen (lg_Listener fn, void *ud) {
  return listen(fn, ud, 1);
}


int lg_listen_passing (lg_Listener fn, void *ud) {
  return listen(fn, ud, 0);
}


void lg_unlisten (lg_Listener fn, void *ud) {
  lg_check(pthread_mutex_lock(&stats_mutex));
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (atomic_load(&stats.listeners[i].fn) == fn &&
        atomic_load(&stats.listeners[i].ud) == ud)
      atomic_store(&stats.listeners[i].fn, NULL);
  lg_check(pthread_mutex_unlock(&stats_mutex));
}
