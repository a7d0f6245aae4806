/*
** tests/embed/package/cmod.c -- a Lua C module linked to no Lua library,
** as Debian's are: it loads only into a host that gives it Lua's symbols.
** cmod.add(a, b) -> a + b, through luaL_checkinteger.
** See LICENSE for copyright and licence (MIT).
*/

#include <lauxlib.h>

int luaopen_cmod (lua_State *L);


static int cmod_add (lua_State *L) {
  lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
  return 1;
}


int luaopen_cmod (lua_State *L) {
  static const luaL_Reg funcs[] = {{"add", cmod_add}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
