/*
** stdlib/lglib.h -- luagil's Lua modules written in C.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lglib_h
#define lglib_h

#include <stddef.h>

#include <lua.h>
#include <lauxlib.h>

#include "base.h"
#include "istate.h"
#include "tstate.h"

/* Modules, registered in package.preload. */
LG_FUNC int luaopen_threading (lua_State *L);
LG_FUNC int luaopen__thread (lua_State *L);
LG_FUNC int luaopen_time (lua_State *L);
LG_FUNC int luaopen_socket (lua_State *L);
LG_FUNC int luaopen_socket_core (lua_State *L);
LG_FUNC int luaopen_socket_layer (lua_State *L);  /* embedded Lua */
LG_FUNC int luaopen_dis (lua_State *L);
LG_FUNC int luaopen_queue (lua_State *L);
LG_FUNC int luaopen_concurrent_futures (lua_State *L);
LG_FUNC int luaopen_logging (lua_State *L);
LG_FUNC int luaopen_gil (lua_State *L);
LG_FUNC int luaopen_multiprocessing (lua_State *L);
LG_FUNC int luaopen__multiprocessing (lua_State *L);
LG_FUNC int luaopen_interpreters (lua_State *L);

/* interpreters.create_queue (stdlib/interpqueue.c), added to the table
** on top of the stack: the '_interpreters' module. */
LG_FUNC void lg_open_interpqueue (lua_State *L);

/* GIL-aware replacements, installed in place into Lua's own tables. */
LG_FUNC void lg_open_coroutine (lua_State *L);
LG_FUNC void lg_open_debug (lua_State *L);
LG_FUNC void lg_open_os (lua_State *L);
/* How os.exit(code, true) closes the state on the main thread: 'fn' (the
** program's luagil_close: interp/ installs it), or lua_close if none. */
LG_FUNC void lg_os_setcloser (int (*fn) (lua_State *L));
LG_FUNC void lg_open_io (lua_State *L);
LG_FUNC void lg_open_print (lua_State *L);
LG_FUNC void lg_open_require (lua_State *L);

/*
** fork() for Lua (GIL held): lg_fork, then in the child threading's
** _after_fork. Returns like fork(); raises if another interpreter than
** the caller's is open (interpreters).
*/
LG_FUNC int lg_thread_fork (lua_State *L);

/* Interpreter 'I''s threads still running (threading.Thread or
** _thread). */
LG_FUNC int lg_thread_alive (lg_IState *I);

/*
** One thread of an interpreter, as the dumps see it (stdlib/diag.c): a
** task that _thread started ('task'), or an OS thread that is no worker
** ('ts': the main thread, a host thread). lg_thread_foreach calls 'fn'
** on each task of 'I' that has not ended, under a mutex: 'fn' must not
** raise nor call into Lua.
*/
typedef struct lg_ThreadRef {
  struct lg_Waiter *w;
  struct lg_Task *task;
  lg_TState *ts;
  const char *name;
  unsigned long ident;
  long native_id;
  int daemon, begun, done;
} lg_ThreadRef;

LG_FUNC void lg_thread_foreach (lg_IState *I,
                                void (*fn) (const lg_ThreadRef *r,
                                            void *ud),
                                void *ud);

/* For the dumps: push the locks that 'w' holds (stdlib/lock.c). */
LG_FUNC void lg_lock_pushheld (lua_State *L, const struct lg_Waiter *w);

/* Is 'co' the base state of a running thread (so not a coroutine)? */
LG_FUNC int lg_thread_isbase (lua_State *L, lua_State *co);

/*
** Is the value at 'idx' the error _thread.exit() raises? For the program
** that runs the main chunk: Python ends quietly, with status 0, when the
** main thread calls _thread.exit() (raises SystemExit). False if _thread
** was never opened.
*/
LG_FUNC int lg_thread_isexit (lua_State *L, int idx);

/*
** The opener of a module written in Lua and compiled into the binary
** (cmake/embed.cmake): runs 'source' and returns its result.
*/
LG_FUNC int lg_openchunk (lua_State *L, const char *source, size_t size,
                          const char *chunkname);

/*
** An optional timeout argument at 'arg', read as Python reads it: returns
** -1 (wait for ever) for none or nil, else seconds in [0, TIMEOUT_MAX].
** NaN and timeouts over TIMEOUT_MAX raise ("timeout value is too large",
** as Python's OverflowError). 'negative' says what a negative one means
** where each Python function differs: LG_TIMEOUT_POLL, 0, do not wait
** (Event.wait, Condition.wait, Semaphore.acquire, Thread.join);
** LG_TIMEOUT_LOCK, -1 is for ever and any other raises (Lock.acquire);
** LG_TIMEOUT_QUEUE, it raises (Queue.get and put).
*/
#define LG_TIMEOUT_POLL   0
#define LG_TIMEOUT_LOCK   1
#define LG_TIMEOUT_QUEUE  2
LG_FUNC double lg_timeout (lua_State *L, int arg, int negative);

