/*
** vm/tstate.h -- per-OS-thread state of luagil.
** See LICENSE for copyright and licence (MIT).
**
** Every OS thread that runs Lua under the GIL has one lg_TState, reached
** through a thread-local pointer. The signal handlers read it, so the
** pointer uses the initial-exec TLS model (no allocation, no lock) and the
** fields they read are atomics or sig_atomic_t.
**
** Floor 1 of vm/ (docs/ARCHITECTURE.md): uses only vm/base.h. The fields
** of other floors (the GIL's queue links, the parker's token, ...) live
** here so that one allocation per thread serves them all; each says whose
** it is and what guards it.
*/

#ifndef lg_tstate_h
#define lg_tstate_h

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <lua.h>

#include "base.h"

typedef struct lg_TState lg_TState;
typedef struct lg_IState lg_IState;  /* vm/istate.h */
struct lg_Task;

/*
** A node of a wait queue (vm/waitq.h): a parked thread's, or a task's that
** yielded to wait (vm/task.h). Guarded by the mutex of the queue's owner.
*/
typedef struct lg_WaitNode {
  struct lg_WaitNode *next, *prev;
  void *_Atomic on;            /* the queue it waits on; a waker clears it */
  lg_TState *ts;               /* the parked thread, or NULL */
  struct lg_Task *task;        /* the yielded task, or NULL */
  lg_IState *_Atomic counted;  /* the interpreter whose blocked threads
                                  count it (vm/waitq.c), or NULL */
} lg_WaitNode;


/*
** What a thread blocks in, for the dumps and the deadlock detector
** (vm/waitq.h). The waiter fills it with the GIL held just before it
** blocks and clears it (what = NULL) once it runs again; a reader holds
** the GIL, but for 'what', which a dump without the GIL may read.
*/
struct lg_Waiter;

typedef struct lg_Wait {
  const char *_Atomic what;    /* "Lock.acquire", "join", ...; NULL: none */
  const void *obj;             /* the object waited on, or NULL */
  const void *site;            /* its creation site (stdlib/lglib.h's
                                  lg_Site), or NULL */
  struct lg_Waiter *const *holder;  /* where 'obj' keeps its holder, or
                                       NULL if it has none */
  struct lg_Waiter *target;    /* join: the thread joined */
  int dl;                      /* no timeout, and only another thread of
                                  the interpreter can end it */
  int nointr;                  /* cancellation and deadlock reports do not
                                  end it (a Condition retaking its lock) */
} lg_Wait;


/* The deepest nesting of locks that lock-order checking follows. */
#define LG_HELD_MAX  16

/* Interrupts that end a thread's waits (lg_Waiter.intr). */
#define LG_INTR_CANCEL    1    /* t:cancel() */
#define LG_INTR_DEADLOCK  2    /* every thread is blocked (main thread) */

/*
** A luagil thread as a waiter: a task has one (vm/task.h), and so has the
** state of every OS thread for the Lua thread it runs when that is not a
** task (the main thread, a host thread). lg_waiter_self (vm/waitq.h)
** finds the caller's.
*/
typedef struct lg_Waiter {
  lg_Wait wait;                /* GIL: what it blocks in now */
  lg_Wait ended;               /* owner: the wait an interrupt ended last,
                                  for the error that the raiser makes */
  atomic_int intr;             /* LG_INTR_* pending (any thread sets) */
  int shield;                  /* GIL, owner: threading.shield depth;
                                  raised for good once its function ended,
                                  so that a later cancel does nothing */
  long raised_ns;              /* owner: when a cancellation last raised
                                  in it (the eval breaker's level) */
  lg_TState *_Atomic ts;       /* the OS thread's state it runs on now,
                                  NULL while a task is off its worker */
  lua_State *base;             /* its Lua thread, below any coroutine
                                  (read-only once set), or NULL */
  struct lg_Waiter *chain;     /* scratch of the cycle search (GIL) */
  int nheld;                   /* GIL: lock-order checking (stdlib/
                                  lockorder.c): the locks it holds ... */
  void *held[LG_HELD_MAX];     /* ... in the order taken (lg_Dep *) */
} lg_Waiter;

struct lg_TState {
  /*
  ** The fields come in groups, each on cache lines of its own (vm/base.h),
  ** by who writes them: a handoff between two cores then moves only the
  ** lines it must (the token, the queue links), not the read-only ones
  ** that every GIL operation reads beside them.
  */

