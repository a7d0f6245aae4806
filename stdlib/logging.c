/*
** stdlib/logging.c -- the 'logging' module, written in Lua
** (stdlib/logging.lua) and compiled into the binary.
** See LICENSE for copyright and licence (MIT).
*/

#include <stddef.h>

#include <lauxlib.h>

#include "lglib.h"

extern const char lg_embedded_logging[];
extern const size_t lg_embedded_logging_size;


int luaopen_logging (lua_State *L) {
  if (luaL_loadbuffer(L, lg_embedded_logging, lg_embedded_logging_size,
                      "=logging.lua") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}
