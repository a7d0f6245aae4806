/*
** stdlib/socket/tcp.c -- the 'socket.core' module's tcp objects: connect,
** bind, listen, accept, receive, send, statistics, shutdown; and the
** module functions that make one (tcp, tcp4, tcp6, connect, socketpair).
** See LICENSE for copyright and licence (MIT).
**
** The objects, their Sock and the rules a call follows are in socket.c.
** Results are LuaSocket's, floats where it returns floats.
*/

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "gil.h"
#include "lglib.h"
#include "socket.h"
#include "tstate.h"
#include "waitq.h"


#define checkclient(L)  lg_sock_check(L, 1, TCP_CLIENT, "tcp{client}")
#define checkmaster(L)  lg_sock_check(L, 1, TCP_MASTER, "tcp{master}")
#define checkserver(L)  lg_sock_check(L, 1, TCP_SERVER, "tcp{server}")
#define checktcp(L)     lg_sock_check(L, 1, TCP_ANY, "tcp{any}")


/* {====================================================================
** Receiving
** =====================================================================*/

enum { PAT_LINE, PAT_ALL, PAT_COUNT };

typedef struct Recv {
  Sock *s;
  int fd;
  int pat;
  size_t want;     /* PAT_COUNT: bytes still wanted */
  size_t got;      /* bytes taken from the buffer (getstats) */
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
      r->got += take;
      r->want -= take;
      return r->want == 0;
    }
    if (r->pat == PAT_ALL) {
      if (!lg_buf_add(&r->out, p, avail))
        return r->oom = 1;
      s->first = s->last;
      r->got += avail;
      return 0;
    }
    for (take = 0; take < avail && p[take] != '\n'; take++)
      if (p[take] != '\r' && !lg_buf_add(&r->out, p + take, 1))
        return r->oom = 1;
    s->first += take;
    r->got += take;
    if (take < avail) {  /* the newline */
      s->first++;
      r->got++;
      return 1;
    }
  }
  return r->pat == PAT_COUNT && r->want == 0;
}


/*
** Reads until the pattern is complete. With 'tm' NULL it never blocks
** (called with the GIL); else it is called without the GIL, right after
** a recv that would have blocked, and waits as 'tm' says.
*/
static int recvloop (Recv *r, const Tm *tm) {
  Sock *s = r->s;
  if (tm != NULL) {  /* the last recv found nothing: wait before the next */
    int w = lg_sock_wait(r->fd, POLLIN, tm);
    if (w != IO_DONE)
      return w;
  }
  for (;;) {
    ssize_t n;
    int err;
    if (consume(r) || r->oom)
      return IO_DONE;
    s->first = s->last = 0;
    n = recv(r->fd, s->buf, s->cap, 0);
    if (n > 0)
      s->last = (size_t)n;
    else if (n == 0)
      return IO_CLOSED;
    else if (errno == EINTR)
      continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK)
      return lg_sock_ioerr(errno);
    else if (tm == NULL)
      return IO_TIMEOUT;
    else if ((err = lg_sock_wait(r->fd, POLLIN, tm)) != IO_DONE)
      return err;
  }
}


/* The pattern at 2 into 'r', less the prefix's 'plen' bytes. */
static void checkpattern (lua_State *L, Recv *r, size_t plen) {
  if (lua_isnumber(L, 2)) {  /* a count of bytes, as LuaSocket truncated */
    lua_Number n = lua_tonumber(L, 2);
    luaL_argcheck(L, n >= 0 && n < HUGE_VAL, 2, "invalid receive pattern");
    r->pat = PAT_COUNT;
    r->want = n > (lua_Number)plen ? (n < (lua_Number)(SIZE_MAX / 2)
                                      ? (size_t)n : SIZE_MAX / 2) - plen
                                   : 0;
  }
  else {
    const char *p = luaL_optstring(L, 2, "*l");
    if (p[0] == '*' && p[1] == 'l')  /* "*l" or "*line", as LuaSocket */
      r->pat = PAT_LINE;
    else if (p[0] == '*' && p[1] == 'a')
      r->pat = PAT_ALL;
    else
      luaL_argerror(L, 2, "invalid receive pattern");
  }
}


