/*
** tests/unit/test_stats.c -- the GIL statistics (vm/stats.h): records
** made, named and discarded, listed newest first, copied; events update
** their counters; and past 2 * LG_STATS_EXITED exited records the oldest
** are freed into the sums of the forgotten.
** See LICENSE for copyright and licence (MIT).
**
** No interpreter runs: each test makes the records' part of one
** (vm/istate.h), and Criterion runs each test in a process of its own,
** so the records a test sees are its own.
*/

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istate.h"
#include "stats.h"
#include "tstate.h"


TestSuite(stats, .timeout = 60);


/* The test's interpreter: just its records. */
static lg_IState *interp (void) {
  static lg_IState *I;
  if (I == NULL) {
    I = lg_istate_new();
    cr_assert_not_null(I);
    cr_assert_eq(lg_stats_init(I), 0);
  }
  return I;
}


Test(stats, new_setname_discard) {
  lg_Stats *st = lg_stats_new(interp(), "first", 42), copy;
  cr_assert_not_null(st);
  cr_assert_str_eq(st->name, "first");
  cr_assert_eq(atomic_load(&st->ident), 42);
  cr_assert(st->alive);
  cr_assert_eq(st->seq, 1);
  lg_stats_setname(st, "renamed");
  cr_assert_str_eq(st->name, "renamed");
  /* a long name is cut to fit, and stays terminated */
  char longname[200];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  lg_stats_setname(st, longname);
  cr_assert_eq(strlen(st->name), sizeof st->name - 1);
  lg_stats_discard(st);  /* an exited record now, still listed */
  cr_assert_eq(lg_stats_copy(interp(), &copy, 1), 1);
  cr_assert(!copy.alive);
  cr_assert_eq(atomic_load(&copy.ident), 42);
}


typedef struct Seen {
  int n;
  long seq[8];
  char name[8][64];
} Seen;


static void see (const lg_Stats *st, void *ud) {
  Seen *s = ud;
  if (s->n < 8) {
    s->seq[s->n] = st->seq;
    memcpy(s->name[s->n], st->name, sizeof s->name[0]);
  }
  s->n++;
}


Test(stats, foreach_sees_newest_first) {
  Seen s = {0};
  char name[16];
  for (int i = 1; i <= 5; i++) {
    snprintf(name, sizeof name, "t%d", i);
    cr_assert_not_null(lg_stats_new(interp(), name, (unsigned long)i));
  }
  lg_stats_foreach(interp(), see, &s);
  cr_assert_eq(s.n, 5);
  for (int i = 0; i < 5; i++) {
    snprintf(name, sizeof name, "t%d", 5 - i);
    cr_assert_eq(s.seq[i], 5 - i);
    cr_assert_str_eq(s.name[i], name);
  }
}


Test(stats, copy_counts_every_record) {
  lg_Stats buf[4];
  cr_assert_eq(lg_stats_copy(interp(), buf, 4), 0);
  for (int i = 1; i <= 6; i++)
    cr_assert_not_null(lg_stats_new(interp(), "t", (unsigned long)i));
  /* more than fit: all are counted, the newest 'cap' copied */
  cr_assert_eq(lg_stats_copy(interp(), buf, 4), 6);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(atomic_load(&buf[i].ident), 6 - i);
  cr_assert_eq(lg_stats_copy(interp(), NULL, 0), 6);
}


