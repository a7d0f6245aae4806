/*
** stdlib/socket/socket.h -- what the C files of the 'socket.core' module
** share: the objects and their Sock (socket.c), timeouts and waits
** (socket.c), addresses (inet.c), options (options.c), and each part's
** opener. Internal: every function is hidden (LG_FUNC).
** See LICENSE for copyright and licence (MIT).
**
** Calls go one way: socket.c (the module table, its opener) calls each
** part's opener; tcp.c and udp.c call inet.c, options.c and socket.c;
** inet.c, dns.c, options.c and select.c call socket.c; socket.c calls no
** part otherwise.
*/

#ifndef lg_socket_h
#define lg_socket_h

#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#include <lua.h>
#include <lauxlib.h>

#include "base.h"


#define BUFSIZE       8192   /* a tcp object's receive buffer */
#define DATAGRAMSIZE  8192   /* a udp receive's default size */
#define BACKLOG       32     /* listen's default */
#define SETSIZE       65536  /* the most sockets a select set takes */

/*
** Classes, as LuaSocket names them: each is a metatable of that name, and
** a method accepts a set of them (LuaSocket's "tcp{any}" and so on).
*/
enum { TCP_MASTER = 1, TCP_CLIENT = 2, TCP_SERVER = 4,
       UDP_UNCONNECTED = 8, UDP_CONNECTED = 16 };
#define TCP_ANY  (TCP_MASTER | TCP_CLIENT | TCP_SERVER)
#define UDP_ANY  (UDP_UNCONNECTED | UDP_CONNECTED)

/* Results of the C side of a call, beside errno values (all > 0). */
enum { IO_DONE = 0, IO_TIMEOUT = -1, IO_CLOSED = -2, IO_INTR = -3 };

/*
** The part of an object that a call touches without the GIL: C memory,
** malloc'd, freed by the object's __gc or by the last call out.
*/
typedef struct Sock {
  struct Sock *prev, *next;  /* the live list (live_mu) */
  pthread_mutex_t mu;      /* guards fd, dead, busy, closing, orphan,
                              pending */
  pthread_mutex_t rlock;   /* one receiver at a time; guards the buffer */
  pthread_mutex_t wlock;   /* one sender at a time */
  int fd;                  /* -1: none */
  int dead;                /* closed under busy calls: the last closes it */
  int busy;                /* calls using a descriptor */
  int closing;             /* closed by close() (until a setfd) */
  int orphan;              /* its object is gone: the last call frees it */
  int pending;             /* fd is a connect's or bind's, not yet done */
  size_t cap;              /* size of buf (0 for udp) */
  size_t first, last;      /* rlock: unread data is buf[first..last) */
  char buf[];
} Sock;

/* The userdata, for tcp and udp alike; touched only with the GIL. */
typedef struct Obj {
  Sock *s;                 /* NULL once finalised (__gc) */
  int cls;                 /* a class above */
  int closed;              /* close() was called (until a setfd) */
  int family;              /* AF_INET, AF_INET6, or AF_UNSPEC: a tcp()
                              or udp() without a descriptor yet */
  double block, total;     /* timeouts in seconds, as set; < 0: none */
  double birthday;         /* tcp: the time getstats counts the age from */
  double nrecv, nsent;     /* tcp: bytes received and sent (getstats) */
} Obj;

/*
** A call's timeouts, read from its object with the GIL at its start:
** each wait lasts at most 'block' (if >= 0), and all of them end by
** 'total' (NULL: no such end), as LuaSocket's block and total timeouts.
*/
typedef struct Tm {
  double block;
  struct timespec end, *total;
  int nowait;              /* a timeout is 0: never wait */
  int intr;                /* lg_poll's: what ends a wait (Ctrl-C in
                              the main thread, a cancel) */
} Tm;

/* A bind or connect, done without the GIL (inet.c). */
typedef struct Addr {
  char host[1025];         /* NI_MAXHOST */
  char port[32];
  int anyhost;             /* host was "*" */
  int passive;             /* bind, not connect */
  int family;              /* in: the object's; out: the descriptor's */
  int socktype;            /* SOCK_STREAM or SOCK_DGRAM */
  Sock *s;                 /* held; a new descriptor is installed in it */
  int fd;                  /* in: existing descriptor or -1; out: result */
  int backlog;             /* bind: listen too if >= 0 */
  Tm tm;                   /* connect */
  int err;                 /* errno or IO_*; a getaddrinfo error in gai */
  int gai;
} Addr;


/*
** Errors (socket.c). errstr: the message of IO_* or an errno, as
** LuaSocket words them (NULL for IO_DONE). pusherr pushes nil and that
** message and returns 2. pushone pushes LuaSocket's 1 (a float).
*/
LG_FUNC const char *lg_sock_errstr (int err);
LG_FUNC int lg_sock_pusherr (lua_State *L, int err);
LG_FUNC int lg_sock_pushone (lua_State *L);

