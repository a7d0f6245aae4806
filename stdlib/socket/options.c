/*
** stdlib/socket/options.c -- setoption and getoption of the 'socket.core'
** module's tcp and udp objects: LuaSocket's option names, values and
** results ("setsockopt failed", ``unsupported option `X'``).
** See LICENSE for copyright and licence (MIT).
**
** An option is a row of a table: its name, the setsockopt level and name,
** the kind of its value, and whether getoption reads it (some options
** LuaSocket only sets). No option call can block: each runs with the GIL,
** between its Sock's enter and leave.
*/

#include <errno.h>
#include <math.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "socket.h"


enum { BOOL, INT, LINGER, ERROR, MCASTIF, MEMBER4, MEMBER6 };
enum { SET = 1, GET = 2, BOTH = 3 };

typedef struct Opt {
  const char *name;
  int level, optname;
  int kind;
  int use;                 /* SET, GET or BOTH */
} Opt;

static const Opt tcpopts[] = {
  {"keepalive", SOL_SOCKET, SO_KEEPALIVE, BOOL, BOTH},
  {"reuseaddr", SOL_SOCKET, SO_REUSEADDR, BOOL, BOTH},
  {"reuseport", SOL_SOCKET, SO_REUSEPORT, BOOL, BOTH},
  {"tcp-nodelay", IPPROTO_TCP, TCP_NODELAY, BOOL, BOTH},
  {"tcp-keepidle", IPPROTO_TCP, TCP_KEEPIDLE, INT, BOTH},
  {"tcp-keepcnt", IPPROTO_TCP, TCP_KEEPCNT, INT, BOTH},
  {"tcp-keepintvl", IPPROTO_TCP, TCP_KEEPINTVL, INT, BOTH},
  {"linger", SOL_SOCKET, SO_LINGER, LINGER, BOTH},
  {"error", SOL_SOCKET, SO_ERROR, ERROR, GET},
  {"recv-buffer-size", SOL_SOCKET, SO_RCVBUF, INT, BOTH},
  {"send-buffer-size", SOL_SOCKET, SO_SNDBUF, INT, BOTH},
  {"ipv6-v6only", IPPROTO_IPV6, IPV6_V6ONLY, BOOL, SET},
  {"tcp-defer-accept", IPPROTO_TCP, TCP_DEFER_ACCEPT, INT, SET},
  {"tcp-fastopen", IPPROTO_TCP, TCP_FASTOPEN, INT, SET},
  {"tcp-fastopen-connect", IPPROTO_TCP, TCP_FASTOPEN_CONNECT, INT, SET},
  {NULL, 0, 0, 0, 0}
};

static const Opt udpopts[] = {
  {"dontroute", SOL_SOCKET, SO_DONTROUTE, BOOL, BOTH},
  {"broadcast", SOL_SOCKET, SO_BROADCAST, BOOL, BOTH},
  {"reuseaddr", SOL_SOCKET, SO_REUSEADDR, BOOL, BOTH},
  {"reuseport", SOL_SOCKET, SO_REUSEPORT, BOOL, BOTH},
  {"ip-multicast-if", IPPROTO_IP, IP_MULTICAST_IF, MCASTIF, BOTH},
  {"ip-multicast-ttl", IPPROTO_IP, IP_MULTICAST_TTL, INT, SET},
  {"ip-multicast-loop", IPPROTO_IP, IP_MULTICAST_LOOP, BOOL, BOTH},
  {"ip-add-membership", IPPROTO_IP, IP_ADD_MEMBERSHIP, MEMBER4, SET},
  {"ip-drop-membership", IPPROTO_IP, IP_DROP_MEMBERSHIP, MEMBER4, SET},
  {"ipv6-unicast-hops", IPPROTO_IPV6, IPV6_UNICAST_HOPS, INT, BOTH},
  {"ipv6-multicast-hops", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, INT, BOTH},
  {"ipv6-multicast-loop", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, BOOL, BOTH},
  {"ipv6-add-membership", IPPROTO_IPV6, IPV6_JOIN_GROUP, MEMBER6, SET},
  {"ipv6-drop-membership", IPPROTO_IPV6, IPV6_LEAVE_GROUP, MEMBER6, SET},
  {"ipv6-v6only", IPPROTO_IPV6, IPV6_V6ONLY, BOOL, BOTH},
  {"recv-buffer-size", SOL_SOCKET, SO_RCVBUF, INT, BOTH},
  {"send-buffer-size", SOL_SOCKET, SO_SNDBUF, INT, BOTH},
  {"error", SOL_SOCKET, SO_ERROR, ERROR, GET},
  {NULL, 0, 0, 0, 0}
};


