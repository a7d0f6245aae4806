/*
** stdlib/multiprocessing.c -- the 'multiprocessing' module, written in Lua
** (stdlib/multiprocessing.lua) and compiled into the binary.
** See LICENSE for copyright and licence (MIT).
*/

#include <stddef.h>

#include <lauxlib.h>

#include "lglib.h"

extern const char lg_embedded_multiprocessing[];
extern const size_t lg_embedded_multiprocessing_size;


int luaopen_multiprocessing (lua_State *L) {
  if (luaL_loadbuffer(L, lg_embedded_multiprocessing,
                      lg_embedded_multiprocessing_size,
                      "=stdlib/multiprocessing.lua") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}
