/*
** vm/service.c -- service threads.
** See LICENSE for copyright and licence (MIT).
*/

#include <signal.h>

#include "clock.h"
#include "service.h"
#include "tstate.h"


int lg_service_start_locked (lg_Service *s, pthread_mutex_t *mu,
                             void *(*fn) (void *), void *arg,
                             size_t stacksize) {
  pthread_t t;
  sigset_t all;
  int err;
  LG_ASSERT(lg_mutex_held(mu));
  if (s->on)
    return 0;
  s->mu = mu;
  lg_cond_init(&s->cv);
  sigfillset(&all);
  s->due = 0;  /* it looks at everything first */
  err = lg_spawn(fn, arg, stacksize, &all, &t);
  if (err == 0)
    s->on = 1;
  else
    pthread_cond_destroy(&s->cv);
  return err;
}


void lg_service_sleep_locked (lg_Service *s, long due) {
  LG_ASSERT(lg_mutex_held(s->mu));
  s->due = due;
  lg_cond_wait_until(&s->cv, s->mu, due);
  s->due = 0;
}


void lg_service_tell_locked (lg_Service *s, long due) {
  LG_ASSERT(!s->on || lg_mutex_held(s->mu));
  if (s->on && s->due > due)
    lg_check(pthread_cond_signal(&s->cv));
}


void lg_service_forget (lg_Service *s) {
  s->on = 0;
  s->due = 0;
}
