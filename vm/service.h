/*
** vm/service.h -- service threads: luagil's own threads that run no Lua
** and sleep on a condition variable, under their owner's mutex, until a
** deadline or until told. Two use it: the GIL's timer (vm/gil.c), which
** raises drop requests, and the task layer's monitor (vm/task.c), which
** wakes timed-out tasks and unsticks the ready queue.
** See LICENSE for copyright and licence (MIT).
**
** Floor 2 of vm/ (docs/ARCHITECTURE.md): uses vm/clock.h, vm/tstate.h.
*/

#ifndef lg_service_h
#define lg_service_h

#include <pthread.h>
#include <stddef.h>

#include "base.h"

typedef struct lg_Service {
  pthread_mutex_t *mu;  /* its owner's mutex, which guards the rest */
  pthread_cond_t cv;    /* it sleeps on it */
  long due;             /* owner's mutex: when it wakes: 0 while awake,
                           LONG_MAX while it sleeps until told */
  int on;               /* owner's mutex: it was started */
} lg_Service;


/*
** Start 's' running 'fn(arg)' with every signal blocked (signals are for
** the threads that run Lua) on a stack of 'stacksize' bytes, if it is not
** running. Under the owner's mutex 'mu'. Returns 0 or an errno value.
*/
LG_FUNC int lg_service_start_locked (lg_Service *s, pthread_mutex_t *mu,
                                     void *(*fn) (void *), void *arg,
                                     size_t stacksize);

/* On the service thread, owner's mutex locked: sleep until told or until
** CLOCK_MONOTONIC reaches 'due' ns (LONG_MAX: until told). */
LG_FUNC void lg_service_sleep_locked (lg_Service *s, long due);

/* Wake it if it sleeps past 'due'. Owner's mutex held. */
LG_FUNC void lg_service_tell_locked (lg_Service *s, long due);

/* fork() child: the thread is gone; the next start makes another. */
LG_FUNC void lg_service_forget (lg_Service *s);

#endif
