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
** are not sent. lg_mp_load pushes
** the value; it raises on a corrupt message, and on one that carries a
** function unless lg_mp_loadx is told 'funcs' (a C function comes by
** address: never decode one from bytes another program could write).
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

LG_FUNC lg_MpMsg lg_mp_dumpx (lua_State *L, int idx, int funcs,
                              const char *root, const char *what);
LG_FUNC void lg_mp_load (lua_State *L, const char *data, size_t len);
LG_FUNC void lg_mp_loadx (lua_State *L, const char *data, size_t len,
                          int funcs);


/*
** Waiting for a descriptor, GIL released: poll 'fd' for 'events' until
** 'deadline' (NULL: none); the main thread also watches Ctrl-C. Returns
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
** exit: Python's Queue.join_thread for each queue). GIL released. */
LG_FUNC void lg_mp_flush_feeders (void);

#endif
