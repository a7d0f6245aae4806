/*
** stdlib/socket/socket.c -- the 'socket' module: the TCP part of
** LuaSocket's API (plus socketpair), releasing the GIL whenever a call has
** to wait.
** See LICENSE for copyright and licence (MIT).
**
** Objects. A Lua object (userdata, touched only with the GIL) holds its
** class (master, client, server), its timeouts and a pointer to a Sock,
** which is C memory (malloc'd, freed by __gc) and is all that a call
** touches without the GIL: the descriptor and the receive buffer.
**
** Calls. Descriptors are non-blocking. A call first tries its system call
** with the GIL held (it cannot block), and only if it would block
** releases the GIL and waits in poll() against a monotonic deadline,
** then finishes without the GIL (receive and send copy into and out of C
** buffers). The main thread's waits also watch the Ctrl-C descriptor.
**
** Threads. One receiver and one sender at a time per socket (rlock,
** wlock: taken without the GIL when contended, held for a whole call), so
** one thread can receive while another sends. 'busy' counts the calls
** using the descriptor, select() among them; close() by another thread
** shuts the socket down (waking those calls, which then see "closed")
** and the last of them closes the descriptor, so a number in use is
** never reused under them (issue 19, case 13: a select that kept polling
** a closed socket's number reported it readable for a new socket's data).
** __gc called by hand while calls are busy is close() plus 'orphan': the
** last call out frees the Sock, and the object raises "attempt to use a
** destroyed socket" from then on. A fork() child may use and close the
** sockets that parent threads' calls were using (see Fork).
**
** select() and close. A socket closed while select waits on it is
** reported ready, in the readable set (and the writable one, if it is
** there too): the receive or send a LuaSocket user then makes returns
** nil, "closed". A socket already closed when select begins is skipped,
** as LuaSocket skips it.
**
** Files. This one has the module table, the objects' shared machinery
** (the Sock, its calls' bracketing, fork handling) and the waits; tcp.c
** has the tcp object's methods, inet.c addresses and name resolution,
** select.c socket.select; socket.h is what they share.
*/

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "clock.h"
#include "fork.h"
#include "lglib.h"
#include "park.h"
#include "socket.h"


const char *const lg_sock_optnames[] = {"tcp-nodelay", "reuseaddr",
                                        "keepalive", "reuseport", NULL};

const lg_SockOpt lg_sock_opts[] = {
  {IPPROTO_TCP, TCP_NODELAY}, {SOL_SOCKET, SO_REUSEADDR},
  {SOL_SOCKET, SO_KEEPALIVE}, {SOL_SOCKET, SO_REUSEPORT}};


/* {====================================================================
** Errors and waiting
** =====================================================================*/

const char *lg_sock_errstr (int err) {
  switch (err) {
    case IO_DONE: return NULL;
    case IO_TIMEOUT: return "timeout";
    case IO_CLOSED: return "closed";
    case EAGAIN: return "timeout";
    case ETIMEDOUT: return "timeout";
    case EPIPE: case ECONNRESET: case ECONNABORTED: return "closed";
    case ECONNREFUSED: return "connection refused";
    case EADDRINUSE: return "address already in use";
    case EISCONN: return "already connected";
    case EACCES: return "permission denied";
    default: return strerror(err);
  }
}


/* Maps errno after a failed call to our codes (EAGAIN: try again). */
static int ioerr (int err) {
  if (err == EPIPE || err == ECONNRESET || err == ECONNABORTED)
    return IO_CLOSED;
  return err;
}


/* The deadline of a call starting now, in '*ts' (NULL: none): block and
** total both bound it. */
struct timespec *lg_sock_deadline (TCP *t, struct timespec *ts) {
  double d = -1;
  if (t->block >= 0)
    d = t->block;
  if (t->total >= 0 && (d < 0 || t->total < d))
    d = t->total;
  return lg_deadline(d, ts);
}


/*
** Waits without the GIL until 'fd' has 'events', or 'deadline' passes
** (NULL: never), or (main thread) Ctrl-C comes. Returns IO_DONE,
** IO_TIMEOUT or IO_INTR.
*/
int lg_sock_waitfd (int fd, short events, const struct timespec *deadline,
                    int intr) {
  struct pollfd p[2] = {{fd, events, 0}};
  switch (lg_poll(p, 1, deadline, intr)) {
    case LG_TIMEDOUT: return IO_TIMEOUT;
    case LG_INTERRUPTED: return IO_INTR;
    default: return IO_DONE;  /* ready, or an error the next call reports */
  }
}


/*
** After a recv or send on 'fd' that failed with errno: IO_DONE to try
** again (EINTR, or, if 'wait', 'fd' has 'events' now), else the call's
** result (EAGAIN without 'wait': IO_TIMEOUT).
*/
int lg_sock_again (int fd, short events, int wait,
                   const struct timespec *deadline, int intr) {
  if (errno == EINTR)
    return IO_DONE;
  if (errno != EAGAIN && errno != EWOULDBLOCK)
    return ioerr(errno);
  if (!wait)
    return IO_TIMEOUT;
  return lg_sock_waitfd(fd, events, deadline, intr);
}


