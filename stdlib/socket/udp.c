/*
** stdlib/socket/udp.c -- the 'socket.core' module's udp objects:
** setsockname, setpeername, send, sendto, receive, receivefrom; and the
** module functions that make one (udp, udp4, udp6).
** See LICENSE for copyright and licence (MIT).
**
** The objects, their Sock and the rules a call follows are in socket.c;
** a udp object has no receive buffer and no rlock or wlock: a datagram
** goes whole, so calls from several threads do not mix. A datagram is
** received into C memory of the caller (its stack, or malloc'd for one
** over _DATAGRAMSIZE), never into Lua's.
*/

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"
#include "socket.h"
#include "waitq.h"


#define checkudp(L)  lg_sock_check(L, 1, UDP_ANY, "udp{any}")
#define checkconnected(L) \
  lg_sock_check(L, 1, UDP_CONNECTED, "udp{connected}")
#define checkunconnected(L) \
  lg_sock_check(L, 1, UDP_UNCONNECTED, "udp{unconnected}")


/* A send ended by a close() in another thread: "closed", not the
** "refused" of a datagram the network did not take. */
#define CLOSEDNOW  (IO_INTR - 1)


/* LuaSocket's words: a "closed" datagram socket was refused. */
static const char *udperr (int err) {
  return err == IO_CLOSED ? "refused" : lg_sock_errstr(err);
}


static int pushudperr (lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushstring(L, udperr(err));
  return 2;
}


/* {====================================================================
** Receiving
** =====================================================================*/

typedef struct Dgram {
  int fd;
  char *buf;
  size_t size;
  ssize_t got;
  struct sockaddr_storage from;
  socklen_t fromlen;
} Dgram;


/* One recvfrom: IO_DONE, IO_TIMEOUT (it would block) or an error. */
static int recv1 (Dgram *d) {
  for (;;) {
    d->fromlen = sizeof d->from;
    d->got = recvfrom(d->fd, d->buf, d->size, MSG_DONTWAIT,
                      (struct sockaddr *)&d->from, &d->fromlen);
    if (d->got >= 0)
      return IO_DONE;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return IO_TIMEOUT;
    if (errno != EINTR)
      return errno;
  }
}


/*
** Receives one datagram as 'o' says, trying first with the GIL. A close()
** by another thread shuts the socket down, which wakes the wait but need
** not make recv fail (it may even say EAGAIN for ever after): so a wait
** that ends looks at 'closing' first.
*/
static int dorecv (Obj *o, Dgram *d) {
  Sock *s = o->s;
  int err = recv1(d);
  Tm tm;
  if (err != IO_TIMEOUT)
    return err;
  lg_sock_tmstart(&tm, o);
  if (tm.nowait)
    return IO_TIMEOUT;
  lg_blocking_waits(1);  /* recv said EAGAIN: priority-io's waiting */
  LG_BEGIN_BLOCKING
  while ((err = lg_sock_wait(d->fd, POLLIN, &tm)) == IO_DONE) {
    if (lg_sock_isclosing(s)) {
      err = IO_CLOSED;
      break;
    }
    if ((err = recv1(d)) != IO_TIMEOUT)
      break;
  }
  LG_END_BLOCKING
  return err;
}


/* Receives into 'd' for the object at 1 (size at 2); pushes nil, err and
** returns 2 on failure, else returns 0 with the datagram in 'd'. */
static int receive (lua_State *L, Obj *o, Dgram *d, char *small) {
  lua_Number n = luaL_optnumber(L, 2, DATAGRAMSIZE);
  Sock *s = o->s;  /* o->s is NULL after a __gc by hand while we wait */
  int err;
  luaL_argcheck(L, n >= 0 && n < 1e15, 2, "invalid receive size");
  d->size = (size_t)n;
  d->buf = small;
  if (o->closed || (d->fd = lg_sock_enter(s)) < 0)
    return lg_sock_pusherr(L, IO_CLOSED);
  if (d->size > DATAGRAMSIZE &&
      (d->buf = (char *)malloc(d->size)) == NULL) {
    lg_sock_leave(s);
    return lg_sock_pusherr(L, ENOMEM);
  }
  err = dorecv(o, d);
  if (err != IO_DONE && lg_sock_isclosing(s))
    err = IO_CLOSED;
  lg_sock_leave(s);
  if (err != IO_DONE) {
    if (d->buf != small)
      free(d->buf);
    if (err == IO_INTR)
      return lg_breaker_raise_interrupt(L);
    return lg_sock_pusherr(L, err);  /* closed: "closed" */
  }
  lua_pushlstring(L, d->buf, (size_t)d->got);
  if (d->buf != small)
    free(d->buf);
  return 0;
}


