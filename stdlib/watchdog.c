/*
** stdlib/watchdog.c -- dumps that come from outside Lua: Ctrl-\ (SIGQUIT),
** threading.dump_tracebacks_later (luagil --dump-after), and a fatal
** signal (luagil --faulthandler).
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Two threads serve one interpreter (the one that turned a dump on): the
** watcher, made then, and the dumper, made for the first dump. The
** watcher runs no Lua and
** holds no GIL: it sleeps in ppoll on an eventfd that the SIGQUIT handler
** writes (the handler does nothing else), until then or the deadline of a
** later dump. For each dump it hands a job to the dumper and waits a
** second for it to have the GIL. The dumper is registered in the
** interpreter (a service thread: no dump lists it) with a Lua thread of
** its own; it takes the GIL like any thread (a drop request reaches a
** holder that runs Lua), writes the dump (stdlib/diag.c) with write(2),
** and lets the GIL go. If the GIL did not come within the second -- a C
** function holds it -- the watcher writes the thread list without
** tracebacks itself (lg_diag_write_nogil) and says who holds the GIL; the
** full dump follows if the GIL comes later. An 'exit' dump ends the
** process with status 1 once written (_exit: the threads may be stuck).
**
** State: 'W' below, guarded by W.mutex but for 'quit' (the handler's
** atomic flag) and the descriptors, made once. A fork() child has neither
** thread: its later dumps are cancelled, and Ctrl-\ there does what it
** did before the dumps were turned on.
**
** Fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) are written on
** an alternate stack by the crashing thread itself, as CPython's
** faulthandler does: best effort, with write(2) only, no lock waited for;
** then the signal is raised again with its default action.
*/

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "clock.h"
#include "fork.h"
#include "gil.h"
#include "lglib.h"
#include "park.h"
#include "task.h"
#include "tstate.h"

#define GIL_WAIT_NS  1000000000L  /* how long the watcher waits for it */


/* A dump to make: where to, why, and whether to exit after it. */
typedef struct Job {
  int fd;
  int exit;
  char why[128];
} Job;


static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cv;            /* the dumper waits for a job, the watcher
                                   for the dumper */
  int started;                  /* the watcher runs */
  int dumper;                   /* the dumper runs */
  long ndumps;                  /* dumps written with tracebacks */
  lg_IState *I;                 /* the interpreter they serve */
  lua_State *L;                 /* the dumper's Lua thread (anchored) */
  int efd;                      /* the watcher's eventfd (made once) */
  atomic_int quit;              /* the handler's: Ctrl-\ came */
  int onsignal;                 /* SIGQUIT is ours */
  struct sigaction oldquit;     /* what it was before */
  /* the later dump */
  long due;                     /* when (ns), or 0 */
  double every;                 /* seconds; its interval if 'rep' */
  int rep, lexit, lfd;          /* repeat, exit after, where (a dup) */
  /* the dumper's job */
  int hasjob;                   /* a job is waiting */
  Job job;
  int busy;                     /* the dumper works on a job */
  int gotgil;                   /* it has the GIL for its job */
} W = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
       .efd = -1, .lfd = -1};
static int cvready;             /* W.cv waits on CLOCK_MONOTONIC */

static char DUMPER_KEY;         /* registry key anchoring W.L */


/* Write all of 's' to 'fd', as far as it goes. */
static void writeall (int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}


static void writestr (int fd, const char *s) {
  writeall(fd, s, strlen(s));
}


static void wake_watcher (void) {
  uint64_t one = 1;
  if (write(W.efd, &one, sizeof one) < 0) { /* full: it is awake anyway */ }
}


/*
** {======================================================
** The dumper
** =======================================================
*/

/* With the GIL: the dump of every thread, into 'fd'. */
static int dumpto (lua_State *L) {
  const Job *j = lua_touserdata(L, 1);
  lg_diag_pushdump(L, 0);
  writestr(j->fd, j->why);
  writeall(j->fd, lua_tostring(L, -1), lua_rawlen(L, -1));
  return 0;
}


