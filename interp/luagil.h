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
** holds the GIL.
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
  int signo;                /* signal used to reach the GIL holder (SIGURG) */
  int catch_sigint;         /* 1: Ctrl-C interrupts the main thread */
  int print_stats;          /* 1: a table of GIL statistics on stderr at
                               luagil_close */
  const char *trace;        /* record GIL events into this .json or .html
                               file, written at luagil_close */
} luagil_Options;


/*
** Install luagil on 'L', a state the host made with luaL_newstate or
** lua_newstate. The calling thread becomes the main thread and holds the
** GIL. Only one interpreter per process: a second install fails.
** Returns LUA_OK, or an error status with a message on top of 'L'.
*/
LUAGIL_API int luagil_install (lua_State *L, const luagil_Options *opts);

/*
** luaL_newstate plus luagil_install; NULL if either fails (the reason is
** written to stderr).
*/
LUAGIL_API lua_State *luagil_newstate (const luagil_Options *opts);

/*
** Open Lua's standard libraries, replace 'coroutine', 'debug', 'os' and
** 'require' by their GIL-aware versions and register luagil's modules in
** package.preload ('threading', '_thread', 'time', ...).
*/
LUAGIL_API void luagil_openlibs (lua_State *L);

/*
** Join every non-daemon thread, as Python does when the main module ends.
** Called by the main thread. Returns LUA_OK, or an error status with the
** error on the stack (e.g. "interrupted!" after Ctrl-C).
*/
LUAGIL_API int luagil_shutdown (lua_State *L);

/*
** luagil_shutdown, then free everything: lua_close when no daemon thread is
** alive; otherwise 'L' is left allocated on purpose, because a daemon
** thread may still touch it. After this call 'L' must not be used. Returns
** 1 if 'L' was closed, 0 if it was left.
*/
LUAGIL_API int luagil_close (lua_State *L);

/* Number of daemon threads still alive. Any thread may call it. */
LUAGIL_API int luagil_daemons_alive (void);

/*
** Ctrl-C: when on, SIGINT interrupts the main thread with "interrupted!"
** at its next instruction boundary and wakes its blocking waits. When
** off, SIGINT has its default action. Main thread only.
*/
LUAGIL_API void luagil_catch_sigint (int on);

/*
** True (and cleared) if a Ctrl-C arrived since the last call: for hosts
** that wait outside Lua, such as a REPL reading a line. Any thread.
*/
LUAGIL_API int luagil_take_sigint (void);

/* A file descriptor that becomes readable when Ctrl-C arrives. */
LUAGIL_API int luagil_sigint_fd (void);

/* The switch interval in seconds; setting it needs 's' > 0. Any thread. */
LUAGIL_API double luagil_getswitchinterval (void);
LUAGIL_API int luagil_setswitchinterval (double s);

/* Preemption mode, "any" or "safe"; returns 0 for an unknown name. */
LUAGIL_API int luagil_setpreempt (const char *mode);


/*
** Releasing the GIL around blocking work. Between the two halves the thread
** must not touch any lua_State. Both halves preserve errno.
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

#endif
