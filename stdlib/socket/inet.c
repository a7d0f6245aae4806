/*
** stdlib/socket/inet.c -- the 'socket.core' module's addresses: address
** and port arguments, name resolution (getaddrinfo) and the connect or
** bind it leads to, and socket addresses back to address, port, family.
** See LICENSE for copyright and licence (MIT).
**
** As LuaSocket 3's, an object made by tcp() or udp() has no descriptor
** until its first connect or bind, which makes one of the family of the
** address it resolves to; tcp4(), tcp6(), udp4() and udp6() make theirs
** at once, and resolve only in their family. An inet6 descriptor is
** IPv6-only (IPV6_V6ONLY), as LuaSocket makes it.
*/

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "breaker.h"
#include "socket.h"
#include "waitq.h"


/* {====================================================================
** Names of things
** =====================================================================*/

const char *lg_inet_family (int family) {
  return family == AF_INET6 ? "inet6" : "inet";
}


/* LuaSocket's words for the getaddrinfo errors scripts meet. */
const char *lg_inet_gaierr (int gai) {
  switch (gai) {
    case EAI_AGAIN: return "temporary failure in name resolution";
    case EAI_BADFLAGS: return "invalid value for ai_flags";
    case EAI_FAIL: return "non-recoverable failure in name resolution";
    case EAI_FAMILY: return "ai_family not supported";
    case EAI_MEMORY: return "memory allocation failure";
    case EAI_NONAME: return "host or service not provided, or not known";
    case EAI_SERVICE: return "service not supported for socket type";
    case EAI_SOCKTYPE: return "ai_socktype not supported";
    case EAI_SYSTEM: return strerror(errno);
    default: return gai_strerror(gai);
  }
}


/* The family named at 'arg' (socket.connect's fifth argument). */
int lg_inet_checkfamily (lua_State *L, int arg) {
  static const char *const names[] = {"unspec", "inet", "inet6", NULL};
  static const int families[] = {AF_UNSPEC, AF_INET, AF_INET6};
  return families[luaL_checkoption(L, arg, "unspec", names)];
}


/* }==================================================================== */


/* {====================================================================
** Connecting and binding
** =====================================================================*/

/* A new non-blocking descriptor for 'ai', IPv6-only if inet6; -1 and
** errno if none. */
static int newfd (const struct addrinfo *ai, int socktype) {
  int fd = socket(ai->ai_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
  if (fd >= 0 && ai->ai_family == AF_INET6) {
    int yes = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes);
  }
  return fd;
}


/*
** Connects a non-blocking 'fd' to 'ai', waiting as 'tm' says: 0,
** IO_TIMEOUT (still connecting), IO_INTR or an errno. A connect that a
** signal interrupts (EINTR: the GIL's request signal, say) goes on in
** the kernel, and asking again says how it stands (EALREADY, EISCONN);
** and a descriptor that polls writable is connected only if it has a
** peer: one whose connect never began is writable too (seen under
** ThreadSanitizer, whose signals interrupt more calls).
*/
static int connect1 (int fd, const struct addrinfo *ai, const Tm *tm) {
  int err, again = 0;
  socklen_t len = sizeof err;
  struct sockaddr_storage peer;
  for (;;) {
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
        (again && errno == EISCONN))
      return 0;
    if (errno != EINTR)
      break;
    again = 1;
  }
  if (errno != EINPROGRESS && errno != EALREADY)
    return errno;
  for (;;) {
    err = lg_sock_wait(fd, POLLOUT, tm);
    if (err != IO_DONE)
      return err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      return errno;
    if (err != 0)
      return err;
    len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
      return 0;
    if (errno != ENOTCONN)
      return errno;
    /* Writable without a peer or an error: the connect did not begin,
    ** or is not done. Ask it again. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EISCONN)
      return 0;
    if (errno != EINPROGRESS && errno != EALREADY && errno != EINTR)
      return errno;
    len = sizeof err;
  }
}


/*
** Resolves and connects or binds, without the GIL: sets a->fd, a->err
** and a->family. A descriptor it made stays if it connected or bound, or
** is still connecting (a timeout); otherwise it goes, and the next
** address is tried.
*/
void lg_inet_doaddr (Addr *a) {
  struct addrinfo hints, *res, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = a->family;
  hints.ai_socktype = a->socktype;
  hints.ai_flags = a->passive ? AI_PASSIVE : 0;
  a->gai = getaddrinfo(a->anyhost ? NULL : a->host, a->port, &hints,
                       &res);
  if (a->gai != 0) {
    a->err = EINVAL;
    return;
  }
  a->err = EAFNOSUPPORT;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    int fd = a->fd, own = 0, keep;
    if (fd < 0) {
      if ((fd = newfd(ai, a->socktype)) < 0) {
        a->err = errno;
        continue;
      }
      own = 1;
      if ((a->err = lg_sock_install(a->s, fd)) != IO_DONE) {
        close(fd);
        break;
      }
    }
    if (a->passive)
      a->err = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    else
      a->err = connect1(fd, ai, &a->tm);
    if (a->err == 0 && a->passive && a->backlog >= 0 &&
        listen(fd, a->backlog) != 0)
      a->err = errno;
    keep = a->err == 0 || a->err == IO_TIMEOUT;
    if (own)
      lg_sock_settle(a->s, fd, keep);
    if (keep) {
      a->fd = fd;
      a->family = ai->ai_family;
      break;
    }
    if (a->err == IO_INTR || !own)
      break;
  }
  freeaddrinfo(res);
}