/* client:receive([pattern [, prefix]]) -> data | nil, err, partial */
static int tcp_receive (lua_State *L) {
  Obj *o = checkclient(L);
  size_t plen;
  const char *prefix = luaL_optlstring(L, 3, "", &plen);
  Recv r;
  int err;
  memset(&r, 0, sizeof r);
  checkpattern(L, &r, plen);
  r.s = o->s;
  if (o->closed || (r.fd = lg_sock_enter(r.s)) < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    lua_pushlstring(L, prefix, plen);
    return 3;
  }
  lg_mutex_take(&r.s->rlock);
  if (r.pat == PAT_COUNT && r.want == 0)
    err = IO_DONE;
  else {
    err = recvloop(&r, NULL);
    if (err == IO_TIMEOUT) {
      Tm tm;
      lg_sock_tmstart(&tm, o);
      if (!tm.nowait) {
        lg_blocking_waits(1);  /* recv said EAGAIN: priority-io's waiting */
        LG_BEGIN_BLOCKING
        err = recvloop(&r, &tm);
        LG_END_BLOCKING
      }
    }
  }
  lg_check(pthread_mutex_unlock(&r.s->rlock));
  lg_sock_leave(r.s);
  o->nrecv += (double)r.got;
  if (r.oom) {
    lg_buf_free(&r.out);
    return luaL_error(L, "not enough memory");
  }
  if (err == IO_INTR) {
    lg_buf_free(&r.out);
    return lg_breaker_raise_interrupt(L);
  }
  if (r.pat == PAT_ALL && err == IO_CLOSED && r.got > 0)
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

/* Sends all of 'data' ('*sent' counts what went). Never waits if 'tm' is
** NULL (called with the GIL); else called without it. */
static int sendloop (int fd, const char *data, size_t len, size_t *sent,
                     const Tm *tm) {
  while (*sent < len) {
    ssize_t n = send(fd, data + *sent, len - *sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    int err;
    if (n >= 0)
      *sent += (size_t)n;
    else if (errno == EINTR)
      continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK)
      return lg_sock_ioerr(errno);
    else if (tm == NULL)
      return IO_TIMEOUT;
    else if ((err = lg_sock_wait(fd, POLLOUT, tm)) != IO_DONE)
      return err;
  }
  return IO_DONE;
}


/* The index at 'arg' (default 'def'), truncated as LuaSocket's; huge
** ones are clamped. */
static lua_Integer optindex (lua_State *L, int arg, lua_Integer def) {
  lua_Number n = luaL_optnumber(L, arg, (lua_Number)def);
  luaL_argcheck(L, n == n, arg, "number has no integer representation");
  if (n > 1e15)
    return (lua_Integer)1e15;
  if (n < -1e15)
    return (lua_Integer)-1e15;
  return (lua_Integer)n;
}


/*
** The send without the GIL: 'quick' (priority-io on one CPU) says first
** that it will not wait, so that priority-io asks the kernel nothing
** about it (lg_blocking_waits: two getrusage calls a send), and says
** it waited only if it must (a full buffer), in a second bracket.
*/
static int sendfree (int fd, const char *data, size_t len, size_t *sent,
                     const Tm *tm, int quick) {
  int err;
  if (quick) {
    lg_blocking_waits(0);
    LG_BEGIN_BLOCKING
    err = sendloop(fd, data, len, sent, NULL);
    LG_END_BLOCKING
    if (err != IO_TIMEOUT || tm->nowait)
      return err;
    lg_blocking_waits(1);
  }
  LG_BEGIN_BLOCKING
  err = sendloop(fd, data, len, sent, tm);
  LG_END_BLOCKING
  return err;
}


/* Sends 'len' bytes of 'data' on 's' as 'o' says: the IO_* result;
** '*sent' counts what went. Holds wlock for the whole call. */
static int dosend (Obj *o, int fd, const char *data, size_t len,
                   size_t *sent) {
  Sock *s = o->s;
  int err = IO_DONE;
  int policy = lg_gil_getpolicy(lg_interp_current(), NULL);
  int priority = len > 0 && policy == LG_POLICY_PRIORITY_IO;
  int quick = priority && lg_usable_cpus() < 2;  /* see sendfree */
  Tm tm;
  lg_sock_tmstart(&tm, o);
  lg_mutex_take(&s->wlock);
  if (priority && !quick) {
    /* Under priority-io a send that need not wait keeps the GIL: giving
    ** it up would put us behind a CPU-bound thread for a whole interval
    ** (the convoy effect), and the peer we wake gets the GIL promptly
    ** anyway, by its own priority. Only a send that must wait goes on.
    ** Not on one CPU: there the peer we wake runs on ours, finds the GIL
    ** held, and sleeps again until we let go (issue 17: two context
    ** switches more a round trip, 44,000 round trips/s alone where the
    ** free send makes 70,000). */
    err = sendloop(fd, data, len, sent, NULL);
    if (err == IO_TIMEOUT && !tm.nowait)
      err = IO_DONE;  /* the rest goes on below */
    else
      len = 0;  /* done, failed, or may not wait */
  }
  if (*sent < len) {
    /* The send itself runs without the GIL, as CPython's does: it wakes
    ** the peer's thread at once, which then finds the GIL free instead
    ** of queueing behind us (the convoy workload's round trips). */
    char small[4096], *copy = small;
    size_t done = *sent, more = 0;
    len -= done;
    if (len > sizeof small && (copy = (char *)malloc(len)) == NULL) {
      lg_check(pthread_mutex_unlock(&s->wlock));
      return ENOMEM;
    }
    memcpy(copy, data + done, len);
    err = sendfree(fd, copy, len, &more, &tm, quick);
    if (copy != small)
      free(copy);
    *sent = done + more;
  }
  lg_check(pthread_mutex_unlock(&s->wlock));
  return err;
}


/* client:send(data [, i [, j]]) -> last | nil, err, last */
static int tcp_send (lua_State *L) {
  Obj *o = checkclient(L);
  Sock *s = o->s;  /* o->s is NULL after a __gc by hand while we wait */
  size_t size, sent = 0;
  const char *data = luaL_checklstring(L, 2, &size);
  lua_Integer i = optindex(L, 3, 1);
  lua_Integer j = optindex(L, 4, -1);
  int err, fd;
  if (i < 0) i = (lua_Integer)size + i + 1;
  if (i < 1) i = 1;
  if (j < 0) j = (lua_Integer)size + j + 1;
  if (j > (lua_Integer)size) j = (lua_Integer)size;
  if (o->closed || (fd = lg_sock_enter(s)) < 0)
    err = IO_CLOSED;
  else {
    size_t len = i <= j ? (size_t)(j - i + 1) : 0;
    err = dosend(o, fd, data + i - 1, len, &sent);
    lg_sock_leave(s);
  }
  o->nsent += (double)sent;
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err == ENOMEM)
    return luaL_error(L, "not enough memory");
  if (err == IO_DONE) {
    lua_pushnumber(L, (lua_Number)((lua_Integer)sent + i - 1));
    lua_pushnil(L);
    lua_pushnil(L);
  }
  else {
    lua_pushnil(L);
    lua_pushstring(L, lg_sock_errstr(err));
    lua_pushnumber(L, (lua_Number)((lua_Integer)sent + i - 1));
  }
  return 3;
}


