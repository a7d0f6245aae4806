/*
** stdlib/lglib.c -- helpers shared by luagil's modules.
** See LICENSE for copyright and licence (MIT).
*/

#include <lauxlib.h>

#include "lglib.h"


int lg_openchunk (lua_State *L, const char *source, size_t size,
                  const char *chunkname) {
  if (luaL_loadbuffer(L, source, size, chunkname) != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}