/* udp:receive([size]) -> datagram | nil, err */
static int udp_receive (lua_State *L) {
  char small[DATAGRAMSIZE];
  Dgram d;
  int n = receive(L, checkudp(L), &d, small);
  return n != 0 ? n : 1;
}


/* udp:receivefrom([size]) -> datagram, address, port | nil, err */
static int udp_receivefrom (lua_State *L) {
  char small[DATAGRAMSIZE];
  Dgram d;
  int n = receive(L, checkudp(L), &d, small);
  if (n != 0)
    return n;
  if (lg_inet_pushaddr(L, &d.from, d.fromlen, 0) == 2)
    return 2;
  lua_pop(L, 1);  /* the family */
  return 3;
}


/* }==================================================================== */


/* {====================================================================
** Sending
** =====================================================================*/

/* One sendto ('sa' NULL: send) on 's' as 'tm' says, without the GIL. */
static int send1 (Sock *s, int fd, const char *data, size_t len,
                  const struct sockaddr_storage *sa, socklen_t salen,
                  const Tm *tm, size_t *sent) {
  for (;;) {
    ssize_t n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)sa, sa ? salen : 0);
    int err;
    if (n >= 0) {
      *sent = (size_t)n;
      return IO_DONE;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return lg_sock_ioerr(errno);
    if ((err = lg_sock_wait(fd, POLLOUT, tm)) != IO_DONE)
      return err;
    if (lg_sock_isclosing(s))
      return IO_CLOSED;
  }
}


/* Pushes the result of a send: the bytes sent (a float) or nil, err. */
static int sendresult (lua_State *L, int err, size_t sent) {
  if (err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (err == CLOSEDNOW)
    return lg_sock_pusherr(L, IO_CLOSED);
  if (err == ENOMEM)
    return luaL_error(L, "not enough memory");
  if (err != IO_DONE)
    return pushudperr(L, err);
  lua_pushnumber(L, (lua_Number)sent);
  return 1;
}


/* A copy of 'len' bytes of 'data' in C memory: 'small' or malloc'd. */
static char *copyout (const char *data, size_t len, char *small) {
  char *copy = len > DATAGRAMSIZE ? (char *)malloc(len) : small;
  if (copy != NULL)
    memcpy(copy, data, len);
  return copy;
}


/* connected:send(datagram) -> sent | nil, err */
static int udp_send (lua_State *L) {
  Obj *o = checkconnected(L);
  Sock *s = o->s;
  size_t len, sent = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  char small[DATAGRAMSIZE], *copy;
  int fd, err;
  Tm tm;
  if (o->closed || (fd = lg_sock_enter(s)) < 0)
    return lg_sock_pusherr(L, IO_CLOSED);
  if ((copy = copyout(data, len, small)) == NULL)
    err = ENOMEM;
  else {
    lg_sock_tmstart(&tm, o);
    LG_BEGIN_BLOCKING
    err = send1(s, fd, copy, len, NULL, 0, &tm, &sent);
    LG_END_BLOCKING
    if (copy != small)
      free(copy);
  }
  if (err != IO_DONE && lg_sock_isclosing(s))
    err = CLOSEDNOW;
  lg_sock_leave(s);
  return sendresult(L, err, sent);
}


/* unconnected:sendto(datagram, address, port) -> sent | nil, err */
static int udp_sendto (lua_State *L) {
  Obj *o = checkunconnected(L);
  Sock *s = o->s;
  size_t len, sent = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  char small[DATAGRAMSIZE], *copy;
  struct sockaddr_storage sa;
  socklen_t salen = 0;
  Addr a;
  int err;
  lg_inet_addrargs(L, &a, 3, NULL);
  if (o->closed || (a.fd = lg_sock_hold(s)) == -2)
    return lg_sock_pusherr(L, IO_CLOSED);
  a.s = s;
  a.socktype = SOCK_DGRAM;
  a.family = o->family;
  lg_sock_tmstart(&a.tm, o);
  if ((copy = copyout(data, len, small)) == NULL)
    a.err = ENOMEM;
  else {
    LG_BEGIN_BLOCKING
    lg_inet_resolve(&a, &sa, &salen);
    if (a.err == 0)
      a.err = send1(s, a.fd, copy, len, &sa, salen, &a.tm, &sent);
    LG_END_BLOCKING
    if (copy != small)
      free(copy);
  }
  err = a.err;
  if (err != IO_DONE && lg_sock_isclosing(s))
    err = CLOSEDNOW;
  lg_sock_leave(s);
  if (a.fd >= 0)
    o->family = a.family;
  if (err == EINVAL && a.gai != 0) {
    lua_pushnil(L);
    lua_pushstring(L, lg_inet_gaierr(a.gai));
    return 2;
  }
  return sendresult(L, err, sent);
}


/* }==================================================================== */


/* {====================================================================
** Names
** =====================================================================*/

/* Dissolves the association of 'fd' (setpeername("*")). */
static int disconnect (int fd, int family) {
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  sa.ss_family = AF_UNSPEC;
  if (connect(fd, (struct sockaddr *)&sa, family == AF_INET6
                  ? sizeof(struct sockaddr_in6)
                  : sizeof(struct sockaddr_in)) != 0 &&
      errno != EAFNOSUPPORT)
    return errno;
  return 0;
}


/* udp:setpeername(address, port) -> 1 | nil, err; or
** udp:setpeername("*") -> 1 (unconnected again) */
static int udp_setpeername (lua_State *L) {
  Obj *o = checkudp(L);
  Addr a;
  int n;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "*")
      == 0) {
    int fd, err = 0;
    if (!o->closed && (fd = lg_sock_enter(o->s)) >= 0) {
      err = disconnect(fd, o->family);
      lg_sock_leave(o->s);
    }
    if (err != 0)
      return lg_sock_pusherr(L, err);
    lg_sock_setclass(L, 1, UDP_UNCONNECTED);
    return lg_sock_pushone(L);
  }
  lg_inet_addrargs(L, &a, 2, NULL);
  a.socktype = SOCK_DGRAM;
  a.family = o->family;
  lg_sock_tmstart(&a.tm, o);
  if ((n = lg_inet_runaddr(L, o, &a)) == 1)
    lg_sock_setclass(L, 1, UDP_CONNECTED);
  return n;
}


