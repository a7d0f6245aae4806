/*
** stdlib/os.c -- additions to Lua's 'os' library: getpid, cpu_count.
** See LICENSE for copyright and licence (MIT).
*/

#include <unistd.h>

#include <lauxlib.h>

#include "lglib.h"


/* os.getpid() -> integer */
static int os_getpid (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}


/* os.cpu_count() -> integer | nil */
static int os_cpu_count (lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0)
    lua_pushinteger(L, n);
  else
    luaL_pushfail(L);
  return 1;
}


static const luaL_Reg os_funcs[] = {
  {"getpid", os_getpid},
  {"cpu_count", os_cpu_count},
  {NULL, NULL}
};


void lg_open_os (lua_State *L) {
  if (lua_getglobal(L, "os") == LUA_TTABLE)
    luaL_setfuncs(L, os_funcs, 0);
  lua_pop(L, 1);
}