/*
** lg_event reports for a thread state's record: RESUMED counts an
** acquisition, SUSPENDED counts the drop by its reason, READY then
** RESUMED adds a wait.
*/
Test(stats, events_update_counters) {
  lg_TState *ts = lg_tstate_new();
  lg_Stats *st = lg_stats_new(interp(), "events", 7);
  cr_assert_not_null(ts);
  cr_assert_not_null(st);
  ts->stats = st;
  lg_event(ts, LG_EV_RESUMED, 0);
  lg_event(ts, LG_EV_SUSPENDED, LG_DROP_FORCED);
  lg_event(ts, LG_EV_RESUMED, 0);
  lg_event(ts, LG_EV_SUSPENDED, LG_DROP_BLOCKING);
  lg_event(ts, LG_EV_READY, 0);
  lg_event(ts, LG_EV_RESUMED, 0);
  lg_event(ts, LG_EV_SUSPENDED, LG_DROP_PLAIN);
  cr_assert_eq(atomic_load(&st->acquisitions), 3);
  cr_assert_eq(atomic_load(&st->forced_drops), 1);
  cr_assert_eq(atomic_load(&st->blocking_drops), 1);
  cr_assert_geq(atomic_load(&st->hold_ns), 0);
  cr_assert_geq(atomic_load(&st->wait_ns), 0);
  cr_assert_geq(atomic_load(&st->wait_max_ns), 0);
  cr_assert_eq(atomic_load(&st->t_ready), 0);  /* the wait was counted */
  lg_stats_event(st, LG_EV_REQUEST, 0);
  cr_assert_eq(atomic_load(&st->requests), 1);
  cr_assert_eq(lg_stats_requests(interp()), 1);
  lg_event(ts, LG_EV_EXITED, 0);
  cr_assert(!st->alive);
  ts->stats = NULL;
  lg_stats_event(NULL, LG_EV_RESUMED, 0);  /* no record: nothing */
  lg_tstate_discard(ts);
}


/*
** Exited records are kept up to 2 * LG_STATS_EXITED; one more, and the
** oldest are freed until LG_STATS_EXITED are left, their counters added
** to the forgotten's sums.
*/
Test(stats, old_exited_records_are_forgotten_into_sums) {
  lg_Stats sum;
  const long n = 2 * LG_STATS_EXITED + 1;
  lg_Stats *alive = lg_stats_new(interp(), "alive", 1);
  cr_assert_eq(lg_stats_forgotten(interp(), &sum), 0);
  for (long i = 0; i < n; i++) {
    lg_Stats *st = lg_stats_new(interp(), "exited", (unsigned long)(i + 2));
    cr_assert_not_null(st);
    lg_stats_event(st, LG_EV_RESUMED, 0);
    lg_stats_event(st, LG_EV_SUSPENDED, LG_DROP_FORCED);
    lg_stats_event(st, LG_EV_REQUEST, 0);
    if (i == n - 1)  /* 2 * LG_STATS_EXITED have exited: none freed yet */
      cr_assert_eq(lg_stats_forgotten(interp(), &sum), 0);
    if (i % 2)
      lg_stats_event(st, LG_EV_EXITED, 0);
    else
      lg_stats_discard(st);
  }
  long forgotten = lg_stats_forgotten(interp(), &sum);
  cr_assert_eq(forgotten, n - LG_STATS_EXITED);
  cr_assert_eq(atomic_load(&sum.acquisitions), forgotten);
  cr_assert_eq(atomic_load(&sum.forced_drops), forgotten);
  cr_assert_eq(atomic_load(&sum.requests), forgotten);
  cr_assert_eq(atomic_load(&sum.blocking_drops), 0);
  cr_assert_str_eq(sum.name, "");
  /* the living record and the newest exited ones are still listed */
  cr_assert_eq(lg_stats_copy(interp(), NULL, 0), 1 + LG_STATS_EXITED);
  lg_Stats *buf = calloc(1 + LG_STATS_EXITED, sizeof *buf);
  cr_assert_not_null(buf);
  lg_stats_copy(interp(), buf, 1 + LG_STATS_EXITED);
  lg_Stats *oldest = &buf[LG_STATS_EXITED];  /* the living one */
  cr_assert_eq(atomic_load(&oldest->ident), 1);
  cr_assert(oldest->alive);
  cr_assert_eq(atomic_load(&buf[LG_STATS_EXITED - 1].ident),
               (unsigned long)(n - LG_STATS_EXITED + 2));
  free(buf);
  cr_assert(alive->alive);
}
