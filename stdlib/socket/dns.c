/*
** stdlib/socket/dns.c -- socket.dns: toip, tohostname, gethostname,
** getaddrinfo and getnameinfo, with LuaSocket's results, each lookup
** done with the GIL released (a resolver may wait for the network).
** See LICENSE for copyright and licence (MIT).
**
** Without the GIL a lookup must not use the resolver's static results,
** so toip and tohostname use the reentrant gethostbyname_r and
** gethostbyaddr_r into a buffer of the call. What a lookup finds is
** gathered in C memory, and pushed once the GIL is back.
*/

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "lglib.h"
#include "socket.h"
#include "waitq.h"


/* {====================================================================
** toip, tohostname
** =====================================================================*/

typedef struct Host {
  char name[NI_MAXHOST];   /* in */
  struct hostent h, *hp;   /* out: hp NULL if not found */
  char *buf;               /* what h points into (malloc'd) */
  int herr;                /* h_errno of a failure */
} Host;


/* Looks 'name' up, by address if it is an IPv4 one (as LuaSocket's,
** which then reports the host that address names), else by name.
** Without the GIL. */
static void lookup (Host *x) {
  struct in_addr a;
  size_t size = 1024;
  int r;
  x->hp = NULL;
  x->buf = NULL;
  for (;;) {
    char *b = (char *)realloc(x->buf, size);
    if (b == NULL) {
      x->herr = NO_RECOVERY;
      return;
    }
    x->buf = b;
    if (inet_aton(x->name, &a))
      r = gethostbyaddr_r(&a, sizeof a, AF_INET, &x->h, b, size, &x->hp,
                          &x->herr);
    else
      r = gethostbyname_r(x->name, &x->h, b, size, &x->hp, &x->herr);
    if (r != ERANGE || size > (1u << 20))
      break;
    size *= 2;
  }
  if (x->hp == NULL && x->herr == 0)
    x->herr = HOST_NOT_FOUND;
}


/* Pushes a list of strings (NULL-terminated) as an array. */
static void pushlist (lua_State *L, char **list, int family) {
  lua_newtable(L);
  for (int i = 0; list != NULL && list[i] != NULL; i++) {
    if (family != 0) {
      char s[INET6_ADDRSTRLEN];
      inet_ntop(family, list[i], s, sizeof s);
      lua_pushstring(L, s);
    }
    else
      lua_pushstring(L, list[i]);
    lua_rawseti(L, -2, i + 1);
  }
}


/* Copies the string at 'arg' into 'buf', for use without the GIL;
** returns 'buf', or NULL if 'opt' and the argument is nil. */
static char *copyarg (lua_State *L, int arg, char *buf, size_t size,
                      int opt) {
  size_t len;
  const char *s;
  if (opt && lua_isnoneornil(L, arg))
    return NULL;
  s = luaL_checklstring(L, arg, &len);
  luaL_argcheck(L, len < size && strlen(s) == len, arg, len < size
                ? "embedded null character" : "name too long");
  memcpy(buf, s, len + 1);
  return buf;
}


/* Looks up the name at 1; pushes the first address (or the official
** name, if 'wantname') and the table {name=, alias=, ip=}, or nil, err. */
static int resolve (lua_State *L, int wantname) {
  Host x;
  copyarg(L, 1, x.name, sizeof x.name, 0);
  LG_BEGIN_BLOCKING
  lookup(&x);
  LG_END_BLOCKING
  if (x.hp == NULL) {
    free(x.buf);
    lua_pushnil(L);
    lua_pushstring(L, x.herr == HOST_NOT_FOUND ? "host not found"
                                               : hstrerror(x.herr));
    return 2;
  }
  if (wantname)
    lua_pushstring(L, x.hp->h_name);
  else {
    char s[INET6_ADDRSTRLEN] = "";
    if (x.hp->h_addr_list[0] != NULL)
      inet_ntop(x.hp->h_addrtype, x.hp->h_addr_list[0], s, sizeof s);
    lua_pushstring(L, s);
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, x.hp->h_name);
  lua_setfield(L, -2, "name");
  pushlist(L, x.hp->h_aliases, 0);
  lua_setfield(L, -2, "alias");
  pushlist(L, x.hp->h_addr_list, x.hp->h_addrtype);
  lua_setfield(L, -2, "ip");
  free(x.buf);
  return 2;
}


/* dns.toip(name) -> address, resolved | nil, err */
static int dns_toip (lua_State *L) {
  return resolve(L, 0);
}


/* dns.tohostname(address) -> name, resolved | nil, err */
static int dns_tohostname (lua_State *L) {
  return resolve(L, 1);
}


/* dns.gethostname() -> name | nil, err */
static int dns_gethostname (lua_State *L) {
  char name[257];
  if (gethostname(name, sizeof name - 1) != 0)
    return lg_sock_pusherr(L, errno);
  name[sizeof name - 1] = '\0';
  lua_pushstring(L, name);
  return 1;
}


/* }==================================================================== */


/* {====================================================================
** getaddrinfo, getnameinfo
** =====================================================================*/

