/*
** vm/tstate.c -- registration of OS threads.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tstate.h"


__thread lg_TState *lg_tstate_tls __attribute__((tls_model("initial-exec")));

static pthread_t main_pthread;  /* written once, before any other thread */


void lg_fatal (const char *what, int err) {
  fprintf(stderr, "luagil: fatal: %s failed: %s\n", what, strerror(err));
  abort();
}


lg_TState *lg_tstate_register (lua_State *L, int is_main) {
  lg_TState *ts = calloc(1, sizeof *ts);
  if (ts == NULL)
    lg_fatal("calloc", ENOMEM);
  atomic_store(&ts->running, L);
  ts->is_main = is_main;
  ts->pthread = pthread_self();
  ts->ident = (unsigned long)ts->pthread;
  ts->native_id = gettid();
  /* Any non-zero seed will do; the address differs between threads. */
  ts->rng = (uint32_t)((uintptr_t)ts >> 4) ^ 0x9e3779b9u;
  if (ts->rng == 0)
    ts->rng = 1;
  ts->park_fd = -1;
  if (is_main) {
    main_pthread = ts->pthread;  /* the main thread's waits also watch Ctrl-C */
    ts->park_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ts->park_fd < 0)
      lg_fatal("eventfd", errno);
  }
  lg_tstate_tls = ts;
  return ts;
}


void lg_tstate_unregister (lg_TState *ts) {
  lg_tstate_tls = NULL;  /* first, so a late signal finds nothing */
  if (ts->park_fd >= 0)
    close(ts->park_fd);
  free(ts);
}


pthread_t lg_main_pthread (void) {
  return main_pthread;
}


lua_State *lg_tstate_setrunning (lg_TState *ts, lua_State *L) {
  return atomic_exchange(&ts->running, L);
}