/* }==================================================================== */


/* {====================================================================
** Objects
** =====================================================================*/

const char *lg_sock_clsname (int cls) {
  return cls == CLIENT ? "tcp{client}" : cls == SERVER ? "tcp{server}"
                                                       : "tcp{master}";
}


/* {====================================================================
** Fork
** =====================================================================*/

/*
** Every Sock of the process (any interpreter's), for the fork handlers: a
** parent thread blocked in a call holds its rlock or wlock and counts in
** 'busy', and that thread does not exist in the child, where the socket
** is the child's to use and close, as in Python. So the prepare handler
** takes every 'mu' (held only briefly, and never with live_mu or another
** 'mu'), which makes each Sock's state whole, and the child, whose one
** thread is in no call (a fork comes from Lua, and no call runs Lua
** between its enter and leave), resets the locks and 'busy', and does
** what the calls that are gone would have done: the last one out closes a
** closed descriptor and frees an orphan, and a connect's or bind's
** descriptor that was still pending goes (its master has none again).
** Data a gone receive had already taken from the buffer is lost to the
** child; what is still in the buffer stays.
*/

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static Sock *live;


static void sock_destroy (Sock *s) {
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->rlock);
  pthread_mutex_destroy(&s->wlock);
  free(s);
}


static void fork_prepare (void) {
  lg_check(pthread_mutex_lock(&live_mu));
  for (Sock *s = live; s != NULL; s = s->next)
    lg_check(pthread_mutex_lock(&s->mu));
}


static void fork_parent (void) {
  for (Sock *s = live; s != NULL; s = s->next)
    lg_check(pthread_mutex_unlock(&s->mu));
  lg_check(pthread_mutex_unlock(&live_mu));
}


static void fork_child (void) {
  Sock *s = live, *next;
  live = NULL;
  for (; s != NULL; s = next) {
    next = s->next;
    lg_mutex_init(&s->mu);
    lg_mutex_init(&s->rlock);
    lg_mutex_init(&s->wlock);
    if (s->pending || s->closing) {
      if (s->fd >= 0)
        close(s->fd);
      s->fd = -1;
      s->pending = 0;
    }
    s->busy = 0;
    if (s->first > s->last)
      s->first = s->last = 0;
    if (s->orphan) {  /* no object reaches it, and no call now */
      sock_destroy(s);
      continue;
    }
    s->prev = NULL;  /* relink the survivors */
    s->next = live;
    if (live != NULL)
      live->prev = s;
    live = s;
  }
  lg_mutex_init(&live_mu);
}


static void forkhandler (int phase) {
  if (phase == LG_FORK_PREPARE)
    fork_prepare();
  else if (phase == LG_FORK_PARENT)
    fork_parent();
  else
    fork_child();
}


static void live_add (Sock *s) {
  lg_check(pthread_mutex_lock(&live_mu));
  s->prev = NULL;
  s->next = live;
  if (live != NULL)
    live->prev = s;
  live = s;
  lg_check(pthread_mutex_unlock(&live_mu));
}


static void live_remove (Sock *s) {
  lg_check(pthread_mutex_lock(&live_mu));
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    live = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  lg_check(pthread_mutex_unlock(&live_mu));
}


/* }==================================================================== */


/* The socket at 1, of one of 'classes', not finalised. */
TCP *lg_sock_check (lua_State *L, int classes, const char *expected) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  if (t->s == NULL)
    luaL_error(L, "attempt to use a destroyed socket");
  if (!(t->cls & classes)) {
    const char *msg = lua_pushfstring(L, "%s expected, got %s", expected,
                                      lg_sock_clsname(t->cls));
    luaL_argerror(L, 1, msg);
  }
  return t;
}


/* A new object of class 'cls' over 'fd' (-1: none yet); fd is closed on
** failure. */
TCP *lg_sock_new (lua_State *L, int cls, int fd) {
  TCP *t = (TCP *)lua_newuserdatauv(L, sizeof(TCP), 0);
  memset(t, 0, sizeof *t);
  t->block = t->total = -1;
  t->cls = cls;
  luaL_setmetatable(L, SOCKET_T);
  t->s = (Sock *)malloc(sizeof(Sock));
  if (t->s == NULL) {
    if (fd >= 0)
      close(fd);
    luaL_error(L, "not enough memory");
  }
  lg_mutex_init(&t->s->mu);
  lg_mutex_init(&t->s->rlock);
  lg_mutex_init(&t->s->wlock);
  t->s->fd = fd;
  t->s->busy = t->s->closing = t->s->orphan = t->s->pending = 0;
  t->s->first = t->s->last = 0;
  live_add(t->s);
  return t;
}