/*
** Failure notes for 'luagil --explore' (interp/explore.c): a run's child
** writes one line per note, "KIND\tTHREAD\tMESSAGE\n" (the message's
** first line; tabs become spaces), to the descriptor set here; none is
** written while it is -1, the default. One write(2) each, no GIL needed.
*/
LG_FUNC void lg_note_setfd (int fd);
LG_FUNC int lg_note_fd (void);
LG_FUNC void lg_note (const char *kind, const char *thread, const char *msg);

/* lg_timeout(L, arg, LG_TIMEOUT_POLL): a negative timeout polls. */
LG_FUNC double lg_opttimeout (lua_State *L, int arg);

/*
** The metatable 'tname' of a userdata type, with the metamethods 'meta'.
** Its __index is the table of 'methods' or, if 'index' is not NULL, the C
** function 'index' with that table as its upvalue, for a type that also
** has fields.
*/
LG_FUNC void lg_createmeta (lua_State *L, const char *tname,
                            const luaL_Reg *methods, const luaL_Reg *meta,
                            lua_CFunction index);

/*
** The start of such an 'index' function: pushes the method named by the
** key at 2, or nil. Returns NULL if it found one or the key is no string,
** else the key, for the caller to push the field over the nil.
*/
LG_FUNC const char *lg_fieldname (lua_State *L);

/*
** The (block, timeout) arguments of queue-like waits at 'arg' and 'arg'+1:
** -1 to wait for ever, 0 not to wait, else the timeout (LG_TIMEOUT_QUEUE).
** As in Python, the timeout is ignored when block is false.
*/
LG_FUNC double lg_waitargs (lua_State *L, int arg);

/*
** A type error for argument 'arg' of a method or metamethod of the type
** 'tname' (a value of another type, or none): as luaL_typeerror, but when
** Lua cannot name the function (it was called through pcall, say), the
** name is looked up in the type's metatable and method table, so the
** message reads "bad argument #1 to 'acquire' (threading.Lock expected,
** got nil)".
*/
LG_FUNC int lg_typeerror (lua_State *L, int arg, const char *tname);

/*
** Was the running C function called by the collector as a finaliser, not
** by hand? Lua lets other finalisers (and weak keys, until the next cycle)
** still reach an object it finalised, so such a __gc must leave it usable.
*/
LG_FUNC int lg_finalising (lua_State *L);

/*
** Sleep 'seconds' (> 0; over TIMEOUT_MAX: for ever) with the GIL released.
** Ctrl-C (main thread) raises. Returns at once in a thread that is not
** registered. A thread at its top level yields to sleep (vm/task.h), so a
** C function calls this as 'return lg_sleep(L, s)'; it returns no values.
*/
LG_FUNC int lg_sleep (lua_State *L, double seconds);

/*
** Synchronisation objects (stdlib/lock.c: Lock, RLock, Condition;
** stdlib/semaphore.c: Semaphore, BoundedSemaphore, Event). Each opener
** adds its constructors to the table on top of the stack (the '_thread'
** module).
*/
LG_FUNC void lg_open_lock (lua_State *L);
LG_FUNC void lg_open_semaphore (lua_State *L);

/* RLocks for C code (require's per-module locks); see stdlib/lock.c. */
LG_FUNC void *lg_rlock_new (lua_State *L);
LG_FUNC void lg_rlock_take (lua_State *L, void *lock);
LG_FUNC void lg_rlock_give (void *lock);

/*
** Lock-order checking (stdlib/lockorder.c). A lock embeds an lg_Dep
** (zeroed at creation). With lg_lockorder_on set, each acquisition that
** takes the lock (not an RLock's re-entry) calls lg_lockorder_taken once
** the lock is the caller's (GIL held; it never raises); each release
** that frees it calls lg_lockorder_given if 'w' is set, and so does its
** __gc. A thread that ends calls lg_lockorder_forget on its waiter.
** lg_lockorder_exclude marks a lock that is never checked.
** lg_open_lockorder adds setchecklocks and lockorder_violations to the
** table on top (the '_thread' module).
*/
struct lg_Site;
typedef struct lg_DepClass lg_DepClass;
typedef struct lg_Dep {
  lg_DepClass *cls;            /* GIL: its class, NULL until first seen */
  struct lg_Waiter *w;         /* GIL: whose stack it is on, or NULL */
} lg_Dep;