/* }==================================================================== */


/* {====================================================================
** Connecting, binding, accepting
** =====================================================================*/

/* sock:connect(address, port) -> 1 | nil, err; sock becomes a client
** when it connected or is still connecting (a timeout), as LuaSocket's
** does for non-blocking connects */
static int tcp_connect (lua_State *L) {
  Obj *o = checktcp(L);
  Addr a;
  int n;
  lg_inet_addrargs(L, &a, 2, NULL);
  a.socktype = SOCK_STREAM;
  a.family = o->family;
  lg_sock_tmstart(&a.tm, o);
  n = lg_inet_runaddr(L, o, &a);
  if (n == 1 || a.err == IO_TIMEOUT)
    lg_sock_setclass(L, 1, TCP_CLIENT);
  return n;
}


/* master:bind(address, port) -> 1 | nil, err */
static int tcp_bind (lua_State *L) {
  Obj *o = checkmaster(L);
  Addr a;
  lg_inet_addrargs(L, &a, 2, NULL);
  a.socktype = SOCK_STREAM;
  a.passive = 1;
  a.family = o->family;
  return lg_inet_runaddr(L, o, &a);
}


/* master:listen([backlog]) -> 1 | nil, err */
static int tcp_listen (lua_State *L) {
  Obj *o = checkmaster(L);
  lua_Number n = luaL_optnumber(L, 2, BACKLOG);
  int fd, r;
  luaL_argcheck(L, n <= INT_MAX, 2, "backlog out of range");
  if (o->closed || (fd = lg_sock_enter(o->s)) < 0)
    return lg_sock_pusherr(L, EBADF);
  r = listen(fd, n < 0 ? 0 : (int)n) == 0 ? 0 : errno;  /* NaN: 0 */
  lg_sock_leave(o->s);
  if (r != 0)
    return lg_sock_pusherr(L, r);
  lg_sock_setclass(L, 1, TCP_SERVER);
  return lg_sock_pushone(L);
}


