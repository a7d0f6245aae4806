/*
** stdlib/socket/socket.h -- what the C files of the 'socket' module share:
** the objects and their Sock (socket.c), addresses (inet.c), the tcp
** object's methods (tcp.c) and socket.select (select.c). Internal: every
** function is hidden (LG_FUNC).
** See LICENSE for copyright and licence (MIT).
**
** Calls go one way: socket.c (the module table, its opener) calls each
** part's opener; tcp.c calls inet.c and socket.c; inet.c and select.c
** call socket.c; socket.c calls no part otherwise.
*/

#ifndef lg_socket_h
#define lg_socket_h

#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#include <lua.h>

#include "base.h"


#define SOCKET_T   "socket.tcp"
#define BUFSIZE    8192
#define BACKLOG    32

/* Classes, as LuaSocket names them in tostring and errors. */
enum { MASTER = 1, CLIENT = 2, SERVER = 4 };

/* Results of the C side of a call. */
enum { IO_DONE = 0, IO_TIMEOUT = -1, IO_CLOSED = -2, IO_INTR = -3 };

/* Options that a master without a descriptor remembers: bit 1 << k is
** the option named lg_sock_optnames[k], which is lg_sock_opts[k]. */
enum { OPT_NODELAY = 1, OPT_REUSEADDR = 2, OPT_KEEPALIVE = 4,
       OPT_REUSEPORT = 8 };

typedef struct lg_SockOpt { int level, name; } lg_SockOpt;

LG_FUNC const char *const lg_sock_optnames[];
LG_FUNC const lg_SockOpt lg_sock_opts[];

typedef struct Sock {
  struct Sock *prev, *next;  /* the live list (live_mu) */
  pthread_mutex_t mu;      /* guards fd, busy, closing, orphan */
  pthread_mutex_t rlock;   /* one receiver at a time; guards the buffer */
  pthread_mutex_t wlock;   /* one sender at a time */
  int fd;
  int busy;                /* calls using fd */
  int closing;             /* closed: the last call out closes fd */
  int orphan;              /* its object is gone: the last call frees it */
  int pending;             /* fd is a connect's or bind's, not yet done */
  size_t first, last;      /* rlock: unread data is buf[first..last) */
  char buf[BUFSIZE];
} Sock;

typedef struct TCP {       /* the userdata; GIL only */
  Sock *s;                 /* NULL once finalised (__gc) */
  int cls;
  int closed;
  double block, total;     /* timeouts in seconds; < 0: none */
  int opts, optvals;       /* a master's remembered options */
} TCP;

typedef struct Addr {      /* a bind or connect, done without the GIL */
  char *host, *port;
  int passive;
  Sock *s;                 /* held; a new descriptor is installed in it */
  int fd;                  /* in: existing descriptor or -1; out: result */
  int opts, optvals;
  int backlog;             /* bind: listen too if >= 0 */
  struct timespec dl, *deadline;  /* connect: 'deadline' is NULL or &dl */
  int intr;
  int err;                 /* errno or IO_*; gai errors in 'gai' */
  int gai;
} Addr;


/*
** Errors and waiting (socket.c). errstr: the message of IO_* or an errno
** (NULL for IO_DONE). deadline: the deadline of a call of 't' starting
** now, in '*ts' (NULL: none). waitfd: wait without the GIL until 'fd' has
** 'events', 'deadline' passes or (if 'intr') Ctrl-C comes: IO_DONE,
** IO_TIMEOUT or IO_INTR. again: after a recv or send that failed with
** errno, IO_DONE to try again, else the call's result.
*/
LG_FUNC const char *lg_sock_errstr (int err);
LG_FUNC struct timespec *lg_sock_deadline (TCP *t, struct timespec *ts);
LG_FUNC int lg_sock_waitfd (int fd, short events,
                            const struct timespec *deadline, int intr);
LG_FUNC int lg_sock_again (int fd, short events, int wait,
                           const struct timespec *deadline, int intr);
LG_FUNC int lg_sock_pusherr (lua_State *L, int err);

/*
** Objects (socket.c). check: the socket at 1, of one of 'classes', not
** finalised. new: a new object of class 'cls' over 'fd' (-1: none yet).
** A call on a Sock brackets its use of the descriptor with enter (or
** hold, for a master's connect or bind) and leave; see socket.c.
*/
LG_FUNC const char *lg_sock_clsname (int cls);
LG_FUNC TCP *lg_sock_check (lua_State *L, int classes, const char *expected);
LG_FUNC TCP *lg_sock_new (lua_State *L, int cls, int fd);
LG_FUNC int lg_sock_curfd (Sock *s);
LG_FUNC int lg_sock_hold (Sock *s);
LG_FUNC int lg_sock_enter (Sock *s);
LG_FUNC void lg_sock_leave (Sock *s);
LG_FUNC int lg_sock_close (Sock *s);
LG_FUNC void lg_sock_free (Sock *s);
LG_FUNC int lg_sock_isclosing (Sock *s);
LG_FUNC int lg_sock_isdirty (TCP *t);
LG_FUNC void lg_sock_applyopts (int fd, int opts, int vals);
LG_FUNC int lg_sock_install (Sock *s, int fd);
LG_FUNC void lg_sock_settle (Sock *s, int ok);

#define ANYTCP  (MASTER | CLIENT | SERVER)
#define anytcp(L)  lg_sock_check(L, ANYTCP, "tcp")

/*
** Addresses (inet.c). doaddr resolves and connects or binds 'a' without
** the GIL. checkhostport checks the host at 'arg' and the port after it;
** addrargs fills 'a' from them (at 2 and 3); pushaddr pushes address,
** port and family of 'sa'.
*/
LG_FUNC void lg_inet_doaddr (Addr *a);
LG_FUNC const char *lg_inet_checkhostport (lua_State *L, int arg);
LG_FUNC void lg_inet_addrargs (lua_State *L, Addr *a, int passive);
LG_FUNC int lg_inet_pushaddr (lua_State *L, struct sockaddr_storage *sa,
                              socklen_t len);

/* The parts' openers add their functions to the module table on top of
** the stack; tcp.c also makes the tcp object's metatable. */
LG_FUNC void lg_sock_open_tcp (lua_State *L);
LG_FUNC void lg_sock_open_select (lua_State *L);

#endif