  /* Read-only after registration (but 'stats'), read by other threads. */
  lg_IState *interp;           /* whose */
  int is_main;
  int service;                 /* a worker or a service thread, which no
                                  dump lists (a worker's task is listed
                                  instead) */
  int host;                    /* a host thread (luagil_ensure) */
  pthread_t pthread;
  unsigned long ident;         /* pthread_self() as a number, as Python */
  long native_id;              /* gettid() */
  /* The record of the Lua thread it runs: the owner sets it while it
     holds the GIL or is not queued; the GIL's timer and the deterministic
     handoff read it under gil.mutex while the thread is queued. */
  struct lg_Stats *stats;

  /* Written by the owner (and its signal handlers), often. */
  _Alignas(LG_CACHELINE)
  lua_State *_Atomic running;  /* owner writes: the lua_State it runs now */
  atomic_int in_lua;           /* owner writes: 1 while it runs Lua with
                                  the GIL */
  volatile sig_atomic_t armed; /* handler sets, hook clears: GIL hook set */
  volatile sig_atomic_t in_hook; /* owner and its handler: LG_HOOK_* */
  int stage;                   /* preempt=any: 1 while counting down */
  uint32_t rng;                /* xorshift state for the 1-8 jitter */
  int spin;                    /* its last park ended soon: spin next time */
  int waited;                  /* priority-io: its blocking call waited
                                  (1), will not (-1), or ask (0) */
  int brief;                   /* owner thread only: the blocking call
                                  about to begin is brief (vm/waitq.h) */
  int ownwait;                 /* owner thread only: ... or waits for
                                  other threads, not I/O (vm/waitq.h) */
  atomic_int blocking;         /* owner writes: inside LG_BEGIN_BLOCKING */
  long nvcsw;                  /* priority-io: voluntary switches before */
  _Atomic long gil_resumed;    /* owner writes, the GIL's timer reads:
                                  when it last got the GIL and ran (ns) */
  struct lg_Task *task;        /* owner thread only: the task it runs
                                  now (vm/task.h), or NULL */
  lg_Waiter *cur;              /* owner thread only: the waiter of what it
                                  runs now, its task's or 'self' */

  /* The parker: one wake-up token (see vm/park.c), which its waker
     writes and it spins on. */
  _Alignas(LG_CACHELINE)
  atomic_uint park_token;      /* a late waker may still set it (atomic) */
  int keptfd;                  /* states.mutex or owner: its eventfd + 1,
                                  made once and kept with the state (0:
                                  none), so that a late waker's write
                                  never lands in a closed descriptor */
  atomic_int park_fd;          /* eventfd for the main thread, else -1 */

  /* The GIL's queue of waiting threads, guarded by gil.mutex. */
  _Alignas(LG_CACHELINE)
  lg_TState *gil_next;
  long gil_since;              /* when it queued (ns) */
  int gil_queued;              /* in the queue now */
  int gil_dropped;             /* why it last let the GIL go (LG_DROP_*) */
  int expected;                /* deterministic: its next take was awaited
                                  (lg_gil_expect); under gil.mutex, or by
                                  the owner while it is not queued */
  long gil_left;               /* priority-io: when it yielded, or 0 */
  long gil_out;                /* priority-io: how long it was kept out
                                  then, until its last grant (ns) */

  /* Its node on a wait queue, while it waits on one. */
  _Alignas(LG_CACHELINE)
  lg_WaitNode wq;
  /* Virtual time (vm/waitq.c): a timed wait's deadline on the virtual
     clock, the next such sleeper (both under waitq.c's vmutex), and
     whether the clock has reached it (atomic). */
  long vdeadline;
  struct lg_TState *vnext;
  atomic_int vfired;

  lg_Waiter self;              /* the Lua thread it runs when that is no
                                  task (vm/waitq.h) */
  lg_TState *free_next;        /* states.mutex: link in the free list */
  lg_TState *live_next, *live_prev;  /* states.mutex: the registered ones
                                        (a fork() child forgets the rest) */
};


/*
** Does an interrupt end the waits of 'w' (NULL: none) now (its owner
** asks)? A deadlock
** report always does; a cancellation unless inside threading.shield or
** in a wait that must not end (lg_Wait.nointr).
*/
static inline int lg_waiter_interrupted (const lg_Waiter *w) {
  int intr;
  if (w == NULL)  /* an unregistered thread */
    return 0;
  intr = atomic_load_explicit(&w->intr, memory_order_relaxed);
  if (w->shield > 0 || w->wait.nointr)
    intr &= ~LG_INTR_CANCEL;
  return intr != 0;
}