/*
** Timeouts and waits (socket.c). tmstart: the timeouts of a call of 'o'
** starting now. wait: without the GIL, until 'fd' has 'events' or a
** timeout ends the wait (or Ctrl-C comes): IO_DONE, IO_TIMEOUT, IO_INTR.
** ioerr: the result of a recv or send that failed with errno 'err' (not
** EAGAIN or EINTR).
*/
LG_FUNC void lg_sock_tmstart (Tm *tm, const Obj *o);
LG_FUNC int lg_sock_wait (int fd, short events, const Tm *tm);
LG_FUNC int lg_sock_ioerr (int err);

/*
** Objects (socket.c). new: a new object of class 'cls' and 'family'
** over 'fd' (-1: none), with a receive buffer of 'cap' bytes; fd is
** closed if that fails. check: the object at 'arg', of one of 'classes'
** ('expected' names them in the error), not finalised; test: the same,
** or NULL. setclass changes the class of the object at 'arg'. newclass
** makes the metatable of class 'cls', of 'group' (TCP_ANY or UDP_ANY),
** whose __index is a copy of the methods table on top of the stack plus
** the 'class' field.
*/
LG_FUNC Obj *lg_sock_new (lua_State *L, int cls, int family, int fd,
                          size_t cap);
LG_FUNC Obj *lg_sock_check (lua_State *L, int arg, int classes,
                            const char *expected);
LG_FUNC Obj *lg_sock_test (lua_State *L, int arg, int classes);
LG_FUNC void lg_sock_setclass (lua_State *L, int arg, int cls);
LG_FUNC const char *lg_sock_clsname (int cls);
LG_FUNC void lg_sock_newclass (lua_State *L, int cls, int group);

/*
** A call on a Sock brackets its use of the descriptor with enter (or
** hold, for a connect or bind that may make its descriptor) and leave;
** see socket.c. curfd: the descriptor now, for a call that does not let
** the GIL go.
*/
LG_FUNC int lg_sock_curfd (Sock *s);
LG_FUNC int lg_sock_hold (Sock *s);
LG_FUNC int lg_sock_enter (Sock *s);
LG_FUNC void lg_sock_leave (Sock *s);
LG_FUNC int lg_sock_close (Sock *s);
LG_FUNC void lg_sock_free (Sock *s);
LG_FUNC int lg_sock_setfd (Sock *s, int fd);
LG_FUNC int lg_sock_isclosing (Sock *s);
LG_FUNC int lg_sock_isdirty (Obj *o);
LG_FUNC int lg_sock_install (Sock *s, int fd);
LG_FUNC void lg_sock_settle (Sock *s, int fd, int keep);

/*
** Methods both kinds share (socket.c): adds close, getfd, setfd, dirty,
** getfamily, settimeout, gettimeout and guard, for objects of 'classes',
** to the methods table on top (newclass adds __gc, __close, __tostring).
*/
LG_FUNC void lg_sock_common (lua_State *L, int classes);

/*
** Addresses (inet.c). doaddr resolves and connects or binds 'a' without
** the GIL; resolve only resolves (for sendto), making the descriptor if
** there is none; runaddr does it for object 'o' and pushes its results.
** addrargs fills 'a' from the address at 'arg' and the port after it (a
** port is optional if 'portopt' is not NULL: that string is used);
** raises on a bad argument. pushname pushes what getsockname (port a
** string) or getpeername (port an integer) returns for the descriptor
** of 'o'.
** family names AF_INET and AF_INET6 as the results do ("inet").
** gaierr: LuaSocket's words for a getaddrinfo error.
*/
LG_FUNC void lg_inet_doaddr (Addr *a);
LG_FUNC void lg_inet_resolve (Addr *a, struct sockaddr_storage *sa,
                              socklen_t *salen);
LG_FUNC void lg_inet_addrargs (lua_State *L, Addr *a, int arg,
                               const char *portopt);
LG_FUNC int lg_inet_runaddr (lua_State *L, Obj *o, Addr *a);
LG_FUNC int lg_inet_pushname (lua_State *L, Obj *o, int peer);
LG_FUNC int lg_inet_pushaddr (lua_State *L,
                              const struct sockaddr_storage *sa,
                              socklen_t len, int portstring);
LG_FUNC const char *lg_inet_family (int family);
LG_FUNC const char *lg_inet_gaierr (int gai);
LG_FUNC int lg_inet_checkfamily (lua_State *L, int arg);

/* Options (options.c): adds obj:setoption and obj:getoption of tcp (udp
** false) or udp objects, of 'classes', to the methods table on top. */
LG_FUNC void lg_sock_options (lua_State *L, int udp, int classes);

/* The parts' openers add their functions to the module table on top of
** the stack; tcp.c and udp.c also make their classes. */
LG_FUNC void lg_sock_open_tcp (lua_State *L);
LG_FUNC void lg_sock_open_udp (lua_State *L);
LG_FUNC void lg_sock_open_select (lua_State *L);
LG_FUNC void lg_sock_open_dns (lua_State *L);
LG_FUNC void lg_sock_open_except (lua_State *L);

#endif
