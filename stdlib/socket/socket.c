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
*/

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "gil.h"
#include "lglib.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"


#define SOCKET_T   "socket.tcp"
#define BUFSIZE    8192
#define BACKLOG    32

/* Classes, as LuaSocket names them in tostring and errors. */
enum { MASTER = 1, CLIENT = 2, SERVER = 4 };

/* Results of the C side of a call. */
enum { IO_DONE = 0, IO_TIMEOUT = -1, IO_CLOSED = -2, IO_INTR = -3 };

/* Options that a master without a descriptor remembers: bit 1 << k is
** the option named optnames[k], which is sockopts[k]. */
enum { OPT_NODELAY = 1, OPT_REUSEADDR = 2, OPT_KEEPALIVE = 4,
       OPT_REUSEPORT = 8 };

static const char *const optnames[] = {"tcp-nodelay", "reuseaddr",
                                       "keepalive", "reuseport", NULL};

static const struct { int level, name; } sockopts[] = {
  {IPPROTO_TCP, TCP_NODELAY}, {SOL_SOCKET, SO_REUSEADDR},
  {SOL_SOCKET, SO_KEEPALIVE}, {SOL_SOCKET, SO_REUSEPORT}};

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


/* {====================================================================
** Errors and waiting
** =====================================================================*/