/* The option named at 2 that 'use' allows, or an error. */
static const Opt *checkopt (lua_State *L, const Opt *opts, int use) {
  const char *name = luaL_checkstring(L, 2);
  for (; opts->name != NULL; opts++)
    if ((opts->use & use) && strcmp(opts->name, name) == 0)
      return opts;
  luaL_argerror(L, 2, lua_pushfstring(L, "unsupported option `%s'", name));
  return NULL;
}


/* The object at 1 (classes in upvalue 2) and its options (upvalue 1). */
static Obj *checkself (lua_State *L, const Opt **opts) {
  int classes = (int)lua_tointeger(L, lua_upvalueindex(2));
  *opts = lua_toboolean(L, lua_upvalueindex(1)) ? udpopts : tcpopts;
  return lg_sock_check(L, 1, classes, lg_sock_clsname(classes));
}


/* {====================================================================
** setoption
** =====================================================================*/

/* A string field 'f' of the table at 3, as an IPv4 address ("*": any). */
static struct in_addr addrfield (lua_State *L, const char *f) {
  struct in_addr a;
  const char *s;
  if (lua_getfield(L, 3, f) != LUA_TSTRING)
    luaL_argerror(L, 3, lua_pushfstring(L, "string '%s' field expected",
                                        f));
  s = lua_tostring(L, -1);
  if (strcmp(s, "*") == 0)
    a.s_addr = htonl(INADDR_ANY);
  else if (inet_pton(AF_INET, s, &a) != 1)
    luaL_argerror(L, 3, lua_pushfstring(L, "invalid '%s' ip address", f));
  lua_pop(L, 1);
  return a;
}


/* The value at 3 for option 'o', in '*v' (room for any kind); returns
** its size. */
static socklen_t checkvalue (lua_State *L, const Opt *o, void *v) {
  switch (o->kind) {
    case BOOL: {
      luaL_checktype(L, 3, LUA_TBOOLEAN);
      *(int *)v = lua_toboolean(L, 3);
      return sizeof(int);
    }
    case INT: {
      lua_Number n = luaL_checknumber(L, 3);
      luaL_argcheck(L, n >= -2147483648.0 && n <= 2147483647.0, 3,
                    "value out of range");
      *(int *)v = (int)n;
      return sizeof(int);
    }
    case LINGER: {
      struct linger *li = (struct linger *)v;
      lua_Number t;
      luaL_checktype(L, 3, LUA_TTABLE);
      if (lua_getfield(L, 3, "on") != LUA_TBOOLEAN)
        luaL_argerror(L, 3, "boolean 'on' field expected");
      li->l_onoff = lua_toboolean(L, -1);
      if (lua_getfield(L, 3, "timeout") != LUA_TNUMBER)
        luaL_argerror(L, 3, "number 'timeout' field expected");
      t = lua_tonumber(L, -1);
      luaL_argcheck(L, t >= 0 && t <= 2147483647.0, 3,
                    "'timeout' out of range");
      li->l_linger = (int)t;
      lua_pop(L, 2);
      return sizeof *li;
    }
    case MCASTIF: {
      struct in_addr *a = (struct in_addr *)v;
      const char *s = luaL_checkstring(L, 3);
      if (strcmp(s, "*") == 0)
        a->s_addr = htonl(INADDR_ANY);
      else if (inet_pton(AF_INET, s, a) != 1)
        luaL_argerror(L, 3, "ip expected");
      return sizeof *a;
    }
    case MEMBER4: {
      struct ip_mreq *m = (struct ip_mreq *)v;
      luaL_checktype(L, 3, LUA_TTABLE);
      m->imr_multiaddr = addrfield(L, "multiaddr");
      m->imr_interface = addrfield(L, "interface");
      return sizeof *m;
    }
    default: {  /* MEMBER6 */
      struct ipv6_mreq *m = (struct ipv6_mreq *)v;
      lua_Number n;
      luaL_checktype(L, 3, LUA_TTABLE);
      if (lua_getfield(L, 3, "multiaddr") != LUA_TSTRING)
        luaL_argerror(L, 3, "string 'multiaddr' field expected");
      if (inet_pton(AF_INET6, lua_tostring(L, -1),
                    &m->ipv6mr_multiaddr) != 1)
        luaL_argerror(L, 3, "invalid 'multiaddr' ip address");
      if (lua_getfield(L, 3, "interface") != LUA_TNUMBER)
        luaL_argerror(L, 3, "number 'interface' field expected");
      n = lua_tonumber(L, -1);
      luaL_argcheck(L, n >= 0 && n <= 4294967295.0, 3,
                    "'interface' out of range");
      m->ipv6mr_interface = (unsigned)n;
      lua_pop(L, 2);
      return sizeof *m;
    }
  }
}


