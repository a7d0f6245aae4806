/*
** stdlib/socket/select.c -- socket.select: waiting for any of our sockets
** (or another table or object with getfd, a LuaSec connection say) to be
** readable or writable, GIL released.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "park.h"
#include "socket.h"
#include "tstate.h"
#include "waitq.h"


/* {====================================================================
** socket.select
** =====================================================================*/

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


/*
** Step 1 for an entry that is not one of our sockets, at the top of the
** stack (popped): its descriptor (-1 to skip it), as LuaSocket asks any
** table or userdata with a getfd field; '*dirty' tells whether it has
** buffered data (its dirty field says so). A string is skipped, as
** LuaSocket skips it; any other value is an error.
*/
static int foreignfd (lua_State *L, int set, int *dirty) {
  int fd = -1, t = lua_type(L, -1);
  *dirty = 0;
  if (t == LUA_TTABLE || t == LUA_TUSERDATA) {
    if (lua_getfield(L, -1, "getfd") != LUA_TNIL) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      if (lua_isnumber(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        fd = (n >= 0 && n <= INT_MAX) ? (int)n : -1;
      }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "dirty") != LUA_TNIL) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      *dirty = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
  }
  else if (t != LUA_TSTRING)
    luaL_argerror(L, set, lua_pushfstring(L, "socket expected, got %s",
                                          luaL_typename(L, -1)));
  lua_pop(L, 1);
  return fd;
}


/* Adds value 'v' (stack index) to the result set at 'res'. */
static void addresult (lua_State *L, int res, int v) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, res) + 1;
  lua_pushvalue(L, v);
  lua_rawseti(L, res, n);
  lua_pushvalue(L, v);
  lua_pushnumber(L, (lua_Number)n);  /* a float, as LuaSocket's */
  lua_rawset(L, res);
}


/* lg_poll()s 'e' (n entries) and what 'intr' says (Ctrl-C, a cancel),
** without the GIL, until 'timeout' (< 0 or NaN: none); -2 when one of
** those came, else the number of
** ready entries (0: timed out; -1: errno in '*err'). 'p' has room for
** n + 1. */
static int pollentries (Entry *e, struct pollfd *p, int n, double timeout,
                        int intr, int *err) {
  struct timespec dl, *deadline = lg_deadline(timeout, &dl);
  int i, r;
  for (i = 0; i < n; i++) {
    p[i].fd = e[i].fd;  /* poll skips a negative one */
    p[i].events = e[i].events;
    p[i].revents = 0;
  }
  LG_BEGIN_BLOCKING
  r = lg_poll(p, n, deadline, intr);
  *err = errno;
  LG_END_BLOCKING
  if (r == LG_INTERRUPTED)
    return -2;
  if (r == LG_TIMEDOUT)
    return 0;
  if (r < 0) {
    for (i = 0; i < n; i++)
      e[i].revents = 0;
    return -1;
  }
  for (i = 0, r = 0; i < n; i++)  /* LG_WOKEN */
    r += (e[i].revents = p[i].revents) != 0;
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
  luaL_argcheck(L, lr <= SETSIZE, 1, "too many sockets");
  luaL_argcheck(L, ls <= SETSIZE, 2, "too many sockets");
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
    if (lg_sock_test(L, -1, TCP_ANY | UDP_ANY) != NULL) {
      e[i].ours = 1;  /* step 2 enters it */
      lua_pop(L, 1);
    }
    else if ((e[i].fd = foreignfd(L, i < nr ? 1 : 2, &dirty)) >= 0 &&
             dirty && i < nr) {
      e[i].revents = POLLIN;
      ndirty++;
    }
  }
  /* poll() reads its array without the GIL: C memory, got before any
  ** socket is entered. */
  if ((p = (struct pollfd *)malloc(sizeof *p * (size_t)(n + 1))) == NULL)
    return luaL_error(L, "not enough memory");
  for (i = 0; i < n; i++) {  /* step 2: nothing here raises */
    Obj *o;
    lua_rawgeti(L, anchor, i + 1);
    o = (Obj *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!e[i].ours || o->s == NULL || o->closed)
      continue;  /* not ours, or closed: LuaSocket skips a closed one */
    if ((e[i].fd = lg_sock_enter(o->s)) >= 0) {
      e[i].s = o->s;
      if (i < nr && lg_sock_isdirty(o)) {
        e[i].revents = POLLIN;
        ndirty++;
      }
    }
  }
  if (ndirty == 0)
    r = pollentries(e, p, n, timeout,
                    lg_tstate_is_main() | LG_POLL_CANCEL, &err);
  free(p);
  for (i = 0; i < n; i++)  /* step 3: leave before anything can raise */
    if (e[i].s != NULL) {
      if (lg_sock_isclosing(e[i].s))  /* closed by another thread meanwhile */
        e[i].revents = e[i].events;
      lg_sock_leave(e[i].s);
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


void lg_sock_open_select (lua_State *L) {
  lua_pushcfunction(L, socket_select);
  lua_setfield(L, -2, "select");
}
