/*
** stdlib/socket/tcp.c -- the 'socket' module's tcp object: connect, bind,
** listen, accept, receive, send, options, timeouts, shutdown; and the
** module functions that make one (tcp, socketpair, connect, bind).
** See LICENSE for copyright and licence (MIT).
**
** The objects, their Sock and the rules a call follows are in socket.c.
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
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "lglib.h"
#include "socket.h"
#include "tstate.h"
#include "waitq.h"


/* {====================================================================
** Objects
** =====================================================================*/

/* sock:close() -> 1 */
static int tcp_close (lua_State *L) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  if (t->s != NULL)
    lg_sock_close(t->s);
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
    busy = lg_sock_close(s);
    if (!busy)  /* and none can begin: the object no longer points to it */
      lg_sock_free(s);
  }
  return 0;
}


/* tostring(sock) -> "tcp{client}: 0x..." */
static int tcp_tostring (lua_State *L) {
  TCP *t = (TCP *)luaL_checkudata(L, 1, SOCKET_T);
  lua_pushfstring(L, "%s: %p", lg_sock_clsname(t->cls), (void *)t);
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Receiving
** =====================================================================*/

enum { PAT_LINE, PAT_ALL, PAT_COUNT };

typedef struct Recv {
  Sock *s;
  int fd;
  int pat;
  size_t want;     /* PAT_COUNT: bytes still wanted */
  lg_Buf out;      /* what it has gathered (C memory) */
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
      if (!lg_buf_add(&r->out, p, take))
        return r->oom = 1;
      s->first += take;
      r->want -= take;
      return r->want == 0;
    }
    if (r->pat == PAT_ALL) {
      if (!lg_buf_add(&r->out, p, avail))
        return r->oom = 1;
      s->first = s->last;
      return 0;
    }
    for (take = 0; take < avail && p[take] != '\n'; take++)
      if (p[take] != '\r' && !lg_buf_add(&r->out, p + take, 1))
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
    int w = lg_sock_waitfd(r->fd, POLLIN, deadline, intr);
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
    else if ((err = lg_sock_again(r->fd, POLLIN, wait, deadline, intr))
             != IO_DONE)
      return err;
  }
}


/* client:receive([pattern [, prefix]]) -> data | nil, err, partial */
static int tcp_receive (lua_State *L) {
  TCP *t = lg_sock_check(L, CLIENT, "tcp{client}");
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
  if (t->closed || (r.fd = lg_sock_enter(r.s)) < 0) {
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
      struct timespec dl, *deadline = lg_sock_deadline(t, &dl);
      int intr = lg_tstate_is_main();
      lg_blocking_waited();  /* recv said EAGAIN: priority-io's waiting */
      LG_BEGIN_BLOCKING
      err = recvloop(&r, 1, deadline, intr);
      LG_END_BLOCKING
    }
  }
  lg_check(pthread_mutex_unlock(&r.s->rlock));
  lg_sock_leave(r.s);
  if (r.oom) {
    lg_buf_free(&r.out);
    return luaL_error(L, "not enough memory");
  }
  if (err == IO_INTR) {
    lg_buf_free(&r.out);
    return lg_breaker_raise_interrupt(L);
  }
  if (r.pat == PAT_ALL && err == IO_CLOSED && r.out.n > 0)
    err = IO_DONE;
  {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, prefix, plen);
    luaL_addlstring(&b, r.out.b ? r.out.b : "", r.out.n);
    lg_buf_free(&r.out);
    luaL_pushresult(&b);
    lua_pushnil(L);
    lua_pushstring(L, lg_sock_errstr(err));  /* nil when done */
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
    else if ((err = lg_sock_again(fd, POLLOUT, wait, deadline, intr))
             != IO_DONE)
      return err;
  }
  return IO_DONE;
}