/*
** Is a cancellation of 'w' pending and not held off (owner asks)? What
** makes running Lua raise (vm/breaker.c).
*/
static inline int lg_waiter_cancelled (const lg_Waiter *w) {
  return w != NULL && w->shield == 0 && !w->wait.nointr &&
         (atomic_load_explicit(&w->intr, memory_order_relaxed) &
          LG_INTR_CANCEL);
}


/* The calling thread's state, or NULL if it is not registered. */
extern __thread lg_TState *lg_tstate_tls
  __attribute__((tls_model("initial-exec")));

static inline lg_TState *lg_tstate_current (void) {
  return lg_tstate_tls;
}

/* Is the calling thread luagil's main thread, the one Ctrl-C interrupts? */
static inline int lg_tstate_is_main (void) {
  return lg_tstate_tls != NULL && lg_tstate_tls->is_main;
}

/* The interpreter the calling thread runs in, or NULL. */
static inline lg_IState *lg_interp_current (void) {
  return lg_tstate_tls != NULL ? lg_tstate_tls->interp : NULL;
}

/*
** The luagil thread the caller is: the task it runs (vm/task.h), or else
** the OS thread. What owns an RLock. NULL if not registered.
*/
static inline const void *lg_self (void) {
  lg_TState *ts = lg_tstate_tls;
  return ts != NULL && ts->task != NULL ? (const void *)ts->task
                                        : (const void *)ts;
}

/*
** Register the calling OS thread and make it current, in interpreter 'I';
** 'L' is the state it starts running. NULL if memory runs out.
*/
LG_FUNC lg_TState *lg_tstate_register (lg_IState *I, lua_State *L,
                                       int is_main);

/*
** The same in two steps, so that a thread can be given its state before
** it exists, where running out of memory can still be reported: a cleared
** state (NULL if memory runs out), then, on the thread, make it current.
** lg_tstate_discard recycles a state that no thread took.
*/
LG_FUNC lg_TState *lg_tstate_new (void);
LG_FUNC void lg_tstate_adopt (lg_TState *ts, lg_IState *I, lua_State *L,
                              int is_main);
LG_FUNC void lg_tstate_discard (lg_TState *ts);

/* The main thread's pthread (the thread registered with is_main). */
LG_FUNC pthread_t lg_main_pthread (void);

/*
** The registered state of interpreter 'I' that is its main thread (the
** one registered with is_main, Ctrl-C's), or NULL.
*/
LG_FUNC lg_TState *lg_tstate_main (lg_IState *I);

/*
** Call 'fn' on every registered state of interpreter 'I' but workers and
** service threads (so: the main thread, host threads), under the
** registry's mutex: 'fn' must not register or unregister a state.
*/
LG_FUNC void lg_tstate_foreach (lg_IState *I,
                                void (*fn) (lg_TState *ts, void *ud),
                                void *ud);

/* Did a host thread ever register (lg_tstate_register with no state)? A
** host thread may call in at any time: no deadlock is sure then. */
LG_FUNC int lg_tstate_hosts (void);

/*
** Unregister the calling thread. Its state is recycled, never freed, so a
** waker that touches it a moment too late only leaves a stray token.
*/
LG_FUNC void lg_tstate_unregister (lg_TState *ts);

/*
** Make 'ts' (maybe NULL) the calling thread's current state, returning
** the one it replaces: a thread that enters another interpreter
** (interp/interpreters.c) comes back to its own state this way.
*/
LG_FUNC lg_TState *lg_tstate_swap (lg_TState *ts);

/* The state this thread runs now; used around coroutine resumes. */
LG_FUNC lua_State *lg_tstate_setrunning (lg_TState *ts, lua_State *L);

/*
** fork(): the registry's mutex is held across it. In the child, every
** state but the forking thread's leaves the registry (never recycled: a
** lock may still name one as its owner), 'forget' called on each first.
*/
LG_FUNC void lg_tstate_atfork (int phase, void (*forget) (lg_TState *ts));

/*
** Start a detached OS thread running 'fn(arg)', with 'stacksize' bytes of
** stack (0: the default) and exactly the signals in 'block' blocked.
** Returns 0 or an errno value.
*/
LG_FUNC int lg_spawn (void *(*fn) (void *), void *arg, size_t stacksize,
                      const sigset_t *block, pthread_t *t);

/* The number of CPUs this process may run on (its affinity mask). */
LG_FUNC int lg_usable_cpus (void);

#endif