/*
** Resolves 'a' for a datagram, without the GIL, into '*sa': the first
** address of its family. If a->fd < 0 it makes a descriptor of that
** family and installs it for good. Sets a->err (a->gai), a->fd and
** a->family.
*/
void lg_inet_resolve (Addr *a, struct sockaddr_storage *sa,
                      socklen_t *salen) {
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = a->family;
  hints.ai_socktype = a->socktype;
  a->gai = getaddrinfo(a->anyhost ? NULL : a->host, a->port, &hints,
                       &res);
  if (a->gai != 0) {
    a->err = EINVAL;
    return;
  }
  memcpy(sa, res->ai_addr, res->ai_addrlen);
  *salen = res->ai_addrlen;
  a->err = 0;
  if (a->fd < 0) {
    int fd = newfd(res, a->socktype);
    if (fd < 0)
      a->err = errno;
    else if ((a->err = lg_sock_install(a->s, fd)) != IO_DONE)
      close(fd);
    else {
      lg_sock_settle(a->s, fd, 1);
      a->fd = fd;
      a->family = res->ai_family;
    }
  }
  freeaddrinfo(res);
}


/*
** Fills 'a' from the address at 'arg' and the port after it; raises on a
** bad argument. A port is a number or a string (a service name too); if
** 'portopt' is not NULL the port may be missing, and 'portopt' is used.
** "*" is any address.
*/
void lg_inet_addrargs (lua_State *L, Addr *a, int arg,
                       const char *portopt) {
  size_t len, plen;
  const char *host = luaL_checklstring(L, arg, &len), *port;
  char num[32];
  luaL_argcheck(L, strlen(host) == len, arg, "embedded null character");
  luaL_argcheck(L, len < sizeof a->host, arg, "address too long");
  if (lua_type(L, arg + 1) == LUA_TNUMBER) {
    /* Python's words for a port out of range, which getaddrinfo would
    ** wrap (70000 was port 4464). */
    lua_Number n = lua_tonumber(L, arg + 1);
    luaL_argcheck(L, n >= 0 && n <= 65535 && n == floor(n), arg + 1,
                  "port must be 0-65535");
    snprintf(num, sizeof num, "%d", (int)n);
    port = num;
  }
  else if (portopt != NULL && lua_isnoneornil(L, arg + 1))
    port = portopt;
  else {
    port = luaL_checklstring(L, arg + 1, &plen);
    luaL_argcheck(L, strlen(port) == plen, arg + 1,
                  "embedded null character");
  }
  luaL_argcheck(L, strlen(port) < sizeof a->port, arg + 1,
                "port too long");
  memset(a, 0, sizeof *a);
  a->fd = -1;
  a->backlog = -1;
  a->anyhost = strcmp(host, "*") == 0;
  memcpy(a->host, host, len + 1);
  strcpy(a->port, port);
}


/*
** Runs 'a' on object 'o' without the GIL, holding its Sock; pushes the
** results (1 | nil, err). A close() by another thread meanwhile makes
** the result "closed"; Ctrl-C raises.
*/
int lg_inet_runaddr (lua_State *L, Obj *o, Addr *a) {
  Sock *s = o->s;  /* o->s is NULL after a __gc by hand while we wait */
  int closed = o->closed || (a->fd = lg_sock_hold(s)) == -2;
  if (!closed) {
    a->s = s;
    if (a->family == AF_UNSPEC)
      a->family = o->family;
    LG_BEGIN_BLOCKING
    lg_inet_doaddr(a);
    LG_END_BLOCKING
    closed = lg_sock_isclosing(s);
    lg_sock_leave(s);
    if (!closed && (a->err == 0 || a->err == IO_TIMEOUT))
      o->family = a->family;
  }
  if (a->err == IO_INTR)
    return lg_breaker_raise_interrupt(L);
  if (closed)
    return lg_sock_pusherr(L, IO_CLOSED);
  if (a->err != 0) {
    lua_pushnil(L);
    lua_pushstring(L, a->gai != 0 ? lg_inet_gaierr(a->gai)
                                  : lg_sock_errstr(a->err));
    return 2;
  }
  return lg_sock_pushone(L);
}


/* }==================================================================== */


/* {====================================================================
** Addresses back
** =====================================================================*/

/* Pushes address, port (a string if 'portstring', else an integer) and
** family of 'sa'; returns 3, or 2 for nil, err. */
int lg_inet_pushaddr (lua_State *L, const struct sockaddr_storage *sa,
                      socklen_t len, int portstring) {
  char host[INET6_ADDRSTRLEN + 1], serv[16];
  int r;
  if (sa->ss_family != AF_INET && sa->ss_family != AF_INET6) {
    lua_pushnil(L);
    lua_pushliteral(L, "unsupported address family");
    return 2;
  }
  r = getnameinfo((const struct sockaddr *)sa, len, host, sizeof host,
                  serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
  if (r != 0) {
    lua_pushnil(L);
    lua_pushstring(L, lg_inet_gaierr(r));
    return 2;
  }
  lua_pushstring(L, host);
  if (portstring)
    lua_pushstring(L, serv);
  else
    lua_pushinteger(L, strtol(serv, NULL, 10));
  lua_pushstring(L, lg_inet_family(sa->ss_family));
  return 3;
}


/* What getsockname ('peer' false: port a string, as LuaSocket's) or
** getpeername (port an integer) returns for 'o'. */
int lg_inet_pushname (lua_State *L, Obj *o, int peer) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  int r, fd, err;
  if (o->closed || (fd = lg_sock_enter(o->s)) < 0)
    return lg_sock_pusherr(L, EBADF);
  r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
           : getsockname(fd, (struct sockaddr *)&sa, &len);
  err = errno;
  lg_sock_leave(o->s);
  if (r != 0)
    return lg_sock_pusherr(L, err);
  return lg_inet_pushaddr(L, &sa, len, !peer);
}

/* }==================================================================== */
