/*
** stdlib/multiprocessing/mp.h -- what the C files of 'multiprocessing'
** share: the serializer (mp_pickle.c), waits on descriptors (mp_io.c),
** process-shared locks (mp_shared.c) and the queues' feeders (mp_queue.c).
** See LICENSE for copyright and licence (MIT).
**
** Calls go one way: _multiprocessing.c (the module's opener, Connection,
** Process handles) calls every other file; mp_queue.c calls mp_io.c,
** mp_pickle.c and mp_shared.c; those three call none of the others.
*/

#ifndef lg_mp_h
#define lg_mp_h

#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <lua.h>

#include "base.h"

/* The C table of the '_multiprocessing' module gets each part's functions
** (the table is on top of the stack). */
LG_FUNC void lg_mp_open_pickle (lua_State *L);
LG_FUNC void lg_mp_open_shared (lua_State *L);
LG_FUNC void lg_mp_open_queue (lua_State *L);


/*
** Serialization. A message is a malloc'd block that the caller owns once
** lg_mp_dump returns. 'funcs' allows functions (the Pool's tasks): Lua
** functions travel as string.dump plus their upvalues by value, C
** functions as their address (valid in a fork of this process), the
** globals table and tables of package.loaded by reference. Otherwise
** functions, userdata and threads raise errors. Within one value a table
** reached twice comes back as one table, a cycle as a cycle; metatables
** are not sent. lg_mp_load pushes the value; it raises on a corrupt
** message, and on one that carries a function unless lg_mp_loadx is told
** LG_MP_FUNCS (a C function comes by address: never decode one from bytes
** another program could write).
*/
typedef struct lg_MpMsg {
  char *data;
  size_t len;
} lg_MpMsg;

LG_FUNC lg_MpMsg lg_mp_dump (lua_State *L, int idx, int funcs);

/*
** lg_mp_dumpx names the value in its errors: "bad value at args[2].x:
** userdata cannot be sent to another process", from the caller's 'root'
** ("args", "item", ...), a step per table key (.name, [3], ["a b"], [?]
** for other keys, <key> for a bad key itself) and per upvalue (<upvalue 2
** 'name'>), and 'what'. lg_mp_dump is lg_mp_dumpx with the root "value"
** and LG_MP_TOPROCESS.
*/
#define LG_MP_TOPROCESS      "cannot be sent to another process"
#define LG_MP_TOINTERPRETER  "cannot be copied to another interpreter"

LG_FUNC lg_MpMsg lg_mp_dumpx (lua_State *L, int idx, int flags,
                              const char *root, const char *what);

/* 'funcs' and 'flags' of dumps and loads: functions (the Pool's tasks),
** and shareable C objects (copies within this process: never a message
** that crosses a fork or comes from bytes another program could write). */
#define LG_MP_FUNCS  1
#define LG_MP_SHARE  2

/*
** Shareable C objects. A userdata type whose object lives outside any one
** lua_State (malloc'd with a reference count, or in shared memory) may be
** copied by pointer between the interpreters of this process. It
** registers, by its metatable's name ('tname', the __name luaL_newmetatable
** sets), from any thread and as often as it likes (again: the same index;
** at most 32 types; -1 when full); 't' stays valid for good:
**
**   share (L, idx) -> p   while encoding with LG_MP_SHARE, for the userdata
**       at 'idx': returns the object, having taken a reference on it that
**       the message now holds; or NULL (nothing taken) to refuse it. It
**       may raise only before it takes the reference.
**   unshare (L, p)        while decoding with LG_MP_SHARE, maybe in another
**       lua_State of this process: pushes a new userdata of the type on
**       'p', taking over the message's reference. It may raise (a memory
**       error) only before it has taken it: make the userdata and its
**       metatable first, store 'p' last.
**   drop (p)              releases a reference a message holds; without a
**       lua_State (the message may be freed anywhere).
**
** A message holds one reference per object (an object reached twice is
** sent once, and comes back as one userdata). Its references go with it:
** lg_mp_loadx with LG_MP_SHARE takes them all over, whether it returns or
** raises (those it had not decoded are dropped); a message freed without
** being decoded must go through lg_mp_drop first. An encoder that raises
** drops the references it took. Other userdata are refused as before.
*/
typedef struct lg_MpShareType {
  const char *tname;
  void *(*share) (lua_State *L, int idx);
  void (*unshare) (lua_State *L, void *p);
  void (*drop) (void *p);
} lg_MpShareType;

LG_FUNC int lg_mp_share_type (const lg_MpShareType *t);
LG_FUNC void lg_mp_drop (const char *data, size_t len);
LG_FUNC void lg_mp_load (lua_State *L, const char *data, size_t len);
LG_FUNC void lg_mp_loadx (lua_State *L, const char *data, size_t len,
                          int flags);


/*
** Waiting for a descriptor, GIL released: poll 'fd' for 'events' until
** 'deadline' (NULL: none); the main thread also watches Ctrl-C, and a
** cancellation of the thread ends it too (vm/park.h). Returns
** LG_WOKEN when ready, LG_TIMEDOUT or LG_INTERRUPTED. Called with the GIL.
** lg_mp_waitfds waits for any of 'n' descriptors (their revents set);
** 'fds' has room for n + 1 entries.
*/
LG_FUNC int lg_mp_waitfd (int fd, short events,
                          const struct timespec *deadline);
LG_FUNC int lg_mp_waitfds (struct pollfd *fds, int n,
                           const struct timespec *deadline);

/* Write or read all 'len' bytes of a stream socket, GIL released; only the
** wait for the first byte can be interrupted (then LG_INTERRUPTED, nothing
** sent or read). Return 0, LG_INTERRUPTED, or -1 with errno (0: EOF). */
LG_FUNC int lg_mp_sendall (int fd, const char *buf, size_t len);
LG_FUNC int lg_mp_recvall (int fd, char *buf, size_t len, int interruptible,
                           const struct timespec *deadline);

/*
** A process-shared robust mutex (in shared memory). lock returns
** LG_WOKEN when held, LG_TIMEDOUT or LG_INTERRUPTED; a lock whose owner
** died is made consistent and taken. Called with the GIL; released while
** waiting.
*/
LG_FUNC void lg_mp_mutex_init (pthread_mutex_t *m, int recursive);
LG_FUNC int lg_mp_mutex_lock (pthread_mutex_t *m,
                              const struct timespec *deadline);

/* Wait for every queue feeder of this process to empty its buffer (at
** exit: Python's Queue.join_thread for each queue), with the GIL
** released; if 'intr', a Ctrl-C ends the wait. True if they drained. */
LG_FUNC int lg_mp_flush_feeders (int intr);

#endif
