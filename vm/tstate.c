/*
** vm/tstate.c -- registration of OS threads, and starting them.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tstate.h"


__thread lg_TState *lg_tstate_tls __attribute__((tls_model("initial-exec")));

static pthread_t main_pthread;  /* written once, before any other thread */
static atomic_int hosts;        /* host threads ever registered */

static struct {
  pthread_mutex_t mutex;
  lg_TState *free;              /* recycled states */
  lg_TState *live;              /* registered states (lg_tstate_atfork) */
} states = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};


/*
** A cleared state, recycled if one is free. A waker that comes too late
** may still store into a recycled state's token, or read its park_fd and
** write to that descriptor: so those are set with atomics, never by
** memset, and the eventfd (keptfd) stays with the state.
*/
static lg_TState *newstate (void) {
  lg_TState *ts;
  lg_check(pthread_mutex_lock(&states.mutex));
  ts = states.free;
  if (ts != NULL)
    states.free = ts->free_next;
  lg_check(pthread_mutex_unlock(&states.mutex));
  if (ts == NULL)
    ts = lg_calloc_lines(sizeof *ts);  /* NULL: the caller reports it */
  else {
    static const lg_TState fresh;  /* all zero */
    size_t head = offsetof(lg_TState, park_token);
    size_t tail = offsetof(lg_TState, park_fd) + sizeof ts->park_fd;
    memcpy(ts, &fresh, head);
    memcpy((char *)ts + tail, (char *)&fresh + tail, sizeof *ts - tail);
    atomic_store(&ts->park_token, 0);  /* a stray token goes too */
  }
  return ts;
}


lg_TState *lg_tstate_new (void) {
  return newstate();
}


static void recycle (lg_TState *ts) {
  lg_check(pthread_mutex_lock(&states.mutex));
  ts->free_next = states.free;
  states.free = ts;
  lg_check(pthread_mutex_unlock(&states.mutex));
}


/*
** {======================================================
** The registered states, for fork()
** =======================================================
*/

static void enlist (lg_TState *ts) {
  lg_check(pthread_mutex_lock(&states.mutex));
  ts->live_prev = NULL;
  ts->live_next = states.live;
  if (states.live != NULL)
    states.live->live_prev = ts;
  states.live = ts;
  lg_check(pthread_mutex_unlock(&states.mutex));
}


static void delist_locked (lg_TState *ts) {
  LG_ASSERT(lg_mutex_held(&states.mutex));
  if (ts->live_prev != NULL)
    ts->live_prev->live_next = ts->live_next;
  else
    states.live = ts->live_next;
  if (ts->live_next != NULL)
    ts->live_next->live_prev = ts->live_prev;
  ts->live_next = ts->live_prev = NULL;
}


/*
** In a fork() child, the threads other than 'self' are gone: 'forget'
** sees each (their nodes leave the wait queues they were on: vm/fork.c),
** their eventfds (the old main thread's is the parent's too) are closed,
** and their states leave the registry but are never recycled, since a
** lock may still name one as its owner.
*/
static void forget_others (lg_TState *self,
                           void (*forget) (lg_TState *ts)) {
  lg_TState *ts = states.live;
  while (ts != NULL) {
    lg_TState *next = ts->live_next;
    if (ts != self) {
      atomic_store(&ts->park_fd, -1);
      if (ts->keptfd > 0)  /* nobody can write to it here */
        close(ts->keptfd - 1);
      ts->keptfd = 0;
      forget(ts);
      ts->gil_queued = 0;
      ts->gil_next = NULL;
      delist_locked(ts);
    }
    ts = next;
  }
}

/* }====================================================== */


void lg_tstate_discard (lg_TState *ts) {
  atomic_store(&ts->park_fd, -1);  /* not adopted: it has none */
  recycle(ts);
}


/*
** A state registered with no Lua state yet is a host thread's
** (interp/embed.c): the interpreter's main thread comes with its state.
*/
lg_TState *lg_tstate_register (lg_IState *I, lua_State *L, int is_main) {
  lg_TState *ts = newstate();
  if (ts != NULL) {
    ts->host = I != NULL && L == NULL && !is_main;
    if (ts->host)
      atomic_store(&hosts, 1);
    lg_tstate_adopt(ts, I, L, is_main);
  }
  return ts;
}


int lg_tstate_hosts (void) {
  return atomic_load(&hosts);
}


