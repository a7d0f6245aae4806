/*
** stdlib/socket/except.c -- socket.newtry and socket.protect: LuaSocket's
** way to turn "nil, message" results into errors and back.
** See LICENSE for copyright and licence (MIT).
**
** A try function raises its second argument wrapped in a table of a
** private metatable, so that protect can tell the errors it raised from
** any other error (those it raises again, as they are). The wrapper is a
** table {message}, as LuaSocket's is, with __tostring, so one that no
** protect catches still prints its message. protect calls with
** lua_pcallk, so the protected function may yield.
*/

#include <lauxlib.h>

#include "socket.h"


static const char TRYKEY = 't';  /* registry[&TRYKEY]: the metatable */


/* Is the value at 'idx' an error that a try function raised? */
static int istry (lua_State *L, int idx) {
  int r;
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
    return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &TRYKEY);
  r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}


/* try(ok, ...) -> ok, ...; if ok is nil or false, calls the finalizer
** (upvalue 1, if any) and raises the second argument */
static int try_call (lua_State *L) {
  if (lua_toboolean(L, 1))
    return lua_gettop(L);
  if (!lua_isnil(L, lua_upvalueindex(1))) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 0);
  }
  lua_settop(L, 2);
  lua_createtable(L, 1, 0);  /* stack: ok err wrapper */
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &TRYKEY);
  lua_setmetatable(L, -2);
  return lua_error(L);
}


/* socket.newtry([finalizer]) -> try function */
static int socket_newtry (lua_State *L) {
  lua_settop(L, 1);
  lua_pushcclosure(L, try_call, 1);
  return 1;
}


/* The end of a protected call: its results, or nil and the message of a
** try error, or the other error raised again. */
static int finish (lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  if (status == LUA_OK || status == LUA_YIELD)
    return lua_gettop(L);
  if (!istry(L, -1))
    return lua_error(L);
  lua_pushnil(L);
  lua_rawgeti(L, -2, 1);
  return 2;
}


/* protected(...) -> the results of f (upvalue 1) | nil, message */
static int protected_call (lua_State *L) {
  int status;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  status = lua_pcallk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, 0, finish);
  return finish(L, status, 0);
}


/* socket.protect(f) -> a function that calls f, catching try errors */
static int socket_protect (lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_pushcclosure(L, protected_call, 1);
  return 1;
}


/* tostring(tryerror) -> its message */
static int try_tostring (lua_State *L) {
  lua_rawgeti(L, 1, 1);
  luaL_tolstring(L, -1, NULL);
  return 1;
}


void lg_sock_open_except (lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 0);  /* getmetatable(err) is false, as LuaSocket's */
  lua_setfield(L, -2, "__metatable");
  lua_pushcfunction(L, try_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &TRYKEY);
  lua_pushcfunction(L, socket_newtry);
  lua_setfield(L, -2, "newtry");
  lua_pushcfunction(L, socket_protect);
  lua_setfield(L, -2, "protect");
}