static void *dumper_main (void *arg) {
  lg_TState *ts = arg;
  lg_tstate_adopt(ts, W.I, W.L, 0);
  lg_check(pthread_mutex_lock(&W.mutex));
  for (;;) {
    Job j;
    while (!W.hasjob)
      lg_check(pthread_cond_wait(&W.cv, &W.mutex));
    j = W.job;
    W.hasjob = 0;
    W.busy = 1;
    W.gotgil = 0;
    lg_check(pthread_mutex_unlock(&W.mutex));
    lg_gil_take(ts);
    lg_check(pthread_mutex_lock(&W.mutex));
    W.gotgil = 1;
    lg_check(pthread_cond_broadcast(&W.cv));
    lg_check(pthread_mutex_unlock(&W.mutex));
    lua_pushcfunction(W.L, dumpto);
    lua_pushlightuserdata(W.L, &j);
    if (lua_pcall(W.L, 1, 0, 0) != LUA_OK) {
      writestr(j.fd, "luagil: the dump failed: ");
      writestr(j.fd, lua_tostring(W.L, -1) ? lua_tostring(W.L, -1) : "?");
      writestr(j.fd, "\n");
      lua_settop(W.L, 0);
    }
    if (j.exit)
      _exit(1);
    lg_gil_drop(ts, LG_DROP_PLAIN);
    lg_check(pthread_mutex_lock(&W.mutex));
    W.busy = 0;
    W.ndumps++;
    lg_check(pthread_cond_broadcast(&W.cv));
  }
  return NULL;
}

/* }====================================================== */


/*
** {======================================================
** The watcher
** =======================================================
*/

/* The dumper, made with the first dump: 0 or an errno value. */
static int dumper_locked (void) {
  lg_TState *ts;
  sigset_t all;
  pthread_t t;
  int err;
  if (W.dumper)
    return 0;
  if ((ts = lg_tstate_new()) == NULL)
    return ENOMEM;
  ts->service = 1;  /* no dump lists it */
  sigfillset(&all);
  err = lg_spawn(dumper_main, ts, LG_TASK_MINSTACK, &all, &t);
  if (err != 0)
    lg_tstate_discard(ts);
  W.dumper = err == 0;
  return err;
}


/*
** Dump to 'fd' (why: 'why'), through the dumper if it gets the GIL within
** a second, else without tracebacks. Called by the watcher, W.mutex held.
*/
static void dump_locked (int fd, int exitafter, const char *why) {
  long due = lg_now_ns() + GIL_WAIT_NS;
  int err;
  if (lg_gil_finalizing(W.I))
    return;  /* the program is ending: nothing to say */
  if ((err = dumper_locked()) != 0) {
    writestr(fd, why);
    lg_diag_write_nogil(W.I, fd, "cannot start the thread that takes the "
                        "GIL for the dump");
    if (exitafter)
      _exit(1);
    return;
  }
  if (W.busy || W.hasjob) {  /* the last one is still stuck */
    writestr(fd, why);
    lg_diag_write_nogil(W.I, fd, "the GIL has not been free since the "
                        "last dump asked for it");
    if (exitafter)
      _exit(1);
    return;
  }
  W.job.fd = fd;
  W.job.exit = exitafter;
  snprintf(W.job.why, sizeof W.job.why, "%s", why);
  W.hasjob = 1;
  W.gotgil = 0;
  lg_check(pthread_cond_broadcast(&W.cv));
  while ((W.hasjob || (W.busy && !W.gotgil)) && lg_now_ns() < due)
    lg_cond_wait_until(&W.cv, &W.mutex, due);
  if (W.hasjob || (W.busy && !W.gotgil)) {
    writestr(fd, why);
    lg_diag_write_nogil(W.I, fd, "the GIL was not free within a second; "
                        "the dump with tracebacks follows if it comes");
    if (exitafter)
      _exit(1);
  }
}


