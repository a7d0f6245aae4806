/*
** interp/luagil.h -- the public embedding API of luagil.
** See LICENSE for copyright and licence (MIT).
**
** A host creates or adopts a lua_State, installs luagil on it (the calling
** thread then holds the GIL and is the interpreter's main thread), opens
** the libraries, runs code with the ordinary Lua API, releases the GIL
** around its own blocking work, and closes the interpreter.
**
** Unless a function says otherwise it must be called by a thread that
** holds the GIL of the interpreter it acts on.
**
** Many interpreters: each luagil_install (and each interpreters.create of
** Lua code) makes an interpreter with its own GIL, threads and settings.
** A function that takes a lua_State acts on that state's interpreter (an
** explicit one); the few that take none act on the calling thread's
** current interpreter -- the one it runs Lua in, else the newest one still
** open -- or, where they say so, on the whole process. Each function says
** which.
**
** Misuse returns an error, never crashes: every function below accepts a
** NULL pointer, a state luagil was not installed on, and a call after
** luagil_close, and says what it returns then. (A state freed by the host
** itself, or one luagil_close freed, is still not to be passed to the
** ordinary Lua API.)
*/

#ifndef luagil_h
#define luagil_h

#include <lua.h>

#if defined(LUAGIL_BUILDING)
#define LUAGIL_API  __attribute__((visibility("default")))
#else
#define LUAGIL_API  extern
#endif

#define LUAGIL_VERSION  "luagil 0.1"


/*
** Options of an interpreter. Zero means "the default" for every field, so
** a host may write 'luagil_Options o = {0};'.
*/
typedef struct luagil_Options {
  double switch_interval;   /* seconds, > 0; default 0.005 */
  const char *preempt;      /* "any" (default) or "safe" */
  const char *policy;       /* "interval" (default), "ticks", "priority-io",
                               "deterministic", optionally ":N", or
                               "deterministic:pct[:P1,P2...]" (a PCT
                               schedule, as luagil --explore prints);
                               under "deterministic" given here, the
                               clocks and timeouts scripts see are
                               virtual, for the whole process */
  long long seed;           /* with has_seed: seeds the deterministic
                               policy, 'any' preemption and math.random */
  int has_seed;
  int signo;                /* signal used to reach the GIL holder (SIGURG) */
  int catch_sigint;         /* 1: Ctrl-C interrupts the main thread */
  int print_stats;          /* 1: a table of GIL statistics on stderr at
                               luagil_close */
  const char *trace;        /* record GIL events into this .json or .html
                               file, written at luagil_close */
  const char *modules;      /* the modules luagil_openlibs registers, as
                               "threading queue time"; NULL: all of them */
  int detect_deadlocks;     /* 1: when every thread is blocked for good,
                               the main thread's wait raises
                               threading.DeadlockError (the luagil
                               program's default; off for a host, whose
                               own threads may call in at any time) */
} luagil_Options;


/*
** Install luagil on 'L', a state the host made with luaL_newstate or
** lua_newstate: 'L' becomes an interpreter with its own GIL. The calling
** thread becomes its main thread and holds its GIL. A process may run
** many interpreters, in parallel, but a thread installs one: a second
** install from a thread that already runs in one fails (install it from
** another thread; Lua code makes more with interpreters.create). The
** first interpreter's main thread is the one Ctrl-C interrupts, and the
** first is the one luagil_ensure enters (luagil_ensure_in enters any).
** Explicit: acts on 'L'.
** Returns LUA_OK, or an error status with a message on top of 'L'
** (LUA_ERRRUN and no message if 'L' is NULL).
*/
LUAGIL_API int luagil_install (lua_State *L, const luagil_Options *opts);

/*
** luaL_newstate plus luagil_install: a new interpreter, in the calling
** thread; NULL if either fails (the reason is written to stderr).
*/
LUAGIL_API lua_State *luagil_newstate (const luagil_Options *opts);