/* Accepts on 'fd' as 'o' says: the new descriptor, or -1 and the IO_*
** result in '*err'. */
static int doaccept (Obj *o, int fd, int *err) {
  int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  Tm tm;
  *err = c >= 0 ? IO_DONE : errno;
  if (c >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
    return c;
  lg_sock_tmstart(&tm, o);
  if (tm.nowait) {
    *err = IO_TIMEOUT;
    return -1;
  }
  lg_blocking_waits(1);  /* accept said EAGAIN: priority-io's waiting */
  LG_BEGIN_BLOCKING
  for (;;) {
    c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR && errno != ECONNABORTED)) {
      *err = c >= 0 ? IO_DONE : errno;
      break;
    }
    if ((*err = lg_sock_wait(fd, POLLIN, &tm)) != IO_DONE)
      break;
  }
  LG_END_BLOCKING
  return c;
}


/* server:accept() -> client | nil, err */
static int tcp_accept (lua_State *L) {
  Obj *o = checkserver(L);
  Sock *s = o->s;  /* o->s is NULL after a __gc by hand while we wait */
  Obj *client = lg_sock_new(L, TCP_CLIENT, o->family, -1, BUFSIZE);
  int fd, c, err, closing;
  if (o->closed || (fd = lg_sock_enter(s)) < 0)
    return lg_sock_pusherr(L, IO_CLOSED);
  c = doaccept(o, fd, &err);
  closing = lg_sock_isclosing(s);
  lg_sock_leave(s);  /* s may be freed now */
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err != IO_DONE) {
    if (err == EINVAL && closing)  /* shut down by close() */
      err = IO_CLOSED;
    return lg_sock_pusherr(L, err);
  }
  client->s->fd = c;  /* no other thread knows it yet */
  client->birthday = lg_clock();
  return 1;
}


/* sock:getsockname() -> address, port, family | nil, err */
static int tcp_getsockname (lua_State *L) {
  return lg_inet_pushname(L, checktcp(L), 0);
}


/* sock:getpeername() -> address, port, family | nil, err */
static int tcp_getpeername (lua_State *L) {
  return lg_inet_pushname(L, checktcp(L), 1);
}


/* }==================================================================== */


/* {====================================================================
** Statistics, shutdown
** =====================================================================*/

/* client:getstats() -> received, sent, age */
static int tcp_getstats (lua_State *L) {
  Obj *o = checkclient(L);
  lua_pushnumber(L, o->nrecv);
  lua_pushnumber(L, o->nsent);
  lua_pushnumber(L, lg_clock() - o->birthday);
  return 3;
}


/* client:setstats([received [, sent [, age]]]) -> 1 */
static int tcp_setstats (lua_State *L) {
  Obj *o = checkclient(L);
  o->nrecv = luaL_optnumber(L, 2, o->nrecv);
  o->nsent = luaL_optnumber(L, 3, o->nsent);
  if (!lua_isnoneornil(L, 4))
    o->birthday = lg_clock() - luaL_checknumber(L, 4);
  return lg_sock_pushone(L);
}


/* client:shutdown(["both" | "send" | "receive"]) -> 1 */
static int tcp_shutdown (lua_State *L) {
  static const char *const names[] = {"receive", "send", "both", NULL};
  static const int how[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  Obj *o = checkclient(L);
  int k = luaL_checkoption(L, 2, "both", names), fd;
  if (!o->closed && (fd = lg_sock_enter(o->s)) >= 0) {
    shutdown(fd, how[k]);
    lg_sock_leave(o->s);
  }
  return lg_sock_pushone(L);
}


/* }==================================================================== */


/* {====================================================================
** Module functions
** =====================================================================*/

/* A new master of 'family' with a descriptor (unless AF_UNSPEC): the
** object, or nil and the error. */
static int newmaster (lua_State *L, int family) {
  int fd = -1;
  if (family != AF_UNSPEC) {
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return lg_sock_pusherr(L, errno);
    if (family == AF_INET6) {
      int yes = 1;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes);
    }
  }
  lg_sock_new(L, TCP_MASTER, family, fd, BUFSIZE);
  return 1;
}