static void *watcher_main (void *arg) {
  (void)arg;
  lg_check(pthread_mutex_lock(&W.mutex));
  for (;;) {
    struct pollfd p = {W.efd, POLLIN, 0};
    struct timespec left;
    long now = lg_now_ns(), due = W.due;
    uint64_t drain;
    if (due > 0) {
      long ns = due > now ? due - now : 0;
      left.tv_sec = ns / 1000000000L;
      left.tv_nsec = ns % 1000000000L;
    }
    lg_check(pthread_mutex_unlock(&W.mutex));
    if (ppoll(&p, 1, due > 0 ? &left : NULL, NULL) > 0)
      while (read(W.efd, &drain, sizeof drain) > 0)
        ;
    lg_check(pthread_mutex_lock(&W.mutex));
    if (atomic_exchange(&W.quit, 0))
      dump_locked(2, 0, "luagil: Ctrl-\\ (SIGQUIT)\n");
    now = lg_now_ns();
    if (W.due > 0 && now >= W.due) {
      char why[128];
      int fd = W.lfd, ex = W.lexit;
      snprintf(why, sizeof why, "luagil: still running after %g s\n",
               W.every);
      W.due = W.rep ? now + (long)(W.every * 1e9) : 0;
      dump_locked(fd, ex, why);
    }
  }
  return NULL;
}


/* The SIGQUIT handler: async-signal-safe. */
static void on_quit (int sig) {
  int saved = errno;
  uint64_t one = 1;
  (void)sig;
  atomic_store(&W.quit, 1);
  if (write(W.efd, &one, sizeof one) < 0) { /* full: awake anyway */ }
  errno = saved;
}


/*
** The watcher and the dumper's Lua thread, for the caller's interpreter,
** if the watcher is not running (GIL held, W.mutex not). Raises on
** failure.
*/
static void start (lua_State *L) {
  lg_IState *I = lg_interp_current();
  sigset_t all;
  pthread_t t;
  int err;
  lg_check(pthread_mutex_lock(&W.mutex));
  if (W.started) {
    int other = W.I != I;
    lg_check(pthread_mutex_unlock(&W.mutex));
    if (other)
      luaL_error(L, "dumps are served for another interpreter");
    return;
  }
  lg_check(pthread_mutex_unlock(&W.mutex));
  if (W.efd < 0)
    W.efd = lg_eventfd();
  if (!cvready) {
    lg_cond_init(&W.cv);
    cvready = 1;
  }
  W.L = lua_newthread(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &DUMPER_KEY);
  W.I = I;
  sigfillset(&all);
  err = lg_spawn(watcher_main, NULL, 128 * 1024, &all, &t);
  if (err != 0)
    luaL_error(L, "can't start the watchdog thread (%s)", strerror(err));
  lg_check(pthread_mutex_lock(&W.mutex));
  W.started = 1;
  lg_check(pthread_mutex_unlock(&W.mutex));
}

/* }====================================================== */


/*
** {======================================================
** Fatal signals
** =======================================================
*/

static const int fatals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NFATAL  ((int)(sizeof fatals / sizeof fatals[0]))
static struct sigaction oldfatal[NFATAL];
static int fataldone;            /* the handlers are installed */


static const char *signame (int sig) {
  switch (sig) {
    case SIGSEGV: return "Segmentation fault (SIGSEGV)";
    case SIGBUS: return "Bus error (SIGBUS)";
    case SIGFPE: return "Floating-point exception (SIGFPE)";
    case SIGILL: return "Illegal instruction (SIGILL)";
    case SIGABRT: return "Aborted (SIGABRT)";
    default: return "fatal signal";
  }
}


static void on_fatal (int sig) {
  int saved = errno;
  writestr(2, "luagil: fatal error: ");
  writestr(2, signame(sig));
  writestr(2, "\n");
  lg_diag_write_fatal(2);
  for (int i = 0; i < NFATAL; i++)  /* the default action, now */
    sigaction(fatals[i], &oldfatal[i], NULL);
  signal(sig, SIG_DFL);
  errno = saved;
  raise(sig);
}


/* Install (on) the fatal handlers on an alternate stack of this thread,
** or put back what was there (off). */
static void setfatal (int on) {
  if (on && !fataldone) {
    static char altstack[64 * 1024];
    stack_t ss;
    struct sigaction sa;
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NFATAL; i++)
      sigaction(fatals[i], &sa, &oldfatal[i]);
    fataldone = 1;
  }
  else if (!on && fataldone) {
    for (int i = 0; i < NFATAL; i++)
      sigaction(fatals[i], &oldfatal[i], NULL);
    fataldone = 0;
  }
}

/* }====================================================== */


/*
** {======================================================
** Lua functions
** =======================================================
*/