/*
** Open Lua's standard libraries, replace 'coroutine', 'debug', 'os' and
** 'require' by their GIL-aware versions and register luagil's modules in
** package.preload ('threading', '_thread', 'time', ...; only those named
** in luagil_Options.modules if it was set, plus '_thread', which every
** other module needs). Explicit: 'L''s interpreter. Does nothing if 'L'
** is NULL, is not a state of an interpreter, or it was closed.
*/
LUAGIL_API void luagil_openlibs (lua_State *L);

/*
** The opener of the 'luagil' module, for luaL_requiref or package.preload
** (luagil_openlibs registers it). In a Lua that luagil does not run yet
** (stock lua5.4 loading luagil.so, whose luaopen_luagil calls this) it
** installs luagil on the requiring state -- that thread becomes the main
** thread and holds the GIL --, opens the libraries and registers the
** modules as "luagil.<name>" and under their short names, but for
** 'logging', which stays "luagil.logging" so that lualogging is not
** shadowed ('socket' loads LuaSocket's own socket.lua, where it is
** installed, on luagil's 'socket.core'); lua_close then joins
** the non-daemon threads before the state goes away. Daemon threads still
** alive then are abandoned: they park when they want the GIL, but one
** that is blocked in a wait with a timeout on a luagil object may touch
** that object's memory after lua_close freed it, before the process
** exits; a host that cannot accept that joins its threads itself.
** Returns the module table: luagil.threading is require "luagil.threading".
*/
LUAGIL_API int luagil_openmodule (lua_State *L);

/*
** Join every non-daemon thread of 'L''s interpreter (explicit), as Python
** does when the main module ends. Called by its main thread. Returns
** LUA_OK, or an error status with the error on the stack (e.g.
** "interrupted!" after Ctrl-C). Misuse gives LUA_ERRRUN: with a message
** if 'L' is a state luagil is not installed on, without one (and 'L'
** untouched) if it is NULL or luagil_close ran.
*/
LUAGIL_API int luagil_shutdown (lua_State *L);

/*
** luagil_shutdown, then free everything of 'L''s interpreter (explicit),
** and first close the interpreters its Lua code made and left open,
** newest first. Its main thread, GIL held.
**
** In order: non-daemon threads are joined; from then on luagil_ensure
** fails with LUAGIL_ECLOSED, host threads already waiting in it are let
** through; the GIL is finalized, so any other thread that wants it from
** now on parks for ever; then 'L' is closed with lua_close -- but only if
** no daemon thread is alive and no host thread is between luagil_ensure
** and luagil_release. Otherwise 'L' is left allocated on purpose (a
** deliberate leak, as Python does not tear down under daemon threads):
** such a thread may be blocked in a call that will touch the state once
** it returns, and freeing it would be a use after free. After this call
** 'L' must not be used. Returns 1 if 'L' was closed, 0 if it was left,
** -1 (and does nothing) if 'L' is NULL, is not luagil's, or luagil_close
** ran already: a second call is harmless.
*/
LUAGIL_API int luagil_close (lua_State *L);

/* Number of daemon threads still alive in the current interpreter. Any
** thread may call it. */
LUAGIL_API int luagil_daemons_alive (void);

/*
** True if the error object at 'idx' was raised by _thread.exit() (or
** thread:exit()), Python's SystemExit: a host that runs a chunk should
** end quietly, as the luagil program then exits with status 0.
*/
LUAGIL_API int luagil_isexit (lua_State *L, int idx);

/*
** Ctrl-C: when on, SIGINT interrupts the main thread with "interrupted!"
** at its next instruction boundary and wakes its blocking waits. When
** off, SIGINT has its default action. Process-wide: Ctrl-C interrupts the
** first interpreter's main thread. Main thread only.
*/
LUAGIL_API void luagil_catch_sigint (int on);

/*
** True (and cleared) if a Ctrl-C arrived since the last call: for hosts
** that wait outside Lua, such as a REPL reading a line. Process-wide.
** Any thread.
*/
LUAGIL_API int luagil_take_sigint (void);

/* A file descriptor that becomes readable when Ctrl-C arrives.
** Process-wide. */
LUAGIL_API int luagil_sigint_fd (void);