/* sock:setoption(name, value) -> 1 | nil, "setsockopt failed" */
static int sock_setoption (lua_State *L) {
  union {
    int i;
    struct linger li;
    struct in_addr a;
    struct ip_mreq m4;
    struct ipv6_mreq m6;
  } v;
  const Opt *opts;
  Obj *o = checkself(L, &opts);
  const Opt *opt = checkopt(L, opts, SET);
  socklen_t len = checkvalue(L, opt, &v);
  int fd, r = -1;
  if (!o->closed && (fd = lg_sock_enter(o->s)) >= 0) {
    r = setsockopt(fd, opt->level, opt->optname, &v, len);
    lg_sock_leave(o->s);
  }
  if (r != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "setsockopt failed");
    return 2;
  }
  return lg_sock_pushone(L);
}


/* }==================================================================== */


/* {====================================================================
** getoption
** =====================================================================*/

/* Pushes the value 'v' of option 'o' as LuaSocket does. */
static int pushvalue (lua_State *L, const Opt *o, const void *v) {
  switch (o->kind) {
    case BOOL:
      lua_pushboolean(L, *(const int *)v != 0);
      return 1;
    case INT:
      lua_pushnumber(L, *(const int *)v);
      return 1;
    case LINGER: {
      const struct linger *li = (const struct linger *)v;
      lua_createtable(L, 0, 2);
      lua_pushboolean(L, li->l_onoff);
      lua_setfield(L, -2, "on");
      lua_pushinteger(L, li->l_linger);
      lua_setfield(L, -2, "timeout");
      return 1;
    }
    case ERROR: {
      int err = *(const int *)v;
      if (err == 0)
        lua_pushnil(L);
      else
        lua_pushstring(L, lg_sock_errstr(err));
      return 1;
    }
    default: {  /* MCASTIF */
      char s[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, v, s, sizeof s);
      lua_pushstring(L, s);
      return 1;
    }
  }
}


/* sock:getoption(name) -> value | nil, "getsockopt failed" */
static int sock_getoption (lua_State *L) {
  union {
    int i;
    struct linger li;
    struct in_addr a;
  } v;
  const Opt *opts;
  Obj *o = checkself(L, &opts);
  const Opt *opt = checkopt(L, opts, GET);
  socklen_t len = sizeof v;
  int fd, r = -1;
  memset(&v, 0, sizeof v);
  if (!o->closed && (fd = lg_sock_enter(o->s)) >= 0) {
    r = getsockopt(fd, opt->level, opt->optname, &v, &len);
    lg_sock_leave(o->s);
  }
  if (r != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "getsockopt failed");
    return 2;
  }
  return pushvalue(L, opt, &v);
}


/* }==================================================================== */


/* Adds setoption and getoption to the methods table on top. */
void lg_sock_options (lua_State *L, int udp, int classes) {
  lua_pushboolean(L, udp);
  lua_pushinteger(L, classes);
  lua_pushcclosure(L, sock_setoption, 2);
  lua_setfield(L, -2, "setoption");
  lua_pushboolean(L, udp);
  lua_pushinteger(L, classes);
  lua_pushcclosure(L, sock_getoption, 2);
  lua_setfield(L, -2, "getoption");
}