/* The descriptor now (-1: none or closed); calls use enter instead. */
int lg_sock_curfd (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  fd = (s->closing || s->pending) ? -1 : s->fd;
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


/*
** Begin a call that may let the GIL go: the descriptor (-1: a master
** without one yet), or -2 if closed (nothing to leave). The Sock and its
** descriptor stay until the matching leave.
*/
int lg_sock_hold (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    fd = s->closing ? -2 : s->pending ? -1 : s->fd;
    if (fd != -2)
      s->busy++;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


/* Begin a call on the descriptor: its number, or -1 if none or closed. */
int lg_sock_enter (Sock *s) {
  int fd;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    fd = (s->closing || s->pending) ? -1 : s->fd;
    if (fd >= 0)
      s->busy++;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return fd;
}


void lg_sock_free (Sock *s) {
  live_remove(s);
  sock_destroy(s);
}


/* End a call begun by hold or enter; 's' may be freed. */
void lg_sock_leave (Sock *s) {
  int last, dead;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    last = --s->busy == 0;
    if (last && s->closing && s->fd >= 0) {
      close(s->fd);
      s->fd = -1;
    }
    dead = last && s->orphan;  /* no one else can reach it now */
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  if (dead)
    lg_sock_free(s);
}


/* Closes 's' (idempotent): at once if no call uses it, else by shutting
** it down, which wakes the calls, and the last one out closes. Returns
** whether calls are still busy. */
int lg_sock_close (Sock *s) {
  int busy;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    busy = s->busy > 0;
    if (!s->closing && s->fd >= 0) {
      if (busy)
        shutdown(s->fd, SHUT_RDWR);  /* wakes the calls in poll */
      else {
        close(s->fd);
        s->fd = -1;
      }
    }
    s->closing = 1;
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return busy;
}


/* Pushes nil and the message of 'err'; returns 2. */
int lg_sock_pusherr (lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushstring(L, lg_sock_errstr(err));
  return 2;
}




int lg_sock_isclosing (Sock *s) {
  int c;
  lg_check(pthread_mutex_lock(&s->mu));
  c = s->closing;
  lg_check(pthread_mutex_unlock(&s->mu));
  return c;
}


/* Does received data wait in the buffer? (false while a receive runs) */
int lg_sock_isdirty (TCP *t) {
  int dirty = 0;
  if (!t->closed && t->s != NULL &&
      pthread_mutex_trylock(&t->s->rlock) == 0) {
    dirty = t->s->first < t->s->last;
    lg_check(pthread_mutex_unlock(&t->s->rlock));
  }
  return dirty;
}


/* }==================================================================== */


/* {====================================================================
** Options; the descriptor of a connect or bind
** =====================================================================*/

/* Sets the options of 'opts' on 'fd', each on if its bit is in 'vals'. */
void lg_sock_applyopts (int fd, int opts, int vals) {
  for (int k = 0; lg_sock_optnames[k] != NULL; k++)
    if (opts & (1 << k)) {
      int v = (vals & (1 << k)) != 0;
      setsockopt(fd, lg_sock_opts[k].level, lg_sock_opts[k].name, &v,
                 sizeof v);
    }
}


/*
** A connect or bind that made its own descriptor installs it in the Sock
** at once, so that a close() by another thread shuts it down (ending a
** connect that waits); until it is done ('pending'), other calls do not
** see it, so that a failure can close it under no one. Returns IO_DONE,
** IO_CLOSED, or EALREADY if another connect or bind got there first.
*/
int lg_sock_install (Sock *s, int fd) {
  int r = IO_DONE;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    if (s->closing)
      r = IO_CLOSED;
    else if (s->fd >= 0)
      r = EALREADY;
    else {
      s->fd = fd;
      s->pending = 1;
    }
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  return r;
}


/* Ends what install began: the descriptor stays (ok) or goes. */
void lg_sock_settle (Sock *s, int ok) {
  int fd = -1;
  lg_check(pthread_mutex_lock(&s->mu));
  {
    s->pending = 0;
    if (!ok) {
      fd = s->fd;
      s->fd = -1;
    }
  }
  lg_check(pthread_mutex_unlock(&s->mu));
  if (fd >= 0)
    close(fd);
}


/* }==================================================================== */


/* {====================================================================
** Module
** =====================================================================*/

/* socket.gettime() -> seconds since the epoch */
static int socket_gettime (lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}


/* socket.sleep(seconds): releases the GIL */
static int socket_sleep (lua_State *L) {
  double s = luaL_checknumber(L, 1);
  return s > 0 ? lg_sleep(L, s) : 0;
}


static const luaL_Reg socket_funcs[] = {
  {"gettime", socket_gettime},
  {"sleep", socket_sleep},
  {NULL, NULL}
};


int luaopen_socket (lua_State *L) {
  lg_fork_register(forkhandler);
  luaL_newlib(L, socket_funcs);
  lg_sock_open_tcp(L);  /* tcp, socketpair, connect, bind; socket.tcp */
  lg_sock_open_select(L);
  lua_pushliteral(L, "LuaSocket 3.0 (luagil)");
  lua_setfield(L, -2, "_VERSION");
  return 1;
}

/* }==================================================================== */