/*
** The switch interval in seconds, of the current interpreter. Setting it
** returns 1, or 0 (and changes nothing) unless 0 < 's' <= 1e8 (NaN is
** refused too) or there is no interpreter. Any thread.
*/
LUAGIL_API double luagil_getswitchinterval (void);
LUAGIL_API int luagil_setswitchinterval (double s);

/* Preemption mode of the current interpreter, "any" or "safe"; returns
** 1, or 0 for an unknown name or NULL. */
LUAGIL_API int luagil_setpreempt (const char *mode);

/* Switching policy of the current interpreter, "name" or "name:N";
** returns 1, or 0 for a bad one or NULL. */
LUAGIL_API int luagil_setpolicy (const char *spec);


/*
** Releasing the GIL around blocking work, for hosts and for C modules
** written for luagil (a C function called from Lua holds the GIL). Between
** the two halves the thread must not touch any lua_State, nor memory owned
** by Lua (read and write into buffers of its own). Both halves preserve
** errno. Called with the GIL held; a thread luagil does not know passes
** through unchanged, so a C module still works under a plain Lua. The two
** halves must be in one block of one function, on one thread.
**
**   LUAGIL_BEGIN_ALLOW_THREADS
**   n = read(fd, buf, sizeof buf);
**   LUAGIL_END_ALLOW_THREADS
*/
typedef struct luagil_Thread luagil_Thread;

LUAGIL_API luagil_Thread *luagil_save_thread (void);
LUAGIL_API void luagil_restore_thread (luagil_Thread *t);

#define LUAGIL_BEGIN_ALLOW_THREADS \
  { luagil_Thread *luagil_save_ = luagil_save_thread();
#define LUAGIL_END_ALLOW_THREADS \
  luagil_restore_thread(luagil_save_); }


/*
** Host threads calling into Lua (CPython's PyGILState_Ensure/Release).
**
** luagil_ensure enters the process's first interpreter; luagil_ensure_in
** enters the one installed on 'interp' (explicit: the state given to
** luagil_install or made by luagil_newstate, not another of its threads).
** Any OS thread may call them: one the host made itself, one running a
** Lua thread of luagil (e.g. inside LUAGIL_BEGIN_ALLOW_THREADS), or a main
** thread. It takes that interpreter's GIL (waiting for it if need be) and
** sets '*L' to a lua_State the calling thread may use until its matching
** luagil_release:
**   - a thread that does not run in that interpreter is registered there
**     on its first call: it gets its own lua_State (a Lua thread of the
**     interpreter, kept until the OS thread exits or the interpreter
**     closes), and appears in threading.enumerate() as a dummy thread
**     named "Dummy-N", as in Python;
**   - a thread of that interpreter gets the state it is running.
** A thread that holds another interpreter's GIL lets it go first, as
** around a blocking call, and takes it back at the matching release: a
** thread never waits for one GIL while holding another, so host threads
** of two interpreters cannot deadlock on their GILs.
** Calls nest: each successful luagil_ensure is paired with one
** luagil_release, innermost first, on the same thread. A nested call made
** while the GIL is held just counts; one made inside the allow-threads
** pair takes the GIL again, and its release lets it go again. Values left
** on a host thread's own state are dropped at its outermost release.
**
** Returns LUAGIL_OK, or (and then '*L' is NULL, the GIL is not held, and
** luagil_release must not be called):
**   LUAGIL_ENOTREADY  no interpreter was installed yet (luagil_ensure);
**   LUAGIL_ECLOSED    the interpreter is shutting down or closed;
**   LUAGIL_EDEPTH     more than LUAGIL_MAXDEPTH nested calls;
**   LUAGIL_ENOMEM     no memory for the thread's state;
**   LUAGIL_EINVAL     'L' is NULL, or 'interp' is not an interpreter's
**                     main state (luagil_ensure_in).
** It never hangs or kills the calling thread for those, but a thread that
** already waits for the GIL when luagil_close finalizes it, or that takes
** the GIL back (LUAGIL_END_ALLOW_THREADS) after that, parks for ever, like
** a daemon thread: close the interpreter after the host's threads are
** done with it.
**
** Signals: the thread should not block the signal luagil uses to ask the
** GIL holder to let go (luagil_Options.signo, SIGURG by default); if it
** does, Lua code it runs is not preempted, it only lets the GIL go at its
** release or in blocking calls.
*/
#define LUAGIL_OK          0
#define LUAGIL_ENOTREADY   1
#define LUAGIL_ECLOSED     2
#define LUAGIL_EDEPTH      3
#define LUAGIL_ENOMEM      4
#define LUAGIL_EINVAL      5