void lg_tstate_adopt (lg_TState *ts, lg_IState *I, lua_State *L,
                      int is_main) {
  atomic_store(&ts->running, L);
  ts->interp = I;
  ts->is_main = is_main;
  ts->pthread = pthread_self();
  ts->ident = (unsigned long)ts->pthread;
  ts->native_id = gettid();
  ts->wq.ts = ts;
  atomic_store(&ts->self.ts, ts);
  ts->self.base = L;
  ts->cur = &ts->self;
  /* Any non-zero seed will do; the address differs between threads. */
  ts->rng = (uint32_t)((uintptr_t)ts >> 4) ^ 0x9e3779b9u;
  if (ts->rng == 0)
    ts->rng = 1;
  atomic_store(&ts->park_fd, -1);
  if (is_main) {  /* the main thread's waits also watch Ctrl-C */
    main_pthread = ts->pthread;
    if (ts->keptfd == 0)
      ts->keptfd = lg_eventfd() + 1;
    else {  /* a recycled one's: a stray wake-up may be in it */
      uint64_t drain;
      while (read(ts->keptfd - 1, &drain, sizeof drain) > 0)
        ;
    }
    atomic_store(&ts->park_fd, ts->keptfd - 1);
  }
  enlist(ts);
  lg_tstate_tls = ts;
}


/*
** The eventfd stays open with the state (keptfd): a waker that read
** park_fd just before may still write to it, and a closed descriptor's
** number could by then be another file's.
*/
void lg_tstate_unregister (lg_TState *ts) {
  lg_tstate_tls = NULL;  /* first, so a late signal finds nothing */
  atomic_store(&ts->park_fd, -1);
  lg_check(pthread_mutex_lock(&states.mutex));
  delist_locked(ts);
  ts->free_next = states.free;
  states.free = ts;
  lg_check(pthread_mutex_unlock(&states.mutex));
}


pthread_t lg_main_pthread (void) {
  return main_pthread;
}


lg_TState *lg_tstate_main (lg_IState *I) {
  lg_TState *ts;
  lg_check(pthread_mutex_lock(&states.mutex));
  for (ts = states.live; ts != NULL; ts = ts->live_next)
    if (ts->interp == I && ts->is_main)
      break;
  lg_check(pthread_mutex_unlock(&states.mutex));
  return ts;
}


void lg_tstate_foreach (lg_IState *I, void (*fn) (lg_TState *ts, void *ud),
                        void *ud) {
  lg_check(pthread_mutex_lock(&states.mutex));
  for (lg_TState *ts = states.live; ts != NULL; ts = ts->live_next)
    if (ts->interp == I && !ts->service)
      fn(ts, ud);
  lg_check(pthread_mutex_unlock(&states.mutex));
}


void lg_tstate_atfork (int phase, void (*forget) (lg_TState *ts)) {
  lg_mutex_atfork(&states.mutex, phase);
  if (phase == LG_FORK_CHILD) {  /* the forking thread is the main one */
    lg_TState *ts = lg_tstate_tls;
    lg_check(pthread_mutex_lock(&states.mutex));
    forget_others(ts, forget);
    for (lg_TState *f = states.free; f != NULL; f = f->free_next) {
      if (f->keptfd > 0)  /* the parent's too: a child's would wake it */
        close(f->keptfd - 1);
      f->keptfd = 0;
    }
    lg_check(pthread_mutex_unlock(&states.mutex));
    if (ts != NULL) {
      /* its own eventfd, not the parent's: a wake-up read here would be
         lost there (and one written here would wake the parent) */
      int fd = lg_eventfd();
      if (ts->keptfd > 0)
        close(ts->keptfd - 1);  /* park_fd's too, if it had one */
      ts->keptfd = fd + 1;
      atomic_store(&ts->park_fd, fd);
      main_pthread = ts->pthread = pthread_self();
      ts->native_id = gettid();
      ts->is_main = 1;
    }
  }
}


lg_TState *lg_tstate_swap (lg_TState *ts) {
  lg_TState *old = lg_tstate_tls;
  lg_tstate_tls = ts;
  return old;
}


lua_State *lg_tstate_setrunning (lg_TState *ts, lua_State *L) {
  return atomic_exchange(&ts->running, L);
}


int lg_spawn (void *(*fn) (void *), void *arg, size_t stacksize,
              const sigset_t *block, pthread_t *t) {
  pthread_attr_t attr;
  sigset_t saved;
  int err;
  lg_check(pthread_attr_init(&attr));
  lg_check(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
  if (stacksize != 0 &&
      (err = pthread_attr_setstacksize(&attr, stacksize)) != 0) {
    pthread_attr_destroy(&attr);
    return err;
  }
  pthread_sigmask(SIG_SETMASK, block, &saved);  /* the new thread's mask,
                                   whatever the caller's (the monitor's) */
  err = pthread_create(t, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  pthread_attr_destroy(&attr);
  return err;
}


/*
** The number of CPUs this process may run on: its affinity mask, not the
** machine's count, so that 'taskset -c 0' means one.
*/
int lg_usable_cpus (void) {
  static atomic_int ncpu;  /* 0 until first known */
  int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
  if (n == 0) {
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    atomic_store_explicit(&ncpu, n > 0 ? n : 1, memory_order_relaxed);
  }
  return n;
}
