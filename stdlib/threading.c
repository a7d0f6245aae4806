/*
** stdlib/threading.c -- the 'threading' module, written in Lua
** (stdlib/threading.lua) and compiled into the binary.
** See LICENSE for copyright and licence (MIT).
*/

#include <stddef.h>

#include <lauxlib.h>

#include "lglib.h"

extern const char lg_embedded_threading[];
extern const size_t lg_embedded_threading_size;


int luaopen_threading (lua_State *L) {
  if (luaL_loadbuffer(L, lg_embedded_threading, lg_embedded_threading_size,
                      "=threading.lua") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}