static const char *errstr (int err) {
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
static struct timespec *deadline_of (TCP *t, struct timespec *ts) {
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
static int waitfd (int fd, short events, const struct timespec *deadline,
                   int intr) {
  struct pollfd p[2] = {{fd, events, 0}, {lg_sigint_fd(), POLLIN, 0}};
  int n = (intr && p[1].fd >= 0) ? 2 : 1;
  for (;;) {
    struct timespec left;
    int r;
    if (intr && lg_sigint_pending())
      return IO_INTR;
    if (deadline != NULL && !lg_timeleft(deadline, &left))
      return IO_TIMEOUT;
    r = ppoll(p, (nfds_t)n, deadline != NULL ? &left : NULL, NULL);
    if ((r > 0 && p[0].revents != 0) || (r < 0 && errno != EINTR))
      return IO_DONE;  /* ready, or an error the next call will report */
  }
}


/*
** After a recv or send on 'fd' that failed with errno: IO_DONE to try
** again (EINTR, or, if 'wait', 'fd' has 'events' now), else the call's
** result (EAGAIN without 'wait': IO_TIMEOUT).
*/
static int again (int fd, short events, int wait,
                  const struct timespec *deadline, int intr) {
  if (errno == EINTR)
    return IO_DONE;
  if (errno != EAGAIN && errno != EWOULDBLOCK)
    return ioerr(errno);
  if (!wait)
    return IO_TIMEOUT;
  return waitfd(fd, events, deadline, intr);
}


/* }==================================================================== */


/* {====================================================================
** Objects
** =====================================================================*/

static const char *clsname (int cls) {
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


static void install_fork_handlers (void) {
  lg_check(pthread_atfork(fork_prepare, fork_parent, fork_child));
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
static TCP *checktcp (lua_State *L, int classes, const char *expected) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  if (t->s == NULL)
    luaL_error(L, "attempt to use a destroyed socket");
  if (!(t->cls & classes)) {
    const char *msg = lua_pushfstring(L, "%s expected, got %s", expected,
                                      clsname(t->cls));
    luaL_argerror(L, 1, msg);
  }
  return t;
}


/* A new object of class 'cls' over 'fd' (-1: none yet); fd is closed on
** failure. */
static TCP *newtcp (lua_State *L, int cls, int fd) {
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


#define ANYTCP  (MASTER | CLIENT | SERVER)
#define anytcp(L)  checktcp(L, ANYTCP, "tcp")


/* The descriptor now (-1: none or closed); calls use enter instead. */
static int curfd (Sock *s) {
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
static int hold (Sock *s) {
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
static int enter (Sock *s) {
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


static void sock_free (Sock *s) {
  live_remove(s);
  sock_destroy(s);
}


/* End a call begun by hold or enter; 's' may be freed. */
static void leave (Sock *s) {
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
    sock_free(s);
}


/* Closes 's' (idempotent): at once if no call uses it, else by shutting
** it down, which wakes the calls, and the last one out closes. Returns
** whether calls are still busy. */
static int sock_close (Sock *s) {
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


/* sock:close() -> 1 */
static int tcp_close (lua_State *L) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  if (t->s != NULL)
    sock_close(t->s);
  t->closed = 1;
  lua_pushinteger(L, 1);
  return 1;
}


/*
** The finaliser, idempotent. Called by the collector, no call can be
** using the Sock; called by hand, one may be (waiting in receive, accept
** or select): it is closed as by close(), and the last call frees it.
*/
static int tcp_gc (lua_State *L) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  Sock *s = t->s;
  t->s = NULL;
  t->closed = 1;
  if (s != NULL) {
    int busy;
    lg_check(pthread_mutex_lock(&s->mu));
    s->orphan = 1;  /* set before the close: no leave can miss it */
    lg_check(pthread_mutex_unlock(&s->mu));
    busy = sock_close(s);
    if (!busy)  /* and none can begin: the object no longer points to it */
      sock_free(s);
  }
  return 0;
}


/* tostring(sock) -> "tcp{client}: 0x..." */
static int tcp_tostring (lua_State *L) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  lua_pushfstring(L, "%s: %p", clsname(t->cls), (void *)t);
  return 1;
}


/* Pushes nil and the message of 'err'; returns 2. */
static int pusherr (lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushstring(L, errstr(err));
  return 2;
}


/* }==================================================================== */


/* {====================================================================
** Receiving
** =====================================================================*/

typedef struct Out {  /* what a receive has gathered, in C memory */
  char *b;
  size_t n, size;
} Out;


static int out_add (Out *o, const char *s, size_t l) {
  if (o->size - o->n < l) {
    size_t want = o->size ? o->size : 256;
    char *nb;
    while (want - o->n < l)
      want *= 2;
    if ((nb = (char *)realloc(o->b, want)) == NULL)
      return 0;
    o->b = nb;
    o->size = want;
  }
  memcpy(o->b + o->n, s, l);
  o->n += l;
  return 1;
}


enum { PAT_LINE, PAT_ALL, PAT_COUNT };

typedef struct Recv {
  Sock *s;
  int fd;
  int pat;
  size_t want;     /* PAT_COUNT: bytes still wanted */
  Out out;
  int oom;
} Recv;


/* Moves what the pattern takes from the buffer to 'out'; 1 if complete. */
static int consume (Recv *r) {
  Sock *s = r->s;
  while (s->first < s->last) {
    char *p = s->buf + s->first;
    size_t avail = s->last - s->first, take;
    if (r->pat == PAT_COUNT) {
      take = avail < r->want ? avail : r->want;
      if (!out_add(&r->out, p, take))
        return r->oom = 1;
      s->first += take;
      r->want -= take;
      return r->want == 0;
    }
    if (r->pat == PAT_ALL) {
      if (!out_add(&r->out, p, avail))
        return r->oom = 1;
      s->first = s->last;
      return 0;
    }
    for (take = 0; take < avail && p[take] != '\n'; take++)
      if (p[take] != '\r' && !out_add(&r->out, p + take, 1))
        return r->oom = 1;
    s->first += take;
    if (take < avail) {  /* the newline */
      s->first++;
      return 1;
    }
  }
  return r->pat == PAT_COUNT && r->want == 0;
}


/*
** Reads until the pattern is complete. With 'wait' false it never blocks
** (called with the GIL); with 'wait' true it is called without the GIL,
** right after a recv that would have blocked, and waits until 'deadline'.
*/
static int recvloop (Recv *r, int wait, const struct timespec *deadline,
                     int intr) {
  Sock *s = r->s;
  if (wait) {  /* the last recv found nothing: wait before the next */
    int w = waitfd(r->fd, POLLIN, deadline, intr);
    if (w != IO_DONE)
      return w;
  }
  for (;;) {
    ssize_t n;
    int err;
    if (consume(r) || r->oom)
      return IO_DONE;
    s->first = s->last = 0;
    n = recv(r->fd, s->buf, BUFSIZE, 0);
    if (n > 0)
      s->last = (size_t)n;
    else if (n == 0)
      return IO_CLOSED;
    else if ((err = again(r->fd, POLLIN, wait, deadline, intr)) != IO_DONE)
      return err;
  }
}


/* client:receive([pattern [, prefix]]) -> data | nil, err, partial */
static int tcp_receive (lua_State *L) {
  TCP *t = checktcp(L, CLIENT, "tcp{client}");
  size_t plen;
  const char *prefix = luaL_optlstring(L, 3, "", &plen);
  Recv r;
  int err;
  memset(&r, 0, sizeof r);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    /* A count of bytes: a cast would make math.huge (or NaN) 0 bytes. */
    int isint;
    lua_Integer n = lua_tointegerx(L, 2, &isint);
    luaL_argcheck(L, isint, 2, "number has no integer representation");
    luaL_argcheck(L, n >= 0, 2, "invalid receive pattern");
    r.pat = PAT_COUNT;
    r.want = (lua_Unsigned)n > plen ? (size_t)n - plen : 0;
  }
  else {
    const char *p = luaL_optstring(L, 2, "*l");
    if (*p == '*')
      p++;
    if (*p == 'l')
      r.pat = PAT_LINE;
    else if (*p == 'a')
      r.pat = PAT_ALL;
    else
      return luaL_argerror(L, 2, "invalid receive pattern");
  }
  r.s = t->s;
  if (t->closed || (r.fd = enter(r.s)) < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    lua_pushlstring(L, prefix, plen);
    return 3;
  }
  lg_mutex_take(&r.s->rlock);
  if (r.pat == PAT_COUNT && r.want == 0)
    err = IO_DONE;
  else {
    err = recvloop(&r, 0, NULL, 0);
    if (err == IO_TIMEOUT && (t->block != 0 && t->total != 0)) {
      struct timespec dl, *deadline = deadline_of(t, &dl);
      int intr = lg_tstate_is_main();
      lg_blocking_waited();  /* recv said EAGAIN: priority-io's waiting */
      LG_BEGIN_BLOCKING
      err = recvloop(&r, 1, deadline, intr);
      LG_END_BLOCKING
    }
  }
  lg_check(pthread_mutex_unlock(&r.s->rlock));
  leave(r.s);
  if (r.oom) {
    free(r.out.b);
    return luaL_error(L, "not enough memory");
  }
  if (err == IO_INTR) {
    free(r.out.b);
    return lg_breaker_raise_interrupt(L);
  }
  if (r.pat == PAT_ALL && err == IO_CLOSED && r.out.n > 0)
    err = IO_DONE;
  {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, prefix, plen);
    luaL_addlstring(&b, r.out.b ? r.out.b : "", r.out.n);
    free(r.out.b);
    luaL_pushresult(&b);
    lua_pushnil(L);
    lua_pushstring(L, errstr(err));  /* nil when done */
    if (err != IO_DONE)
      lua_rotate(L, -3, -1);  /* nil, err, partial */
  }
  return 3;
}


/* }==================================================================== */


/* {====================================================================
** Sending
** =====================================================================*/

/* Sends all of 'data' (called without the GIL); '*sent' counts what
** went. Never waits unless 'wait'. */
static int sendloop (int fd, const char *data, size_t len, size_t *sent,
                     int wait, const struct timespec *deadline, int intr) {
  while (*sent < len) {
    ssize_t n = send(fd, data + *sent, len - *sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    int err;
    if (n >= 0)
      *sent += (size_t)n;
    else if ((err = again(fd, POLLOUT, wait, deadline, intr)) != IO_DONE)
      return err;
  }
  return IO_DONE;
}


/* client:send(data [, i [, j]]) -> last | nil, err, last */
static int tcp_send (lua_State *L) {
  TCP *t = checktcp(L, CLIENT, "tcp{client}");
  Sock *s = t->s;  /* t->s is NULL after a __gc by hand while we wait */
  size_t size, sent = 0, len = 0;
  const char *data = luaL_checklstring(L, 2, &size);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  lua_Integer j = luaL_optinteger(L, 4, -1);
  int err = IO_DONE, fd;
  if (i < 0) i = (lua_Integer)size + i + 1;
  if (i < 1) i = 1;
  if (j < 0) j = (lua_Integer)size + j + 1;
  if (j > (lua_Integer)size) j = (lua_Integer)size;
  if (t->closed || (fd = enter(s)) < 0)
    err = IO_CLOSED;
  else {
    lg_mutex_take(&s->wlock);
    len = i <= j ? (size_t)(j - i + 1) : 0;
    if (len > 0 && lg_gil_getpolicy(NULL) == LG_POLICY_PRIORITY_IO) {
      /* Under priority-io a send that need not wait keeps the GIL: giving
      ** it up would put us behind a CPU-bound thread for a whole interval
      ** (the convoy effect), and the peer we wake gets the GIL promptly
      ** anyway, by its own priority. Only a send that must wait goes on. */
      err = sendloop(fd, data + i - 1, len, &sent, 0, NULL, 0);
      if (err == IO_TIMEOUT && t->block != 0)
        err = IO_DONE;  /* the rest goes on below */
      else
        len = 0;  /* done, failed, or may not wait */
    }
    if (sent < len) {
      /* The send itself runs without the GIL, as CPython's does: it wakes
      ** the peer's thread at once, which then finds the GIL free instead
      ** of queueing behind us (the convoy workload's round trips). */
      char small[4096], *copy = small;
      int wait = t->block != 0 && t->total != 0;
      struct timespec dl, *deadline = wait ? deadline_of(t, &dl) : NULL;
      int intr = lg_tstate_is_main();
      size_t done = sent;
      len -= done;
      sent = 0;
      if (len > sizeof small && (copy = (char *)malloc(len)) == NULL) {
        lg_check(pthread_mutex_unlock(&s->wlock));
        leave(s);
        return luaL_error(L, "not enough memory");
      }
      memcpy(copy, data + i - 1 + done, len);
      LG_BEGIN_BLOCKING
      err = sendloop(fd, copy, len, &sent, wait, deadline, intr);
      LG_END_BLOCKING
      if (copy != small)
        free(copy);
      sent += done;
    }
    lg_check(pthread_mutex_unlock(&s->wlock));
    leave(s);
  }
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err == IO_DONE) {
    lua_pushinteger(L, (lua_Integer)sent + i - 1);
    lua_pushnil(L);
    lua_pushnil(L);
  }
  else {
    lua_pushnil(L);
    lua_pushstring(L, errstr(err));
    lua_pushinteger(L, (lua_Integer)sent + i - 1);
  }
  return 3;
}


/* }==================================================================== */


/* {====================================================================
** Addresses, connecting, binding, accepting
** =====================================================================*/

/* Sets the options of 'opts' on 'fd', each on if its bit is in 'vals'. */
static void applyopts (int fd, int opts, int vals) {
  for (int k = 0; optnames[k] != NULL; k++)
    if (opts & (1 << k)) {
      int v = (vals & (1 << k)) != 0;
      setsockopt(fd, sockopts[k].level, sockopts[k].name, &v, sizeof v);
    }
}


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


/* Connects a non-blocking 'fd' to 'ai', waiting until the deadline. */
static int connect1 (int fd, struct addrinfo *ai,
                     const struct timespec *deadline, int intr) {
  int err = 0;
  socklen_t len = sizeof err;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return 0;
  if (errno != EINPROGRESS && errno != EINTR)
    return errno;
  err = waitfd(fd, POLLOUT, deadline, intr);
  if (err != IO_DONE)
    return err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return errno;
  return err;
}


/*
** A connect or bind that made its own descriptor installs it in the Sock
** at once, so that a close() by another thread shuts it down (ending a
** connect that waits); until it is done ('pending'), other calls do not
** see it, so that a failure can close it under no one. Returns IO_DONE,
** IO_CLOSED, or EALREADY if another connect or bind got there first.
*/
static int install (Sock *s, int fd) {
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
static void settle (Sock *s, int ok) {
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


/* Resolves and connects or binds (without the GIL); sets a->fd, a->err. */
static void doaddr (Addr *a) {
  struct addrinfo hints, *res, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = a->passive ? AI_PASSIVE : 0;
  a->gai = getaddrinfo(a->host, a->port, &hints, &res);
  if (a->gai != 0) {
    a->err = EINVAL;
    return;
  }
  a->err = ECONNREFUSED;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    int fd = a->fd, own = 0;
    if (fd < 0) {
      fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
      if (fd < 0) {
        a->err = errno;
        continue;
      }
      own = 1;
      applyopts(fd, a->opts, a->optvals);
      if ((a->err = install(a->s, fd)) != IO_DONE) {
        close(fd);
        break;
      }
    }
    if (a->passive) {
      a->err = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
      if (a->err == 0 && a->backlog >= 0 && listen(fd, a->backlog) != 0)
        a->err = errno;
    }
    else
      a->err = connect1(fd, ai, a->deadline, a->intr);
    if (own)
      settle(a->s, a->err == 0);
    if (a->err == 0) {
      a->fd = fd;
      break;
    }
    if (a->err == IO_TIMEOUT || a->err == IO_INTR || !own)
      break;
  }
  freeaddrinfo(res);
}


/* The host at 'arg' and the port after it, checked: Python's words for a
** port out of range, which a cast would wrap (70000 was port 4464). */
static const char *checkhostport (lua_State *L, int arg) {
  size_t len;
  const char *host = luaL_checklstring(L, arg, &len);
  lua_Integer port = luaL_checkinteger(L, arg + 1);
  luaL_argcheck(L, strlen(host) == len, arg, "embedded null character");
  luaL_argcheck(L, port >= 0 && port <= 65535, arg + 1,
                "port must be 0-65535");
  return host;
}


/* The backlog at 'arg': Python takes a negative one as 0. */
static int checkbacklog (lua_State *L, int arg) {
  lua_Integer n = luaL_optinteger(L, arg, BACKLOG);
  luaL_argcheck(L, n <= INT_MAX, arg, "backlog out of range");
  return n < 0 ? 0 : (int)n;
}


/* Fills 'a' from host at 2 and port at 3 (copies, freed by freeaddr);
** raises on a bad argument, with nothing to free. */
static void addrargs (lua_State *L, Addr *a, int passive) {
  const char *host = checkhostport(L, 2);
  char port[32];
  memset(a, 0, sizeof *a);
  snprintf(port, sizeof port, "%lld", (long long)lua_tointeger(L, 3));
  if (passive && strcmp(host, "*") == 0)
    host = NULL;  /* any address */
  a->passive = passive;
  a->host = host ? strdup(host) : NULL;
  a->port = strdup(port);
  if ((host != NULL && a->host == NULL) || a->port == NULL) {
    free(a->host);
    free(a->port);
    luaL_error(L, "not enough memory");
  }
}


static int isclosing (Sock *s) {
  int c;
  lg_check(pthread_mutex_lock(&s->mu));
  c = s->closing;
  lg_check(pthread_mutex_unlock(&s->mu));
  return c;
}


/*
** Runs 'a' on master 't' without the GIL, holding its Sock; returns the
** results (1 | nil, err). A close() by another thread meanwhile makes
** the result "closed".
*/
static int runaddr (lua_State *L, TCP *t, Addr *a) {
  Sock *s = t->s;  /* t->s is NULL after a __gc by hand while we wait */
  int closed = t->closed || (a->fd = hold(s)) == -2;
  if (!closed) {
    a->s = s;
    a->opts = t->opts;
    a->optvals = t->optvals;
    LG_BEGIN_BLOCKING
    doaddr(a);
    LG_END_BLOCKING
    closed = isclosing(s);
    leave(s);
  }
  free(a->host);
  free(a->port);
  if (a->err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (closed)
    return pusherr(L, IO_CLOSED);
  if (a->err != 0) {
    lua_pushnil(L);
    if (a->gai != 0)
      lua_pushstring(L, a->gai == EAI_NONAME
                        ? "host or service not provided, or not known"
                        : gai_strerror(a->gai));
    else
      lua_pushstring(L, errstr(a->err));
    return 2;
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* master:connect(address, port) -> 1 | nil, err */
static int tcp_connect (lua_State *L) {
  TCP *t = checktcp(L, MASTER, "tcp{master}");
  Addr a;
  int n;
  addrargs(L, &a, 0);
  a.deadline = deadline_of(t, &a.dl);  /* now if a timeout is 0: try once */
  a.intr = lg_tstate_is_main();
  if ((n = runaddr(L, t, &a)) == 1)
    t->cls = CLIENT;
  return n;
}


/* Binds master 't' to the address at 2 and port at 3, and listens too if
** 'backlog' >= 0: 1 | nil, err. */
static int bindto (lua_State *L, TCP *t, int backlog) {
  Addr a;
  addrargs(L, &a, 1);
  a.backlog = backlog;
  return runaddr(L, t, &a);
}


/* master:bind(address, port) -> 1 | nil, err */
static int tcp_bind (lua_State *L) {
  return bindto(L, checktcp(L, MASTER, "tcp{master}"), -1);
}


/* master:listen([backlog]) -> 1 | nil, err */
static int tcp_listen (lua_State *L) {
  TCP *t = checktcp(L, MASTER, "tcp{master}");
  int backlog = checkbacklog(L, 2), fd, err;
  if (t->closed)
    return pusherr(L, IO_CLOSED);
  if ((fd = curfd(t->s)) < 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return pusherr(L, errno);
    applyopts(fd, t->opts, t->optvals);
    if ((err = install(t->s, fd)) != IO_DONE) {  /* a connect's, waiting */
      close(fd);
      return pusherr(L, err);
    }
    settle(t->s, 1);
  }
  if (listen(fd, backlog) != 0)
    return pusherr(L, errno);
  t->cls = SERVER;
  lua_pushinteger(L, 1);
  return 1;
}


/* server:accept() -> client | nil, err */
static int tcp_accept (lua_State *L) {
  TCP *t = checktcp(L, SERVER, "tcp{server}");
  Sock *s = t->s;  /* t->s is NULL after a __gc by hand while we wait */
  TCP *client = newtcp(L, CLIENT, -1);  /* first: then nothing can leak */
  int fd, c, err = IO_DONE;
  if (t->closed || (fd = enter(s)) < 0)
    return pusherr(L, IO_CLOSED);
  c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    if (t->block == 0 || t->total == 0)
      err = IO_TIMEOUT;
    else {
      struct timespec dl, *deadline = deadline_of(t, &dl);
      int intr = lg_tstate_is_main();
      lg_blocking_waited();  /* accept said EAGAIN: priority-io's waiting */
      LG_BEGIN_BLOCKING
      for (;;) {
        c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR && errno != ECONNABORTED)) {
          err = c >= 0 ? IO_DONE : errno;
          break;
        }
        if ((err = waitfd(fd, POLLIN, deadline, intr)) != IO_DONE)
          break;
      }
      LG_END_BLOCKING
    }
  }
  else if (c < 0)
    err = errno;
  leave(s);
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err != IO_DONE) {
    if (err == EINVAL)  /* shut down by close() in another thread */
      err = IO_CLOSED;
    return pusherr(L, err);
  }
  client->s->fd = c;  /* no other thread knows it yet */
  return 1;
}


/* Pushes address, port, family of 'sa'; returns 3, or pusherr. */
static int pushaddr (lua_State *L, struct sockaddr_storage *sa,
                     socklen_t len) {
  char host[INET6_ADDRSTRLEN + 1], serv[16];
  int r;
  if (sa->ss_family != AF_INET && sa->ss_family != AF_INET6) {
    lua_pushnil(L);
    lua_pushliteral(L, "unsupported address family");
    return 2;
  }
  r = getnameinfo((struct sockaddr *)sa, len, host, sizeof host, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
  if (r != 0) {
    lua_pushnil(L);
    lua_pushstring(L, gai_strerror(r));
    return 2;
  }
  lua_pushstring(L, host);
  lua_pushinteger(L, strtol(serv, NULL, 10));
  lua_pushstring(L, sa->ss_family == AF_INET ? "inet" : "inet6");
  return 3;
}


static int getname (lua_State *L, int peer) {
  TCP *t = anytcp(L);
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  int r, fd;
  if (t->closed || (fd = enter(t->s)) < 0)
    return pusherr(L, IO_CLOSED);
  r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
           : getsockname(fd, (struct sockaddr *)&sa, &len);
  leave(t->s);
  if (r != 0)
    return pusherr(L, errno);
  return pushaddr(L, &sa, len);
}


/* sock:getsockname() -> address, port, family | nil, err */
static int tcp_getsockname (lua_State *L) {
  return getname(L, 0);
}


/* client:getpeername() -> address, port, family | nil, err */
static int tcp_getpeername (lua_State *L) {
  checktcp(L, CLIENT, "tcp{client}");
  return getname(L, 1);
}


/* }==================================================================== */


/* {====================================================================
** Options, timeouts, shutdown
** =====================================================================*/

/* sock:setoption(name, value) -> 1 | nil, err */
static int tcp_setoption (lua_State *L) {
  TCP *t = anytcp(L);
  int bit = 1 << luaL_checkoption(L, 2, NULL, optnames), fd;
  int on = lua_toboolean(L, 3);
  if (t->closed)
    return pusherr(L, IO_CLOSED);
  t->opts |= bit;  /* remembered for a master's future descriptor */
  t->optvals = on ? (t->optvals | bit) : (t->optvals & ~bit);
  if ((fd = enter(t->s)) >= 0) {
    int ok;
    applyopts(fd, bit, on ? bit : 0);
    {
      int v;
      socklen_t len = sizeof v;
      ok = bit == OPT_NODELAY
        ? getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0
        : getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0;
    }
    leave(t->s);
    if (!ok)
      return pusherr(L, errno);
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* sock:getoption(name) -> value | nil, err */
static int tcp_getoption (lua_State *L) {
  TCP *t = anytcp(L);
  int k = luaL_checkoption(L, 2, NULL, optnames), fd, v = 0;
  socklen_t len = sizeof v;
  if (t->closed)
    return pusherr(L, IO_CLOSED);
  if ((fd = enter(t->s)) < 0) {
    lua_pushboolean(L, (t->optvals & (1 << k)) != 0);
    return 1;
  }
  getsockopt(fd, sockopts[k].level, sockopts[k].name, &v, &len);
  leave(t->s);
  lua_pushboolean(L, v != 0);
  return 1;
}


/* sock:settimeout(value [, mode]) -> 1 */
static int tcp_settimeout (lua_State *L) {
  TCP *t = anytcp(L);
  double v = luaL_optnumber(L, 2, -1);
  const char *mode = luaL_optstring(L, 3, "b");
  if (v < 0 || isnan(v))
    v = -1;
  switch (*mode) {
    case 'b': t->block = v; break;
    case 'r': case 't': t->total = v; break;
    default: return luaL_argerror(L, 3, "invalid timeout mode");
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* client:shutdown(["both" | "send" | "receive"]) -> 1 */
static int tcp_shutdown (lua_State *L) {
  static const char *const names[] = {"receive", "send", "both", NULL};
  static const int how[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  TCP *t = checktcp(L, CLIENT, "tcp{client}");
  int k = luaL_checkoption(L, 2, "both", names), fd;
  if (!t->closed && (fd = enter(t->s)) >= 0) {
    shutdown(fd, how[k]);
    leave(t->s);
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* sock:getfd() -> integer (-1 when closed) */
static int tcp_getfd (lua_State *L) {
  TCP *t = anytcp(L);
  lua_pushinteger(L, t->closed ? -1 : curfd(t->s));
  return 1;
}


/* Does received data wait in the buffer? (false while a receive runs) */
static int isdirty (TCP *t) {
  int dirty = 0;
  if (!t->closed && t->s != NULL &&
      pthread_mutex_trylock(&t->s->rlock) == 0) {
    dirty = t->s->first < t->s->last;
    lg_check(pthread_mutex_unlock(&t->s->rlock));
  }
  return dirty;
}


/* sock:dirty() -> boolean: received data waits in the buffer */
static int tcp_dirty (lua_State *L) {
  lua_pushboolean(L, isdirty(anytcp(L)));
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Module functions
** =====================================================================*/

/* socket.tcp() -> master */
static int socket_tcp (lua_State *L) {
  newtcp(L, MASTER, -1);
  return 1;
}


/* socket.socketpair() -> client, client (AF_UNIX stream sockets) */
static int socket_socketpair (lua_State *L) {
  int fds[2];
  /* The objects first: a memory error then leaks no descriptor. */
  TCP *a = newtcp(L, CLIENT, -1), *b = newtcp(L, CLIENT, -1);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                 fds) != 0)
    return pusherr(L, errno);
  a->s->fd = fds[0];  /* no other thread knows them yet */
  b->s->fd = fds[1];
  return 2;
}


/*
** A new master at 1, for a module function that then runs a method on it:
** its (address, port) move to 2 and 3, where the methods read them. They
** are checked first, so that an error numbers them as the caller does.
*/
static TCP *pushmaster (lua_State *L) {
  TCP *t;
  checkhostport(L, 1);
  t = newtcp(L, MASTER, -1);
  lua_insert(L, 1);
  return t;
}


/* socket.connect(address, port) -> client | nil, err */
static int socket_connect (lua_State *L) {
  pushmaster(L);
  if (tcp_connect(L) == 2)  /* nil, err */
    return 2;
  lua_settop(L, 1);
  return 1;
}


/* socket.bind(address, port [, backlog]) -> server | nil, err */
static int socket_bind (lua_State *L) {
  int backlog = checkbacklog(L, 3);
  TCP *t = pushmaster(L);
  t->opts = t->optvals = OPT_REUSEADDR;  /* as LuaSocket's socket.bind */
  if (bindto(L, t, backlog) == 2)  /* nil, err */
    return 2;
  t->cls = SERVER;
  lua_settop(L, 1);
  return 1;
}


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


/*
** socket.select works in three steps. (1) Each entry of the two tables is
** copied to an anchor table, which keeps it alive to the end, and an
** entry that is not one of our sockets is asked for getfd and dirty (Lua
** code, which may raise or do anything). (2) Without any call that can
** raise, each of our open sockets is entered (busy), which keeps its
** descriptor number from being closed and reused while we poll it. (3)
** poll without the GIL; then each socket is left, before anything can
** raise again, and one closed meanwhile counts as ready.
*/

typedef struct Entry {
  Sock *s;                 /* entered, or NULL */
  int ours;                /* one of our sockets (step 1 saw it) */
  int fd;                  /* -1: skipped */
  short events, revents;
} Entry;


/* Step 1 for the entry at the top of the stack (popped): its descriptor
** if it is not one of our sockets (-1 to skip it), as LuaSocket asks any
** object with a getfd method; '*dirty' tells whether it has buffered
** data. */
static int foreignfd (lua_State *L, int *dirty) {
  int fd = -1;
  *dirty = 0;
  if (luaL_getmetafield(L, -1, "__index") != LUA_TNIL) {
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "getfd") == LUA_TFUNCTION) {
      lua_Integer n;
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      n = luaL_optinteger(L, -1, -1);
      fd = (n >= 0 && n <= INT_MAX) ? (int)n : -1;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "dirty") == LUA_TFUNCTION) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      *dirty = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return fd;
}


/* Adds value 'v' (stack index) to the result set at 'res'. */
static void addresult (lua_State *L, int res, int v) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, res) + 1;
  lua_pushvalue(L, v);
  lua_rawseti(L, res, n);
  lua_pushvalue(L, v);
  lua_pushinteger(L, n);
  lua_rawset(L, res);
}


/* poll()s 'e' (n entries) and the Ctrl-C descriptor if 'intr', without
** the GIL, until 'timeout' (< 0 or NaN: none); -2 on Ctrl-C, else what
** poll returned (-1: errno in '*err'). 'p' has room for n + 1. */
static int pollentries (Entry *e, struct pollfd *p, int n, double timeout,
                        int intr, int *err) {
  struct timespec dl, *deadline = lg_deadline(timeout, &dl);
  int i, r = 0;
  for (i = 0; i < n; i++) {
    p[i].fd = e[i].fd;  /* poll skips a negative one */
    p[i].events = e[i].events;
    p[i].revents = 0;
  }
  p[n].fd = intr ? lg_sigint_fd() : -1;
  p[n].events = POLLIN;
  p[n].revents = 0;
  LG_BEGIN_BLOCKING
  for (;;) {
    struct timespec left;
    if (intr && lg_sigint_pending()) {
      r = -2;
      break;
    }
    if (deadline != NULL)
      lg_timeleft(deadline, &left);  /* 0 once passed: poll once more */
    r = ppoll(p, (nfds_t)n + 1, deadline != NULL ? &left : NULL, NULL);
    if (r >= 0 || errno != EINTR)
      break;
  }
  *err = errno;
  LG_END_BLOCKING
  for (i = 0; i < n; i++)
    e[i].revents = r > 0 ? p[i].revents : 0;
  return r;
}


static void checkset (lua_State *L, int arg) {
  luaL_argexpected(L, lua_isnoneornil(L, arg) || lua_istable(L, arg), arg,
                   "table");
}


/* socket.select(recvt, sendt [, timeout]) -> readable, writable, err */
static int socket_select (lua_State *L) {
  double timeout;
  lua_Unsigned lr, ls;
  int nr, ns, n, i, ndirty = 0, ready = 0, r = 0, err = 0, res, anchor;
  Entry *e;
  struct pollfd *p;
  checkset(L, 1);
  checkset(L, 2);
  timeout = luaL_optnumber(L, 3, -1);
  lr = lua_istable(L, 1) ? lua_rawlen(L, 1) : 0;
  ls = lua_istable(L, 2) ? lua_rawlen(L, 2) : 0;
  luaL_argcheck(L, lr < (1u << 20), 1, "too many sockets");
  luaL_argcheck(L, ls < (1u << 20), 2, "too many sockets");
  nr = (int)lr;
  ns = (int)ls;
  n = nr + ns;
  lua_settop(L, 3);
  lua_createtable(L, n, 0);  /* step 1: the anchor */
  anchor = lua_gettop(L);
  e = (Entry *)lua_newuserdatauv(L, sizeof(Entry) * (size_t)(n + 1), 0);
  for (i = 0; i < n; i++) {
    int dirty = 0;
    lua_rawgeti(L, i < nr ? 1 : 2, i < nr ? i + 1 : i - nr + 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, anchor, i + 1);
    e[i].s = NULL;
    e[i].ours = 0;
    e[i].fd = -1;
    e[i].events = i < nr ? POLLIN : POLLOUT;
    e[i].revents = 0;
    if (luaL_testudata(L, -1, SOCKET_T) != NULL) {
      e[i].ours = 1;  /* step 2 enters it */
      lua_pop(L, 1);
    }
    else if ((e[i].fd = foreignfd(L, &dirty)) >= 0 && dirty && i < nr) {
      e[i].revents = POLLIN;
      ndirty++;
    }
  }
  /* poll() reads its array without the GIL: C memory, got before any
  ** socket is entered. */
  if ((p = (struct pollfd *)malloc(sizeof *p * (size_t)(n + 1))) == NULL)
    return luaL_error(L, "not enough memory");
  for (i = 0; i < n; i++) {  /* step 2: nothing here raises */
    TCP *t;
    lua_rawgeti(L, anchor, i + 1);
    t = (TCP *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!e[i].ours || t->s == NULL || t->closed)
      continue;  /* not ours, or closed: LuaSocket skips a closed one */
    if ((e[i].fd = enter(t->s)) >= 0) {
      e[i].s = t->s;
      if (i < nr && isdirty(t)) {
        e[i].revents = POLLIN;
        ndirty++;
      }
    }
  }
  if (ndirty == 0)
    r = pollentries(e, p, n, timeout, lg_tstate_is_main(), &err);
  free(p);
  for (i = 0; i < n; i++)  /* step 3: leave before anything can raise */
    if (e[i].s != NULL) {
      if (isclosing(e[i].s))  /* closed by another thread meanwhile */
        e[i].revents = e[i].events;
      leave(e[i].s);
    }
  if (r == -2)
    return lg_breaker_raise_interrupt(L);
  lua_newtable(L);
  lua_newtable(L);
  res = lua_gettop(L) - 1;  /* readable at res, writable at res + 1 */
  for (i = 0; i < n; i++) {
    if (e[i].fd < 0 || e[i].revents == 0)
      continue;
    lua_rawgeti(L, anchor, i + 1);
    addresult(L, i < nr ? res : res + 1, lua_gettop(L));
    lua_pop(L, 1);
    ready++;
  }
  if (r == -1)
    lua_pushstring(L, strerror(err));
  else if (ready == 0)
    lua_pushliteral(L, "timeout");
  else
    lua_pushnil(L);
  return 3;
}


/* }==================================================================== */


static const luaL_Reg socket_funcs[] = {
  {"tcp", socket_tcp},
  {"socketpair", socket_socketpair},
  {"connect", socket_connect},
  {"bind", socket_bind},
  {"gettime", socket_gettime},
  {"sleep", socket_sleep},
  {"select", socket_select},
  {NULL, NULL}
};


static const luaL_Reg tcp_methods[] = {
  {"accept", tcp_accept},
  {"bind", tcp_bind},
  {"close", tcp_close},
  {"connect", tcp_connect},
  {"dirty", tcp_dirty},
  {"getfd", tcp_getfd},
  {"getoption", tcp_getoption},
  {"getpeername", tcp_getpeername},
  {"getsockname", tcp_getsockname},
  {"listen", tcp_listen},
  {"receive", tcp_receive},
  {"send", tcp_send},
  {"setoption", tcp_setoption},
  {"settimeout", tcp_settimeout},
  {"shutdown", tcp_shutdown},
  {NULL, NULL}
};


static const luaL_Reg tcp_meta[] = {
  {"__gc", tcp_gc},
  {"__close", tcp_close},
  {"__tostring", tcp_tostring},
  {NULL, NULL}
};


int luaopen_socket (lua_State *L) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  lg_check(pthread_once(&once, install_fork_handlers));
  lg_createmeta(L, SOCKET_T, tcp_methods, tcp_meta, NULL);
  luaL_newlib(L, socket_funcs);
  lua_pushliteral(L, "LuaSocket 3.0 (luagil)");
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
