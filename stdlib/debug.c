/*
** stdlib/debug.c -- GIL-aware debug.sethook and debug.gethook.
** See LICENSE for copyright and licence (MIT).
**
** luagil's eval breaker owns the one C hook of every state; a user's hook
** is kept beside it (vm/breaker.c) and called from it, so the user's line,
** call, return and count hooks work as in stock Lua while the GIL's count
** hook comes and goes.
*/

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"


/* The thread argument, if any: sets '*arg' to 0 or 1. */
static lua_State *getthread (lua_State *L, int *arg) {
  if (lua_isthread(L, 1)) {
    *arg = 1;
    return lua_tothread(L, 1);
  }
  *arg = 0;
  return L;
}


static int makemask (const char *s, int count) {
  int mask = 0;
  for (; *s; s++) {
    if (*s == 'c') mask |= LUA_MASKCALL;
    else if (*s == 'r') mask |= LUA_MASKRET;
    else if (*s == 'l') mask |= LUA_MASKLINE;
  }
  if (count > 0)
    mask |= LUA_MASKCOUNT;
  return mask;
}


static void pushmask (lua_State *L, int mask) {
  char s[4];
  int i = 0;
  if (mask & LUA_MASKCALL) s[i++] = 'c';
  if (mask & LUA_MASKRET) s[i++] = 'r';
  if (mask & LUA_MASKLINE) s[i++] = 'l';
  lua_pushlstring(L, s, (size_t)i);
}


/* debug.sethook([thread,] hook, mask [, count]) */
static int db_sethook (lua_State *L) {
  int arg, mask = 0, count = 0, f = 0;
  lua_State *co = getthread(L, &arg);
  if (!lua_isnoneornil(L, arg + 1)) {
    const char *smask = luaL_checkstring(L, arg + 2);
    luaL_checktype(L, arg + 1, LUA_TFUNCTION);
    count = (int)luaL_optinteger(L, arg + 3, 0);
    mask = makemask(smask, count);
    f = arg + 1;
  }
  lg_breaker_setuserhook(L, co, f, mask, count);
  return 0;
}


/* debug.gethook([thread]) -> hook, mask, count | fail */
static int db_gethook (lua_State *L) {
  int arg;
  lua_State *co = getthread(L, &arg);
  lua_Hook hook = lua_gethook(co);
  if (hook != NULL && hook != lg_breaker_hook) {  /* some C module's */
    lua_pushliteral(L, "external hook");
    pushmask(L, lua_gethookmask(co));
    lua_pushinteger(L, lua_gethookcount(co));
    return 3;
  }
  if (!lg_breaker_getuserhook(L, co)) {  /* none, or the GIL's alone */
    luaL_pushfail(L);
    return 1;
  }
  pushmask(L, (int)lua_tointeger(L, -2));  /* stack: f mask count */
  lua_replace(L, -3);
  return 3;
}


static const luaL_Reg db_funcs[] = {
  {"sethook", db_sethook},
  {"gethook", db_gethook},
  {NULL, NULL}
};


void lg_open_debug (lua_State *L) {
  if (lua_getglobal(L, "debug") == LUA_TTABLE)
    luaL_setfuncs(L, db_funcs, 0);
  lua_pop(L, 1);
}