typedef struct Info {
  const char *host, *serv;  /* in: hostbuf, servbuf or NULL (none) */
  char hostbuf[NI_MAXHOST], servbuf[NI_MAXSERV];
  int passive;
  int gai;                  /* out: 0 or the error */
  lg_Buf names;             /* out: NUL-terminated strings */
  char servname[NI_MAXSERV];
  int count, oom;
} Info;


static void addname (Info *x, const char *s) {
  if (!lg_buf_add(&x->names, s, strlen(s) + 1))
    x->oom = 1;
  else
    x->count++;
}


/* For getaddrinfo (without the GIL): "inet" or "inet6", then the
** address, for each address of x->host. */
static void addrinfo (Info *x) {
  struct addrinfo hints, *res, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = x->passive ? AI_PASSIVE : 0;
  if ((x->gai = getaddrinfo(x->host, NULL, &hints, &res)) != 0)
    return;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    char s[NI_MAXHOST];
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
        getnameinfo(ai->ai_addr, ai->ai_addrlen, s, sizeof s, NULL, 0,
                    NI_NUMERICHOST) != 0)
      continue;
    addname(x, lg_inet_family(ai->ai_family));
    addname(x, s);
  }
  freeaddrinfo(res);
}


/* For getnameinfo (without the GIL): the name of each address of
** x->host (if any), and the name of the service x->serv. */
static void nameinfo (Info *x) {
  struct addrinfo hints, *res, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((x->gai = getaddrinfo(x->host, x->serv, &hints, &res)) != 0)
    return;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    char h[NI_MAXHOST];
    int r = getnameinfo(ai->ai_addr, ai->ai_addrlen,
                        x->host ? h : NULL, x->host ? sizeof h : 0,
                        x->serv ? x->servname : NULL,
                        x->serv ? sizeof x->servname : 0, 0);
    if (r != 0) {
      x->gai = r;
      break;
    }
    if (x->host)
      addname(x, h);
  }
  freeaddrinfo(res);
}


/* Runs 'fn' on 'x' without the GIL; pushes nil, err and returns 2 if it
** failed, else 0. */
static int runinfo (lua_State *L, Info *x, void (*fn) (Info *)) {
  lg_buf_init(&x->names);
  x->count = x->oom = 0;
  x->servname[0] = '\0';
  LG_BEGIN_BLOCKING
  fn(x);
  LG_END_BLOCKING
  if (x->oom) {
    lg_buf_free(&x->names);
    return luaL_error(L, "not enough memory");
  }
  if (x->gai != 0) {
    lg_buf_free(&x->names);
    lua_pushnil(L);
    lua_pushstring(L, lg_inet_gaierr(x->gai));
    return 2;
  }
  return 0;
}


/* dns.getaddrinfo(host) -> {{family=, addr=}, ...} | nil, err */
static int dns_getaddrinfo (lua_State *L) {
  Info x;
  const char *p;
  int n;
  x.host = copyarg(L, 1, x.hostbuf, sizeof x.hostbuf, 0);
  x.serv = NULL;
  x.passive = strcmp(x.host, "*") == 0;
  if (x.passive)
    x.host = NULL;
  if ((n = runinfo(L, &x, addrinfo)) != 0)
    return n;
  lua_createtable(L, x.count / 2, 0);
  p = x.names.b;
  for (int i = 0; i + 1 < x.count; i += 2) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, p);
    lua_setfield(L, -2, "family");
    p += strlen(p) + 1;
    lua_pushstring(L, p);
    lua_setfield(L, -2, "addr");
    p += strlen(p) + 1;
    lua_rawseti(L, -2, i / 2 + 1);
  }
  lg_buf_free(&x.names);
  return 1;
}


/* dns.getnameinfo([host [, service]]) -> names, service | nil, err */
static int dns_getnameinfo (lua_State *L) {
  Info x;
  const char *p;
  int n;
  x.host = copyarg(L, 1, x.hostbuf, sizeof x.hostbuf, 1);
  x.serv = copyarg(L, 2, x.servbuf, sizeof x.servbuf, 1);
  x.passive = 0;
  if (x.host == NULL && x.serv == NULL)
    return luaL_error(L, "host and serv cannot be both nil");
  if ((n = runinfo(L, &x, nameinfo)) != 0)
    return n;
  lua_createtable(L, x.count, 0);
  p = x.names.b;
  for (int i = 0; i < x.count; i++) {
    lua_pushstring(L, p);
    lua_rawseti(L, -2, i + 1);
    p += strlen(p) + 1;
  }
  lg_buf_free(&x.names);
  if (x.serv == NULL)
    return 1;
  lua_pushstring(L, x.servname);
  return 2;
}


/* }==================================================================== */


static const luaL_Reg dns_funcs[] = {
  {"getaddrinfo", dns_getaddrinfo},
  {"gethostname", dns_gethostname},
  {"getnameinfo", dns_getnameinfo},
  {"tohostname", dns_tohostname},
  {"toip", dns_toip},
  {NULL, NULL}
};


void lg_sock_open_dns (lua_State *L) {
  luaL_newlib(L, dns_funcs);
  lua_setfield(L, -2, "dns");
}
