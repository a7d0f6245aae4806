/*
** stdlib/concurrent_futures.c -- the 'concurrent.futures' module, written in Lua
** (stdlib/concurrent_futures.lua) and compiled into the binary.
** See LICENSE for copyright and licence (MIT).
*/

#include <stddef.h>

#include <lauxlib.h>

#include "lglib.h"

extern const char lg_embedded_concurrent_futures[];
extern const size_t lg_embedded_concurrent_futures_size;


int luaopen_concurrent_futures (lua_State *L) {
  if (luaL_loadbuffer(L, lg_embedded_concurrent_futures,
                      lg_embedded_concurrent_futures_size,
                      "=concurrent_futures.lua") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}