/* unconnected:setsockname(address, port) -> 1 | nil, err */
static int udp_setsockname (lua_State *L) {
  Obj *o = checkunconnected(L);
  Addr a;
  lg_inet_addrargs(L, &a, 2, NULL);
  a.socktype = SOCK_DGRAM;
  a.passive = 1;
  a.family = o->family;
  return lg_inet_runaddr(L, o, &a);
}


/* udp:getsockname() -> address, port, family | nil, err */
static int udp_getsockname (lua_State *L) {
  return lg_inet_pushname(L, checkudp(L), 0);
}


/* connected:getpeername() -> address, port, family | nil, err */
static int udp_getpeername (lua_State *L) {
  return lg_inet_pushname(L, checkconnected(L), 1);
}


/* }==================================================================== */


/* {====================================================================
** Module functions
** =====================================================================*/

/* A new unconnected object of 'family' with a descriptor (unless
** AF_UNSPEC): the object, or nil and the error. */
static int newudp (lua_State *L, int family) {
  int fd = -1;
  if (family != AF_UNSPEC) {
    fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return lg_sock_pusherr(L, errno);
    if (family == AF_INET6) {
      int yes = 1;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes);
    }
  }
  lg_sock_new(L, UDP_UNCONNECTED, family, fd, 0);
  return 1;
}


/* socket.udp() -> unconnected (without a descriptor until one is
** needed) */
static int socket_udp (lua_State *L) {
  return newudp(L, AF_UNSPEC);
}


/* socket.udp4() -> unconnected | nil, err */
static int socket_udp4 (lua_State *L) {
  return newudp(L, AF_INET);
}


/* socket.udp6() -> unconnected | nil, err */
static int socket_udp6 (lua_State *L) {
  return newudp(L, AF_INET6);
}


static const luaL_Reg udp_funcs[] = {
  {"udp", socket_udp},
  {"udp4", socket_udp4},
  {"udp6", socket_udp6},
  {NULL, NULL}
};


static const luaL_Reg udp_methods[] = {
  {"getpeername", udp_getpeername},
  {"getsockname", udp_getsockname},
  {"receive", udp_receive},
  {"receivefrom", udp_receivefrom},
  {"send", udp_send},
  {"sendto", udp_sendto},
  {"setpeername", udp_setpeername},
  {"setsockname", udp_setsockname},
  {NULL, NULL}
};


void lg_sock_open_udp (lua_State *L) {
  luaL_newlib(L, udp_methods);
  lg_sock_common(L, UDP_ANY);
  lg_sock_options(L, 1, UDP_ANY);
  lg_sock_newclass(L, UDP_UNCONNECTED, UDP_ANY);
  lg_sock_newclass(L, UDP_CONNECTED, UDP_ANY);
  lua_pop(L, 1);
  luaL_setfuncs(L, udp_funcs, 0);
}

/* }==================================================================== */