#define LUAGIL_MAXDEPTH    64

LUAGIL_API int luagil_ensure (lua_State **L);
LUAGIL_API int luagil_ensure_in (lua_State *interp, lua_State **L);
/* Ends the calling thread's innermost luagil_ensure or luagil_ensure_in.
** Returns LUAGIL_OK, or LUAGIL_EINVAL (and does nothing) if the calling
** thread has no luagil_ensure to match. */
LUAGIL_API int luagil_release (void);


/*
** GIL event hooks (Ruby 3.2's rb_internal_thread_add_event_hook), one per
** interpreter. The hook is called for every event of every thread of its
** interpreter, on the thread the event is
** about, with the GIL held or not as the event says. Two come from another
** thread: REQUEST when the switch interval ran out (from the GIL's timer
** thread), and READY of a thread that a lock, Event, Condition, queue or
** join woke (from the thread that woke it, which queued it for the GIL):
**
**   LUAGIL_EVENT_STARTED    a thread began (GIL not held)
**   LUAGIL_EVENT_READY      it wants the GIL and must wait (not held)
**   LUAGIL_EVENT_RESUMED    it got the GIL (held)
**   LUAGIL_EVENT_SUSPENDED  it let the GIL go (not held any more)
**   LUAGIL_EVENT_EXITED     it ended (not held)
**   LUAGIL_EVENT_REQUEST    it asked the holder to let go (not held)
**
** Every RESUMED of a thread is followed by one SUSPENDED of that thread
** before its next RESUMED, except that a hook set by a thread that holds
** the GIL sees that thread's SUSPENDED first. The hook must be quick, must
** not call the Lua API or any luagil function, and must not block: it runs
** in the middle of a GIL handoff. 'name' is valid during the call only.
*/
#define LUAGIL_EVENT_STARTED    0
#define LUAGIL_EVENT_READY      1
#define LUAGIL_EVENT_RESUMED    2
#define LUAGIL_EVENT_SUSPENDED  3
#define LUAGIL_EVENT_EXITED     4
#define LUAGIL_EVENT_REQUEST    5

/* Why a thread let the GIL go (luagil_Event.reason of SUSPENDED). */
#define LUAGIL_DROP_PLAIN     0  /* end of a thread, a luagil_release */
#define LUAGIL_DROP_FORCED    1  /* asked to (switch interval, policy) */
#define LUAGIL_DROP_BLOCKING  2  /* around a blocking call */

typedef struct luagil_Event {
  int event;              /* LUAGIL_EVENT_* */
  int reason;             /* LUAGIL_DROP_* for SUSPENDED, else 0 */
  unsigned long ident;    /* the thread: its threading.get_ident() */
  const char *name;       /* and its name ("MainThread", "Dummy-1", ...) */
  long long t_ns;         /* CLOCK_MONOTONIC, nanoseconds */
} luagil_Event;

typedef void (*luagil_EventHook) (const luagil_Event *ev, void *ud);

/*
** Set the hook ('fn' NULL: none) of the current interpreter
** (luagil_set_event_hook) or of the one installed on 'interp'
** (luagil_set_event_hook_in: explicit, as luagil_ensure_in). Any thread,
** GIL held or not. A call of the previous hook that is under way when
** this returns may still finish. Returns 1, or 0 if there is no such
** interpreter or no more hooks can listen (a GIL trace that is on counts
** too).
*/
LUAGIL_API int luagil_set_event_hook (luagil_EventHook fn, void *ud);
LUAGIL_API int luagil_set_event_hook_in (lua_State *interp,
                                         luagil_EventHook fn, void *ud);

#endif
