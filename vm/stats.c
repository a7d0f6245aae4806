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


/* One interpreter's records (vm/istate.h: 'stats'). */
struct lg_StatsSet {
  long id;                              /* its interpreter's (read-only) */
  pthread_mutex_t mutex;
  lg_Stats *all;                        /* mutex */
  long seq;                             /* mutex */
  lg_Stats *exited, *exited_tail;       /* mutex: oldest first */
  long nexited;                         /* mutex */
  lg_Stats forgotten;                   /* mutex: freed ones' sums */
  long nforgotten;                      /* mutex */
  const lg_Stats *_Atomic pinned;       /* the GIL timer's (lg_stats_pin) */
  atomic_long requests;
};


/* The listeners, the process's: the trace, hosts' hooks. */
static pthread_mutex_t listeners_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
  atomic_int keep;                      /* set once: free no record */
  atomic_int n;                         /* written under listeners_mutex */
  struct {
    _Atomic lg_Listener fn;
    void *_Atomic ud;
  } at[MAX_LISTENERS];
} listeners;


int lg_stats_init (lg_IState *I) {
  lg_StatsSet *set = calloc(1, sizeof *set);
  if (set == NULL)
    return ENOMEM;
  lg_check(pthread_mutex_init(&set->mutex, NULL));
  set->id = I->id;
  I->stats = set;
  return 0;
}


lg_Stats *lg_stats_new (lg_IState *I, const char *name,
                        unsigned long ident) {
  lg_StatsSet *set = I->stats;
  lg_Stats *st = calloc(1, sizeof *st);
  if (st == NULL)
    return NULL;
  st->ident = ident;
  st->alive = 1;
  st->set = set;
  lg_check(pthread_mutex_lock(&set->mutex));
  {
    strncpy(st->name, name, sizeof st->name - 1);
    st->seq = ++set->seq;
    st->prev = NULL;
    st->next = set->all;
    if (set->all != NULL)
      set->all->prev = st;
    set->all = st;
  }
  lg_check(pthread_mutex_unlock(&set->mutex));
  return st;
}


void lg_stats_name (const lg_Stats *st, char *buf, size_t size) {
  lg_check(pthread_mutex_lock(&st->set->mutex));
  snprintf(buf, size, "%s", st->name);
  lg_check(pthread_mutex_unlock(&st->set->mutex));
}


void lg_stats_setname (lg_Stats *st, const char *name) {
  lg_check(pthread_mutex_lock(&st->set->mutex));
  strncpy(st->name, name, sizeof st->name - 1);
  lg_check(pthread_mutex_unlock(&st->set->mutex));
}


void lg_stats_foreach (lg_IState *I,
                       void (*fn) (const lg_Stats *st, void *ud), void *ud) {
  lg_StatsSet *set = I->stats;
  lg_check(pthread_mutex_lock(&set->mutex));
  for (lg_Stats *st = set->all; st != NULL; st = st->next)
    fn(st, ud);
  lg_check(pthread_mutex_unlock(&set->mutex));
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
  atomic_store(&dst->hold_max_ns, get(st->hold_max_ns));
  atomic_store(&dst->wait_ns, get(st->wait_ns));
  atomic_store(&dst->wait_max_ns, get(st->wait_max_ns));
  atomic_store(&dst->forced_drops, get(st->forced_drops));
  atomic_store(&dst->blocking_drops, get(st->blocking_drops));
  atomic_store(&dst->requests, get(st->requests));
}


long lg_stats_copy (lg_IState *I, lg_Stats *buf, long cap) {
  lg_StatsSet *set = I->stats;
  long n = 0;
  lg_check(pthread_mutex_lock(&set->mutex));
  for (lg_Stats *st = set->all; st != NULL; st = st->next, n++)
    if (n < cap)
      copyone(&buf[n], st);
  lg_check(pthread_mutex_unlock(&set->mutex));
  return n;
}