/* client:send(data [, i [, j]]) -> last | nil, err, last */
static int tcp_send (lua_State *L) {
  TCP *t = lg_sock_check(L, CLIENT, "tcp{client}");
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
  if (t->closed || (fd = lg_sock_enter(s)) < 0)
    err = IO_CLOSED;
  else {
    lg_mutex_take(&s->wlock);
    len = i <= j ? (size_t)(j - i + 1) : 0;
    if (len > 0 && lg_gil_getpolicy(lg_interp_current(), NULL) == LG_POLICY_PRIORITY_IO) {
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
      struct timespec dl, *deadline = wait ? lg_sock_deadline(t, &dl) : NULL;
      int intr = lg_tstate_is_main();
      size_t done = sent;
      len -= done;
      sent = 0;
      if (len > sizeof small && (copy = (char *)malloc(len)) == NULL) {
        lg_check(pthread_mutex_unlock(&s->wlock));
        lg_sock_leave(s);
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
    lg_sock_leave(s);
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
    lua_pushstring(L, lg_sock_errstr(err));
    lua_pushinteger(L, (lua_Integer)sent + i - 1);
  }
  return 3;
}


/* }==================================================================== */


/* {====================================================================
** Connecting, binding, accepting
** =====================================================================*/

/* The backlog at 'arg': Python takes a negative one as 0. */
static int checkbacklog (lua_State *L, int arg) {
  lua_Integer n = luaL_optinteger(L, arg, BACKLOG);
  luaL_argcheck(L, n <= INT_MAX, arg, "backlog out of range");
  return n < 0 ? 0 : (int)n;
}


/*
** Runs 'a' on master 't' without the GIL, holding its Sock; returns the
** results (1 | nil, err). A close() by another thread meanwhile makes
** the result "closed".
*/
static int runaddr (lua_State *L, TCP *t, Addr *a) {
  Sock *s = t->s;  /* t->s is NULL after a __gc by hand while we wait */
  int closed = t->closed || (a->fd = lg_sock_hold(s)) == -2;
  if (!closed) {
    a->s = s;
    a->opts = t->opts;
    a->optvals = t->optvals;
    LG_BEGIN_BLOCKING
    lg_inet_doaddr(a);
    LG_END_BLOCKING
    closed = lg_sock_isclosing(s);
    lg_sock_leave(s);
  }
  free(a->host);
  free(a->port);
  if (a->err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (closed)
    return lg_sock_pusherr(L, IO_CLOSED);
  if (a->err != 0) {
    lua_pushnil(L);
    if (a->gai != 0)
      lua_pushstring(L, a->gai == EAI_NONAME
                        ? "host or service not provided, or not known"
                        : gai_strerror(a->gai));
    else
      lua_pushstring(L, lg_sock_errstr(a->err));
    return 2;
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* master:connect(address, port) -> 1 | nil, err */
static int tcp_connect (lua_State *L) {
  TCP *t = lg_sock_check(L, MASTER, "tcp{master}");
  Addr a;
  int n;
  lg_inet_addrargs(L, &a, 0);
  /* now if a timeout is 0: try once */
  a.deadline = lg_sock_deadline(t, &a.dl);
  a.intr = lg_tstate_is_main();
  if ((n = runaddr(L, t, &a)) == 1)
    t->cls = CLIENT;
  return n;
}


/* Binds master 't' to the address at 2 and port at 3, and listens too if
** 'backlog' >= 0: 1 | nil, err. */
static int bindto (lua_State *L, TCP *t, int backlog) {
  Addr a;
  lg_inet_addrargs(L, &a, 1);
  a.backlog = backlog;
  return runaddr(L, t, &a);
}


/* master:bind(address, port) -> 1 | nil, err */
static int tcp_bind (lua_State *L) {
  return bindto(L, lg_sock_check(L, MASTER, "tcp{master}"), -1);
}


/* master:listen([backlog]) -> 1 | nil, err */
static int tcp_listen (lua_State *L) {
  TCP *t = lg_sock_check(L, MASTER, "tcp{master}");
  int backlog = checkbacklog(L, 2), fd, err;
  if (t->closed)
    return lg_sock_pusherr(L, IO_CLOSED);
  if ((fd = lg_sock_curfd(t->s)) < 0) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return lg_sock_pusherr(L, errno);
    lg_sock_applyopts(fd, t->opts, t->optvals);
    err = lg_sock_install(t->s, fd);
    if (err != IO_DONE) {  /* a connect's, waiting */
      close(fd);
      return lg_sock_pusherr(L, err);
    }
    lg_sock_settle(t->s, 1);
  }
  if (listen(fd, backlog) != 0)
    return lg_sock_pusherr(L, errno);
  t->cls = SERVER;
  lua_pushinteger(L, 1);
  return 1;
}


/* server:accept() -> client | nil, err */
static int tcp_accept (lua_State *L) {
  TCP *t = lg_sock_check(L, SERVER, "tcp{server}");
  Sock *s = t->s;  /* t->s is NULL after a __gc by hand while we wait */
  TCP *client = lg_sock_new(L, CLIENT, -1);  /* first: nothing can leak */
  int fd, c, err = IO_DONE;
  if (t->closed || (fd = lg_sock_enter(s)) < 0)
    return lg_sock_pusherr(L, IO_CLOSED);
  c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    if (t->block == 0 || t->total == 0)
      err = IO_TIMEOUT;
    else {
      struct timespec dl, *deadline = lg_sock_deadline(t, &dl);
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
        if ((err = lg_sock_waitfd(fd, POLLIN, deadline, intr)) != IO_DONE)
          break;
      }
      LG_END_BLOCKING
    }
  }
  else if (c < 0)
    err = errno;
  lg_sock_leave(s);
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err != IO_DONE) {
    if (err == EINVAL)  /* shut down by close() in another thread */
      err = IO_CLOSED;
    return lg_sock_pusherr(L, err);
  }
  client->s->fd = c;  /* no other thread knows it yet */
  return 1;
}


static int getname (lua_State *L, int peer) {
  TCP *t = anytcp(L);
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  int r, fd;
  if (t->closed || (fd = lg_sock_enter(t->s)) < 0)
    return lg_sock_pusherr(L, IO_CLOSED);
  r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
           : getsockname(fd, (struct sockaddr *)&sa, &len);
  lg_sock_leave(t->s);
  if (r != 0)
    return lg_sock_pusherr(L, errno);
  return lg_inet_pushaddr(L, &sa, len);
}


/* sock:getsockname() -> address, port, family | nil, err */
static int tcp_getsockname (lua_State *L) {
  return getname(L, 0);
}


/* client:getpeername() -> address, port, family | nil, err */
static int tcp_getpeername (lua_State *L) {
  lg_sock_check(L, CLIENT, "tcp{client}");
  return getname(L, 1);
}


/* }==================================================================== */


/* {====================================================================
** Options, timeouts, shutdown
** =====================================================================*/

/* sock:setoption(name, value) -> 1 | nil, err */
static int tcp_setoption (lua_State *L) {
  TCP *t = anytcp(L);
  int bit = 1 << luaL_checkoption(L, 2, NULL, lg_sock_optnames), fd;
  int on = lua_toboolean(L, 3);
  if (t->closed)
    return lg_sock_pusherr(L, IO_CLOSED);
  t->opts |= bit;  /* remembered for a master's future descriptor */
  t->optvals = on ? (t->optvals | bit) : (t->optvals & ~bit);
  if ((fd = lg_sock_enter(t->s)) >= 0) {
    int ok;
    lg_sock_applyopts(fd, bit, on ? bit : 0);
    {
      int v;
      socklen_t len = sizeof v;
      ok = bit == OPT_NODELAY
        ? getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0
        : getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0;
    }
    lg_sock_leave(t->s);
    if (!ok)
      return lg_sock_pusherr(L, errno);
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* sock:getoption(name) -> value | nil, err */
static int tcp_getoption (lua_State *L) {
  TCP *t = anytcp(L);
  int k = luaL_checkoption(L, 2, NULL, lg_sock_optnames), fd, v = 0;
  socklen_t len = sizeof v;
  if (t->closed)
    return lg_sock_pusherr(L, IO_CLOSED);
  if ((fd = lg_sock_enter(t->s)) < 0) {
    lua_pushboolean(L, (t->optvals & (1 << k)) != 0);
    return 1;
  }
  getsockopt(fd, lg_sock_opts[k].level, lg_sock_opts[k].name, &v, &len);
  lg_sock_leave(t->s);
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
  TCP *t = lg_sock_check(L, CLIENT, "tcp{client}");
  int k = luaL_checkoption(L, 2, "both", names), fd;
  if (!t->closed && (fd = lg_sock_enter(t->s)) >= 0) {
    shutdown(fd, how[k]);
    lg_sock_leave(t->s);
  }
  lua_pushinteger(L, 1);
  return 1;
}


/* sock:getfd() -> integer (-1 when closed) */
static int tcp_getfd (lua_State *L) {
  TCP *t = anytcp(L);
  lua_pushinteger(L, t->closed ? -1 : lg_sock_curfd(t->s));
  return 1;
}


/* sock:dirty() -> boolean: received data waits in the buffer */
static int tcp_dirty (lua_State *L) {
  lua_pushboolean(L, lg_sock_isdirty(anytcp(L)));
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** Module functions
** =====================================================================*/

/* socket.tcp() -> master */
static int socket_tcp (lua_State *L) {
  lg_sock_new(L, MASTER, -1);
  return 1;
}


/* socket.socketpair() -> client, client (AF_UNIX stream sockets) */
static int socket_socketpair (lua_State *L) {
  int fds[2];
  /* The objects first: a memory error then leaks no descriptor. */
  TCP *a = lg_sock_new(L, CLIENT, -1), *b = lg_sock_new(L, CLIENT, -1);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                 fds) != 0)
    return lg_sock_pusherr(L, errno);
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
  lg_inet_checkhostport(L, 1);
  t = lg_sock_new(L, MASTER, -1);
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



static const luaL_Reg tcp_funcs[] = {
  {"tcp", socket_tcp},
  {"socketpair", socket_socketpair},
  {"connect", socket_connect},
  {"bind", socket_bind},
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


void lg_sock_open_tcp (lua_State *L) {
  lg_createmeta(L, SOCKET_T, tcp_methods, tcp_meta, NULL);
  luaL_setfuncs(L, tcp_funcs, 0);
}
