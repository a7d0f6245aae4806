/*
** vm/worker.c -- a pool of OS threads for luagil's threads.
** See LICENSE for copyright and licence (MIT).
**
** Creating and joining an OS thread costs ~50 us here; a thread whose job
** has ended therefore waits a while (IDLE_SECONDS) for another job before
** it exits. Idents repeat, as Python allows. An idle worker holds no Lua
** resources, so the interpreter may close while workers idle.
*/

#include <errno.h>
#include <stdlib.h>

#include "fork.h"
#include "park.h"
#include "worker.h"

#define MAX_IDLE      64
#define IDLE_SECONDS  2.0


typedef struct Worker {
  lg_TState *ts;            /* the worker's; read by others while idle */
  size_t stacksize;
  lg_Job job, done;         /* pool.mutex once the worker runs */
  void *arg;                /* pool.mutex once the worker runs */
  struct Worker *next;      /* pool.mutex: link in the idle list */
} Worker;


static struct {
  pthread_mutex_t mutex;
  Worker *idle;             /* pool.mutex */
  int nidle;                /* pool.mutex */
} pool = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};


/* Remove 'w' from the idle list if it is there; true if it was. */
static int unidle_locked (Worker *w) {
  for (Worker **p = &pool.idle; *p != NULL; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      pool.nidle--;
      return 1;
    }
  }
  return 0;
}


/*
** Finish the current job and wait for the next: true if one came, false
** if the worker should exit (the pool is full, or no job came in time).
*/
static int next_job (Worker *w) {
  lg_Job done = w->done;
  void *arg = w->arg;
  struct timespec dl;
  int got, idle = 0;
  lg_check(pthread_mutex_lock(&pool.mutex));
  if (pool.nidle < MAX_IDLE) {
    idle = 1;
    w->job = NULL;
    w->next = pool.idle;
    pool.idle = w;
    pool.nidle++;
  }
  lg_check(pthread_mutex_unlock(&pool.mutex));
  done(arg);
  if (!idle)
    return 0;
  lg_deadline(IDLE_SECONDS, &dl);
  for (;;) {
    int r = lg_park(w->ts, &dl, LG_PARK_SPIN);
    lg_check(pthread_mutex_lock(&pool.mutex));
    {
      /* lg_worker_start unlinks a worker and gives it a job in one step */
      if (w->job != NULL)
        got = 1;
      else if (r == LG_TIMEDOUT && unidle_locked(w))
        got = 0;
      else
        got = -1;  /* spurious wake-up */
    }
    lg_check(pthread_mutex_unlock(&pool.mutex));
    if (got >= 0)
      return got;
  }
}


static void *worker_main (void *arg) {
  Worker *w = arg;
  w->ts = lg_tstate_register(NULL, 0);
  do {
    w->job(w->arg);
  } while (next_job(w));
  lg_tstate_unregister(w->ts);
  free(w);
  return NULL;
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
  pthread_sigmask(SIG_BLOCK, block, &saved);  /* the new thread's mask */
  err = pthread_create(t, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  pthread_attr_destroy(&attr);
  return err;
}


void lg_worker_atfork (int phase) {
  if (phase == LG_FORK_PREPARE)
    lg_check(pthread_mutex_lock(&pool.mutex));
  else {
    if (phase == LG_FORK_CHILD) {  /* the idle threads are gone */
      pool.idle = NULL;
      pool.nidle = 0;
    }
    lg_check(pthread_mutex_unlock(&pool.mutex));
  }
}


int lg_worker_start (lg_Job job, lg_Job done, void *arg, size_t stacksize,
                     unsigned long *ident) {
  Worker *w = NULL;
  lg_check(pthread_mutex_lock(&pool.mutex));
  for (Worker **p = &pool.idle; *p != NULL; p = &(*p)->next) {
    if ((*p)->stacksize == stacksize) {
      w = *p;
      *p = w->next;
      pool.nidle--;
      w->job = job;
      w->done = done;
      w->arg = arg;
      break;
    }
  }
  lg_check(pthread_mutex_unlock(&pool.mutex));
  if (w != NULL) {
    *ident = w->ts->ident;  /* before the wake: then 'w' may go away */
    lg_unpark(w->ts);
    return 0;
  }
  pthread_t t;
  sigset_t block;
  int err;
  w = calloc(1, sizeof *w);
  if (w == NULL)
    return ENOMEM;
  w->stacksize = stacksize;
  w->job = job;
  w->done = done;
  w->arg = arg;
  sigemptyset(&block);  /* SIGINT goes to the main thread */
  sigaddset(&block, SIGINT);
  if ((err = lg_spawn(worker_main, w, stacksize, &block, &t)) != 0) {
    free(w);
    return err;
  }
  *ident = (unsigned long)t;
  return 0;
}