/* _thread._dump_on_signal(on): Ctrl-\ (SIGQUIT) dumps to stderr */
static int watch_onsignal (lua_State *L) {
  int on;
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  on = lua_toboolean(L, 1);
  if (on)
    start(L);
  lg_check(pthread_mutex_lock(&W.mutex));
  if (on && !W.onsignal) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_quit;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGQUIT, &sa, &W.oldquit);
    W.onsignal = 1;
  }
  else if (!on && W.onsignal) {
    sigaction(SIGQUIT, &W.oldquit, NULL);
    W.onsignal = 0;
  }
  lg_check(pthread_mutex_unlock(&W.mutex));
  return 0;
}


/* Forget the later dump, W.mutex held. */
static void cancel_locked (void) {
  W.due = 0;
  if (W.lfd >= 0)
    close(W.lfd);
  W.lfd = -1;
}


/*
** _thread._dump_later(seconds, rep, exit, file): dump to 'file' (a file,
** default stderr) after 'seconds' (and every 'seconds' if 'rep'), then
** exit with status 1 if 'exit'; replaces the last one.
*/
static int watch_later (lua_State *L) {
  double s = luaL_checknumber(L, 1);
  int rep = lua_toboolean(L, 2), ex = lua_toboolean(L, 3), fd = 2;
  luaL_argcheck(L, s > 0 && s <= LG_TIMEOUT_MAX, 1,
                "timeout must be greater than 0");
  if (!lua_isnoneornil(L, 4)) {
    luaL_Stream *f = luaL_checkudata(L, 4, LUA_FILEHANDLE);
    luaL_argcheck(L, f->closef != NULL && f->f != NULL, 4,
                  "file is closed");
    fd = fileno(f->f);
  }
  start(L);
  fd = dup(fd);
  if (fd < 0)
    return luaL_error(L, "cannot use the file (%s)", strerror(errno));
  lg_check(pthread_mutex_lock(&W.mutex));
  cancel_locked();
  W.every = s;
  W.rep = rep;
  W.lexit = ex;
  W.lfd = fd;
  W.due = lg_now_ns() + (long)(s * 1e9);
  lg_check(pthread_mutex_unlock(&W.mutex));
  wake_watcher();
  return 0;
}


/* _thread._cancel_dump_later() */
static int watch_cancel (lua_State *L) {
  (void)L;
  lg_check(pthread_mutex_lock(&W.mutex));
  cancel_locked();
  lg_check(pthread_mutex_unlock(&W.mutex));
  if (W.efd >= 0)
    wake_watcher();
  return 0;
}


/* _thread._dumps() -> how many dumps with tracebacks were written (for
** the tests) */
static int watch_dumps (lua_State *L) {
  long n;
  lg_check(pthread_mutex_lock(&W.mutex));
  n = W.ndumps;
  lg_check(pthread_mutex_unlock(&W.mutex));
  lua_pushinteger(L, n);
  return 1;
}


/* _thread._faulthandler(on): fatal signals write what they can */
static int watch_fatal (lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  setfatal(lua_toboolean(L, 1));
  return 0;
}


/*
** fork(): the child has no watcher nor dumper. Its later dump is
** forgotten and Ctrl-\ does there what it did before.
*/
static void forkhandler (int phase) {
  if (phase == LG_FORK_PREPARE)
    lg_check(pthread_mutex_lock(&W.mutex));
  else if (phase == LG_FORK_PARENT)
    lg_check(pthread_mutex_unlock(&W.mutex));
  else {
    lg_mutex_init(&W.mutex);
    lg_cond_init(&W.cv);
    W.started = W.dumper = W.busy = W.hasjob = 0;
    cancel_locked();
    if (W.onsignal) {
      sigaction(SIGQUIT, &W.oldquit, NULL);
      W.onsignal = 0;
    }
  }
}


static const luaL_Reg watch_funcs[] = {
  {"_dump_on_signal", watch_onsignal},
  {"_dump_later", watch_later},
  {"_cancel_dump_later", watch_cancel},
  {"_faulthandler", watch_fatal},
  {"_dumps", watch_dumps},
  {NULL, NULL}
};


void lg_open_watchdog (lua_State *L) {
  static atomic_int registered;
  if (!atomic_exchange(&registered, 1))
    lg_fork_register(forkhandler);
  luaL_setfuncs(L, watch_funcs, 0);
}

/* }====================================================== */