LG_FUNC atomic_int lg_lockorder_on;
LG_FUNC void lg_lockorder_taken (lua_State *L, lg_Dep *d,
                                 const struct lg_Site *site)
  __attribute__((cold));
LG_FUNC void lg_lockorder_given (lg_Dep *d) __attribute__((cold));
LG_FUNC void lg_lockorder_forget (struct lg_Waiter *w);
LG_FUNC void lg_lockorder_exclude (lg_Dep *d);
LG_FUNC void lg_open_lockorder (lua_State *L);

/* The caller's lock 'd' has just been taken, or is being given back:
** one branch each when checking is off (the calls are cold: no frame is
** set up for them on the fast paths). */
#define lg_lockorder_took(L, d, site) \
  do { \
    if (__builtin_expect(atomic_load_explicit(&lg_lockorder_on, \
                                              memory_order_relaxed), 0)) \
      lg_lockorder_taken(L, d, site); \
  } while (0)

#define lg_lockorder_gave(d) \
  do { \
    if (__builtin_expect((d)->w != NULL, 0)) \
      lg_lockorder_given(d); \
  } while (0)

/* x:guard() and x:with(fn, ...) for any object with acquire and release
** (stdlib/lock.c, beside the fast paths they take for our own locks); a
** userdata using them keeps uservalue 1 free for the cached guard.
** lg_open_guard makes the guard's metatable. */
LG_FUNC int lg_sync_guard (lua_State *L);
LG_FUNC int lg_sync_with (lua_State *L);
LG_FUNC void lg_open_guard (lua_State *L);

/*
** For the methods of those types (stdlib/sync.c). checkself returns the
** object at index 1 if it is a userdata of 'size' bytes whose first field
** is 'tag' (a static address per type), else raises a type error naming
** 'tname', or "attempt to use a destroyed Lock" for an object that its
** __gc destroyed (its first field is then LG_SYNC_DEAD(tag); each tag is
** two bytes, so that address is no other type's tag). checkany accepts a
** destroyed object too, for __gc and __tostring; destroyed raises that
** error for an object of type 'tname'. acquireargs reads
** (blocking, timeout) at 2 and 3 as Lock.acquire does (LG_TIMEOUT_LOCK):
** returns -1 (for ever), 0 (don't wait) or the timeout; 'nbmsg' is the
** error for a timeout without blocking.
*/
#define LG_SYNC_DEAD(tag)  ((const void *)((const char *)(tag) + 1))
LG_FUNC void *lg_sync_checkself (lua_State *L, const void *tag, size_t size,
                                 const char *tname);
LG_FUNC void *lg_sync_checkany (lua_State *L, const void *tag, size_t size,
                                const char *tname);
LG_FUNC int lg_sync_destroyed (lua_State *L, const char *tname);
LG_FUNC double lg_sync_acquireargs (lua_State *L, const char *nbmsg);

/*
** Where a synchronisation object was made, for the dumps, the deadlock
** reports and lock-order checking (stdlib/sync.c): its kind as the user
** knows it ("Lock", "Barrier") and the first Lua line up the stack from
** its constructor. lg_site_set fills one (a few hundred nanoseconds, at
** creation only); lg_site_push pushes "Lock@x.lua:3".
*/
typedef struct lg_Site {
  const char *kind;
  int line;                    /* -1 if no Lua function made it */
  char src[44];                /* lua_Debug's short_src, shortened */
} lg_Site;

LG_FUNC void lg_site_set (lua_State *L, lg_Site *s, const char *kind);
LG_FUNC const char *lg_site_push (lua_State *L, const lg_Site *s);

/*
** The caller's wait record (vm/tstate.h's lg_Wait), filled just before it
** blocks and cleared once it runs again (stdlib/sync.c). 'what' names the
** wait ("Lock.acquire"), a static string; 'holder' is where the object
** keeps the thread that holds it (NULL if none), 'target' the thread a
** join waits for. Every such wait may count as blocked for the deadlock
** detector (vm/waitq.h; only a wait without a timeout does). With the
** cycle check on (threading.setcheckdeadlocks), lg_wait_begin raises
** threading.DeadlockError, the record cleared, instead of letting a wait
** close a cycle of holders: the caller must have nothing to undo then.
** lg_wait_nointr marks the wait one that cancellation does not end.
*/
LG_FUNC void lg_wait_begin (lua_State *L, const char *what, const void *obj,
                            const lg_Site *site,
                            struct lg_Waiter *const *holder,
                            struct lg_Waiter *target);