static void printone (const lg_Stats *st, void *ud) {
  fprintf(ud, "%-20.20s %7ld %9.3f %9.3f %9.3f %9.3f %7ld %7ld %7ld%s\n",
          st->name, get(st->acquisitions), get(st->hold_ns) * 1e-9,
          get(st->hold_max_ns) * 1e-9, get(st->wait_ns) * 1e-9,
          get(st->wait_max_ns) * 1e-9,
          get(st->forced_drops), get(st->blocking_drops), get(st->requests),
          st->alive ? "" : "  (exited)");
}


void lg_stats_print (lg_IState *I, FILE *f, unsigned long switches) {
  if (lg_istate_made() > 1)  /* one table per interpreter */
    fprintf(f, "interpreter %ld\n", I->id);
  fprintf(f, "%-20s %7s %9s %9s %9s %9s %7s %7s %7s\n", "thread", "acq",
          "hold_s", "hold_max", "wait_s", "wait_max", "forced", "block",
          "req");
  lg_stats_foreach(I, printone, f);
  fprintf(f, "switches %lu, drop requests %ld\n", switches,
          get(I->stats->requests));
}


long lg_stats_interp (const lg_Stats *st) {
  return st->set->id;
}


long lg_stats_requests (lg_IState *I) {
  return get(I->stats->requests);
}


long lg_stats_forgotten (lg_IState *I, lg_Stats *sum) {
  lg_StatsSet *set = I->stats;
  long n;
  lg_check(pthread_mutex_lock(&set->mutex));
  {
    copyone(sum, &set->forgotten);
    n = set->nforgotten;
  }
  lg_check(pthread_mutex_unlock(&set->mutex));
  return n;
}


void lg_stats_pin (lg_StatsSet *set, const lg_Stats *st) {
  atomic_store(&set->pinned, st);
}


/* Free exited record 'st', the oldest, adding it to the forgotten. */
static void forget_locked (lg_StatsSet *set, lg_Stats *st) {
  LG_ASSERT(lg_mutex_held(&set->mutex));
  lg_Stats *f = &set->forgotten;
  set->exited = st->exited_next;
  if (set->exited == NULL)
    set->exited_tail = NULL;
  set->nexited--;
  if (st->prev != NULL)
    st->prev->next = st->next;
  else
    set->all = st->next;
  if (st->next != NULL)
    st->next->prev = st->prev;
  add(f->acquisitions, get(st->acquisitions));
  add(f->hold_ns, get(st->hold_ns));
  add(f->wait_ns, get(st->wait_ns));
  if (get(st->wait_max_ns) > get(f->wait_max_ns))
    atomic_store(&f->wait_max_ns, get(st->wait_max_ns));
  if (get(st->hold_max_ns) > get(f->hold_max_ns))
    atomic_store(&f->hold_max_ns, get(st->hold_max_ns));
  add(f->forced_drops, get(st->forced_drops));
  add(f->blocking_drops, get(st->blocking_drops));
  add(f->requests, get(st->requests));
  set->nforgotten++;
  free(st);
}


/*
** Thread 'st' has exited (its last event is past: nobody else reports
** one for it). Keep the last LG_STATS_EXITED records; past twice that,
** free the older half at once, so that the cost per exit stays constant.
** A pinned record waits for the next round.
*/
static void retire (lg_Stats *st) {
  lg_StatsSet *set = st->set;
  lg_check(pthread_mutex_lock(&set->mutex));
  {
    st->alive = 0;
    st->exited_next = NULL;
    if (set->exited_tail != NULL)
      set->exited_tail->exited_next = st;
    else
      set->exited = st;
    set->exited_tail = st;
    set->nexited++;
    if (!atomic_load(&listeners.keep) &&
        set->nexited > 2 * LG_STATS_EXITED)
      while (set->nexited > LG_STATS_EXITED &&
             set->exited != atomic_load(&set->pinned))
        forget_locked(set, set->exited);
  }
  lg_check(pthread_mutex_unlock(&set->mutex));
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
    case LG_EV_SUSPENDED: {
      long held = now - get(st->t_acquired);
      add(st->hold_ns, held);
      if (held > get(st->hold_max_ns))
        atomic_store_explicit(&st->hold_max_ns, held, memory_order_relaxed);
      atomic_store_explicit(&st->t_released, now, memory_order_relaxed);
      if (reason == LG_DROP_FORCED)
        add(st->forced_drops, 1);
      else if (reason == LG_DROP_BLOCKING)
        add(st->blocking_drops, 1);
      break;
    }
    case LG_EV_REQUEST:
      add(st->requests, 1);
      add(st->set->requests, 1);
      break;
    case LG_EV_EXITED:  /* retire(st) once the listeners have seen it */
      break;
  }
}


