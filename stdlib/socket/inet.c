/*
** stdlib/socket/inet.c -- the 'socket' module's addresses: host and port
** arguments, name resolution (getaddrinfo) and the connect or bind it
** leads to, and sockaddrs back to address, port and family.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
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

#include "socket.h"


/* Connects a non-blocking 'fd' to 'ai', waiting until the deadline. */
static int connect1 (int fd, struct addrinfo *ai,
                     const struct timespec *deadline, int intr) {
  int err = 0;
  socklen_t len = sizeof err;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return 0;
  if (errno != EINPROGRESS && errno != EINTR)
    return errno;
  err = lg_sock_waitfd(fd, POLLOUT, deadline, intr);
  if (err != IO_DONE)
    return err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return errno;
  return err;
}


/* Resolves and connects or binds (without the GIL); sets a->fd, a->err. */
void lg_inet_doaddr (Addr *a) {
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
      lg_sock_applyopts(fd, a->opts, a->optvals);
      if ((a->err = lg_sock_install(a->s, fd)) != IO_DONE) {
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
      lg_sock_settle(a->s, a->err == 0);
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
const char *lg_inet_checkhostport (lua_State *L, int arg) {
  size_t len;
  const char *host = luaL_checklstring(L, arg, &len);
  lua_Integer port = luaL_checkinteger(L, arg + 1);
  luaL_argcheck(L, strlen(host) == len, arg, "embedded null character");
  luaL_argcheck(L, port >= 0 && port <= 65535, arg + 1,
                "port must be 0-65535");
  return host;
}


/* Fills 'a' from host at 2 and port at 3 (copies, freed by freeaddr);
** raises on a bad argument, with nothing to free. */
void lg_inet_addrargs (lua_State *L, Addr *a, int passive) {
  const char *host = lg_inet_checkhostport(L, 2);
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


/* Pushes address, port, family of 'sa'; returns 3, or pusherr. */
int lg_inet_pushaddr (lua_State *L, struct sockaddr_storage *sa,
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