LG_FUNC void lg_wait_nointr (void);
LG_FUNC void lg_wait_end (void);

/*
** Diagnostics (stdlib/diag.c). lg_diag_cycle raises DeadlockError if the
** wait that 'w' (the caller's waiter) is about to begin would close a
** cycle of holders; lg_open_diag adds the functions of threading's
** diagnostics to the table on top (the '_thread' module).
*/
LG_FUNC void lg_diag_cycle (lua_State *L, struct lg_Waiter *w);
LG_FUNC void lg_open_diag (lua_State *L);

/*
** Cancellation (stdlib/cancel.c). lg_cancel asks the thread of waiter
** 'w' to stop, with the message at 'msg' (nil: the default); false if
** its function has ended. lg_cancel_raise raises threading.Cancelled in
** the caller, whose waiter 'w' has one pending (the raiser's part).
** lg_open_cancel adds shield, _run, _cancel_main, _end and Cancelled to
** the table on top (the '_thread' module).
*/
LG_FUNC int lg_cancel (lua_State *L, struct lg_Waiter *w, int msg);
LG_FUNC int lg_cancel_raise (lua_State *L, struct lg_Waiter *w);
LG_FUNC void lg_open_cancel (lua_State *L);

/*
** For the dumps that come from outside Lua (stdlib/watchdog.c; its
** lg_open_watchdog adds its functions to the table on top). pushdump
** pushes the dump of every thread of the caller's interpreter (GIL held;
** the caller's own traceback from 'level'). write_nogil writes, without
** the GIL, the thread list and states without tracebacks to 'fd', after
** a line saying why ('why'). write_fatal writes what it can from a fatal
** signal's handler, taking no lock it must wait for.
*/
LG_FUNC void lg_diag_pushdump (lua_State *L, int level);
LG_FUNC void lg_diag_write_nogil (lg_IState *I, int fd, const char *why);
LG_FUNC void lg_diag_write_fatal (int fd);
LG_FUNC void lg_open_watchdog (lua_State *L);

/*
** Also for them (stdlib/sync.c): callmethod calls obj:name() (no
** arguments, 'nres' results) for the object at 'obj'; islock tells
** whether the value at 'idx' has acquire and release (a table, or a
** userdata with an __index); checkcallable raises unless the value at
** 'arg' is a function or has a __call.
*/
LG_FUNC void lg_sync_callmethod (lua_State *L, int obj, const char *name,
                                 int nres);
LG_FUNC int lg_sync_islock (lua_State *L, int idx);
LG_FUNC void lg_sync_checkcallable (lua_State *L, int arg);

/*
** Error objects (stdlib/lgerror.c), for Python's exceptions that scripts
** catch. A kind is named "<module>.<Kind>" and made on first use; one with
** a 'parent' kind also matches as that parent in Kind:is(err).
*/
LG_FUNC void lg_error_pushkind (lua_State *L, const char *name,
                                const char *parent);
LG_FUNC void lg_error_push (lua_State *L, const char *kind, const char *msg);
LG_FUNC int lg_error_raise (lua_State *L, const char *kind, const char *msg);
LG_FUNC int lg_error_is (lua_State *L, int idx, const char *kind);
LG_FUNC int lg_error_kind (lua_State *L);  /* _thread._errorkind */

/*
** A growable byte buffer in C memory (stdlib/buf.c); nothing here raises
** or needs the GIL. 'b' holds 'n' bytes in 'size' allocated (NULL before
** the first). reserve makes room for 'more' bytes after them, and add
** appends 'l' bytes: each returns 1, or 0 when memory runs out or the
** size would overflow size_t, which sets 'oom' and leaves the contents as
** they were; once 'oom', both fail until a reset. reset empties it (the
** memory stays); free frees it and leaves it as init does. A buffer of
** all zero bytes (memset) is as init leaves it.
*/
typedef struct lg_Buf {
  char *b;
  size_t n, size;
  int oom;
} lg_Buf;

LG_FUNC void lg_buf_init (lg_Buf *B);
LG_FUNC int lg_buf_reserve (lg_Buf *B, size_t more);
LG_FUNC int lg_buf_add (lg_Buf *B, const void *s, size_t l);
LG_FUNC void lg_buf_reset (lg_Buf *B);
LG_FUNC void lg_buf_free (lg_Buf *B);

/*
** Lock 'mu' with the GIL held: if it is taken, release the GIL while
** waiting for it, so that its holder, which may want the GIL, can go on.
*/
LG_FUNC void lg_mutex_take (pthread_mutex_t *mu);

#endif
