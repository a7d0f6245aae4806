/*
** interp/luaopen_luagil.c -- the entry point of luagil.so, the module that
** stock lua5.4 loads ('lua5.4 -l luagil', require "luagil").
** See LICENSE for copyright and licence (MIT).
**
** The module is this one function linked to libluagil.so, so that a C
** module written for luagil that links libluagil.so too shares its one
** GIL, instead of bringing a second copy of the interpreter. The rock
** (LUAGIL_ROCK, for LuaRocks) links every object of the interpreter into
** it instead, and exports this function alone.
*/

#include "luagil.h"

LUAGIL_API int luaopen_luagil (lua_State *L);


int luaopen_luagil (lua_State *L) {
  return luagil_openmodule(L);
}