/* socket.tcp() -> master (without a descriptor until bind or connect) */
static int socket_tcp (lua_State *L) {
  return newmaster(L, AF_UNSPEC);
}


/* socket.tcp4() -> master | nil, err */
static int socket_tcp4 (lua_State *L) {
  return newmaster(L, AF_INET);
}


/* socket.tcp6() -> master | nil, err */
static int socket_tcp6 (lua_State *L) {
  return newmaster(L, AF_INET6);
}


/* socket.socketpair() -> client, client (AF_UNIX stream sockets) */
static int socket_socketpair (lua_State *L) {
  int fds[2];
  /* The objects first: a memory error then leaks no descriptor. */
  Obj *a = lg_sock_new(L, TCP_CLIENT, AF_UNIX, -1, BUFSIZE);
  Obj *b = lg_sock_new(L, TCP_CLIENT, AF_UNIX, -1, BUFSIZE);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                 fds) != 0)
    return lg_sock_pusherr(L, errno);
  a->s->fd = fds[0];  /* no other thread knows them yet */
  b->s->fd = fds[1];
  return 2;
}


/* socket.connect(address, port [, locaddr [, locport [, family]]])
** -> client | nil, err */
static int socket_connect (lua_State *L) {
  int family = lg_inet_checkfamily(L, 5), top;
  Addr remote, local;
  Obj *o;
  lg_inet_addrargs(L, &remote, 1, NULL);
  if (!lua_isnoneornil(L, 3))
    lg_inet_addrargs(L, &local, 3, "0");
  lua_settop(L, 3);  /* 3: locaddr */
  o = lg_sock_new(L, TCP_MASTER, family, -1, BUFSIZE);
  lua_replace(L, 1);  /* 1: the object */
  top = lua_gettop(L);
  if (!lua_isnil(L, 3)) {
    local.socktype = SOCK_STREAM;
    local.passive = 1;
    local.family = family;
    if (lg_inet_runaddr(L, o, &local) != 1) {
      lg_sock_close(o->s);
      o->closed = 1;
      return 2;
    }
    lua_settop(L, top);
  }
  remote.socktype = SOCK_STREAM;
  remote.family = o->family;
  lg_sock_tmstart(&remote.tm, o);
  if (lg_inet_runaddr(L, o, &remote) != 1) {
    lg_sock_close(o->s);
    o->closed = 1;
    return 2;
  }
  lg_sock_setclass(L, 1, TCP_CLIENT);
  lua_settop(L, 1);
  return 1;
}


static const luaL_Reg tcp_funcs[] = {
  {"connect", socket_connect},
  {"socketpair", socket_socketpair},
  {"tcp", socket_tcp},
  {"tcp4", socket_tcp4},
  {"tcp6", socket_tcp6},
  {NULL, NULL}
};


static const luaL_Reg tcp_methods[] = {
  {"accept", tcp_accept},
  {"bind", tcp_bind},
  {"connect", tcp_connect},
  {"getpeername", tcp_getpeername},
  {"getsockname", tcp_getsockname},
  {"getstats", tcp_getstats},
  {"listen", tcp_listen},
  {"receive", tcp_receive},
  {"send", tcp_send},
  {"setpeername", tcp_connect},
  {"setsockname", tcp_bind},
  {"setstats", tcp_setstats},
  {"shutdown", tcp_shutdown},
  {NULL, NULL}
};


void lg_sock_open_tcp (lua_State *L) {
  static const int classes[] = {TCP_MASTER, TCP_CLIENT, TCP_SERVER};
  luaL_newlib(L, tcp_methods);
  lg_sock_common(L, TCP_ANY);
  lg_sock_options(L, 0, TCP_ANY);
  for (int k = 0; k < 3; k++)
    lg_sock_newclass(L, classes[k], TCP_ANY);
  lua_pop(L, 1);
  luaL_setfuncs(L, tcp_funcs, 0);
}

/* }==================================================================== */