static void event_at (lg_Stats *st, int ev, int reason, long now) {
  int n = atomic_load(&listeners.n);
  update(st, ev, reason, now);
  for (int i = 0; i < n; i++) {
    lg_Listener fn = atomic_load(&listeners.at[i].fn);
    if (fn != NULL)
      fn(ev, reason, st, now, atomic_load(&listeners.at[i].ud));
  }
  if (ev == LG_EV_EXITED)
    retire(st);
}


void lg_event (lg_TState *ts, int ev, int reason) {
  lg_stats_event(ts->stats, ev, reason);
}


void lg_event_at (lg_TState *ts, int ev, int reason, long now) {
  if (ts->stats != NULL)
    event_at(ts->stats, ev, reason, now);
}


void lg_stats_discard (lg_Stats *st) {
  retire(st);
}


void lg_stats_event (lg_Stats *st, int ev, int reason) {
  if (st == NULL || (ev == LG_EV_STARTED && atomic_load(&listeners.n) == 0))
    return;
  event_at(st, ev, reason, lg_now_ns());
}


/* fork(): for each interpreter ('I'), and once for the listeners. */
void lg_stats_atfork (lg_IState *I, int phase) {
  lg_StatsSet *set = I->stats;
  if (set == NULL)
    return;
  lg_mutex_atfork(&set->mutex, phase);
  if (phase == LG_FORK_CHILD)  /* only the forking thread lives on */
    for (lg_Stats *st = set->all; st != NULL; st = st->next)
      st->alive = (lg_tstate_tls != NULL && st == lg_tstate_tls->stats);
}


void lg_listeners_atfork (int phase) {
  lg_mutex_atfork(&listeners_mutex, phase);
}


static int listen (lg_Listener fn, void *ud, int keeps) {
  int ok = 0;
  lg_check(pthread_mutex_lock(&listeners_mutex));
  if (keeps)
    atomic_store(&listeners.keep, 1);  /* for good: the pointers may be
                                           anywhere now */
  for (int i = 0; i < MAX_LISTENERS && !ok; i++) {
    if (atomic_load(&listeners.at[i].fn) == NULL) {
      atomic_store(&listeners.at[i].ud, ud);
      atomic_store(&listeners.at[i].fn, fn);
      if (i + 1 > atomic_load(&listeners.n))
        atomic_store(&listeners.n, i + 1);
      ok = 1;
    }
  }
  lg_check(pthread_mutex_unlock(&listeners_mutex));
  return ok;
}


int lg_listen (lg_Listener fn, void *ud) {
  return listen(fn, ud, 1);
}


int lg_listen_passing (lg_Listener fn, void *ud) {
  return listen(fn, ud, 0);
}


void lg_unlisten (lg_Listener fn, void *ud) {
  lg_check(pthread_mutex_lock(&listeners_mutex));
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (atomic_load(&listeners.at[i].fn) == fn &&
        atomic_load(&listeners.at[i].ud) == ud)
      atomic_store(&listeners.at[i].fn, NULL);
  lg_check(pthread_mutex_unlock(&listeners_mutex));
}
