/*
** vm/task.h -- luagil's threads as tasks that workers run.
** See LICENSE for copyright and licence (MIT).
**
** A luagil thread (a Lua thread started by _thread) is a task: a Lua state
** plus the record that follows it. A worker (vm/task.c), an OS thread of
** the pool, runs it. When the task waits at its own top level (sleep,
** Event.wait, join: its Lua state is the task's base state and can yield),
** it gives its worker back instead of parking it: the wait yields the
** state, the worker goes on with the next ready task or idles, and the
** wake-up (or the timeout) puts the task back on a worker, maybe another
** one. So 10,000 threads waiting on one Event hold a few OS threads, not
** 10,000. Anywhere else (inside a coroutine, a metamethod, a sort) a wait
** parks the worker as always.
**
** A task keeps its identity across workers: get_ident() and lock owners
** are the task's, not the OS thread's (lg_self).
**
** Floor 4 of vm/ (docs/ARCHITECTURE.md): uses vm/gil.h, vm/park.h,
** vm/stats.h, vm/service.h and floor 1. Waiting on a wait queue by
** yielding is vm/waitq.h's (lg_waitq_once), above this.
*/

#ifndef lg_task_h
#define lg_task_h

#include <lua.h>

#include "clock.h"
#include "istate.h"
#include "stats.h"

/*
** The smallest stack a thread really gets. Lua stops C recursion with
** "C stack overflow" after LUAI_MAXCCALLS (200) levels, plus a tenth more
** for error handling, and only a stack that holds them ends in that error
** rather than a crash. The deepest level measured is string.gsub calling
** a Lua function that calls gsub again: 2.1 KiB (its luaL_Buffer is on
** the stack; 423 KiB for the whole recursion, in the plain and the ASan
** builds alike, since Lua itself is not instrumented); luagil's own
** coroutine.resume, 0.8 KiB. Twice the worst, for 220 levels, plus the
** thread's own frames and a signal handler's: 1 MiB. Smaller sizes are
** accepted, as Python accepts 32 KiB, and rounded up to this; so is the
** default size (ulimit -s) when it is smaller.
*/
#define LG_TASK_MINSTACK  (1024 * 1024)


/* What a task's 'run' returns. */
#define LG_TASK_DONE     0  /* it ended */
#define LG_TASK_WAITING  1  /* it yielded to wait: a wake-up runs it again */

/* Task states. */
#define LG_TASK_RUNNING  0  /* on a worker */
#define LG_TASK_SLEEPING 1  /* yielded to wait: for a waker or the monitor */
#define LG_TASK_READY    2  /* taken: queued for a worker, or handed one */
#define LG_TASK_DEAD     3  /* gone with a fork(): never runs again */

typedef struct lg_Task lg_Task;

struct lg_Task {
  /* Set by the starter before lg_task_start; read-only after. */
  int (*run) (lg_Task *t);      /* on a worker, GIL held; LG_TASK_* */
  void (*done) (lg_Task *t);    /* after run ended it; GIL held, kept */
  void (*release) (lg_Task *t); /* the worker's last touch; no GIL */
  lg_IState *interp;            /* whose thread it is (lg_task_init) */
  lua_State *L;                 /* its base state */
  lg_Stats *stats;
  char name[16];                /* OS thread name, truncated */
  size_t stacksize;             /* 0: the default; others never yield */
  unsigned long ident;
  int expected;                 /* deterministic: its first take awaited */
  atomic_long native_id;        /* of the worker it first ran on; 0 before */

  /* The scheduler's (vm/task.c), under its mutex unless atomic. */
  atomic_int state;             /* LG_TASK_* */
  int yielding;                 /* run's: the yield is lg_task_*'s (GIL) */
  lg_Task *next;                /* in the ready queue */
  long deadline_ns;             /* of its timed wait */
  int heap_at;                  /* its place in the deadline heap, or -1 */
  lg_WaitNode wq;               /* its node while it waits on a queue */
  lg_Waiter waiter;             /* what it waits in, its interrupts
                                   (vm/waitq.h); 'ts' is its worker's */
};


/* Initialise a task of interpreter 'I' and its scheduling fields (the
** starter fills the rest). */
LG_FUNC void lg_task_init (lg_Task *t, lg_IState *I);

/*
** Start 't' on a worker: an idle one, the ready queue if workers are busy
** (a stalled queue gets a new worker, vm/task.c), or a new OS thread.
** Sets 't->expected' (deterministic policy). Called with the GIL held.
** Returns 0 or an errno value.
*/
LG_FUNC int lg_task_start (lg_Task *t);

/*
** The task the Lua code running on 'L' belongs to, if it may wait by
** yielding: 'L' is that task's base state and can yield, and the policy
** is not deterministic. NULL otherwise: park the thread instead.
*/
LG_FUNC lg_Task *lg_task_yieldable (lua_State *L);

/* Sleep until 'deadline' by yielding 't'; then 'k' runs (as
** vm/waitq.h's lg_waitq_once). */
LG_FUNC int lg_task_sleep (lua_State *L, lg_Task *t,
                           const struct timespec *deadline,
                           lua_KFunction k);

/* The first half of a yielding wait: 't' is asleep, and due at 'deadline'
** (NULL: none). GIL held. */
LG_FUNC void lg_task_arm (lg_Task *t, const struct timespec *deadline);

/*
** A waker took 't' (asleep in lg_waitq_once) off a wait queue: put it on a
** worker. Any thread; nothing happens if the monitor took it first.
*/
LG_FUNC void lg_task_wake (lg_Task *t);

/*
** How many tasks have yielded to wait and not run again yet: while none
** has, no Lua state is a waiting task's (stdlib/coroutine.c skips its
** look-up then). Any thread.
*/
LG_FUNC int lg_task_nwaiting (lg_IState *I);

/* The worker running 't' begins (d = 1) or ends (-1) a blocking call. */
LG_FUNC void lg_task_blocking (const lg_Task *t, int d);

/* Its ident, as _thread.get_ident() returns it: the task's, or else the
** OS thread's. */
LG_FUNC unsigned long lg_self_ident (void);

/*
** In a fork() child: the tasks of vanished threads never run again (and
** must leave their wait queues: vm/waitq.h's lg_waitq_forget_task).
*/
LG_FUNC void lg_task_forget (lg_Task *t);

/*
** 'I' closes and none of its tasks is left: its idle workers and its
** monitor leave, and the last of them frees its pool. Unless 'wake', the
** idle workers leave only when their idle time is up: for the process's
** first interpreter, whose close comes just before exit(), where a worker
** that ends then would run its thread-local destructors (OpenSSL's, say)
** while the exiting thread runs the atexit cleanup of the same library.
*/
LG_FUNC void lg_task_free (lg_IState *I, int wake);

/* fork(): the scheduler's mutex is held across it; in the child the idle
** workers, the ready queue, the deadline heap and the monitor are gone. */
LG_FUNC void lg_task_atfork (lg_IState *I, int phase);

#endif
