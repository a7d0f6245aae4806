/*
** stdlib/lglib.c -- helpers shared by luagil's modules.
** See LICENSE for copyright and licence (MIT).
*/

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "lglib.h"
#include "park.h"
#include "task.h"


int lg_openchunk (lua_State *L, const char *source, size_t size,
                  const char *chunkname) {
  if (luaL_loadbuffer(L, source, size, chunkname) != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}


void lg_createmeta (lua_State *L, const char *tname,
                    const luaL_Reg *methods, const luaL_Reg *meta,
                    lua_CFunction index) {
  luaL_newmetatable(L, tname);  /* stack: mt */
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);  /* stack: mt methods */
  if (index != NULL)
    lua_pushcclosure(L, index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


const char *lg_fieldname (lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return NULL;
  return lua_tostring(L, 2);
}


double lg_opttimeout (lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return -1;
  double t = luaL_checknumber(L, arg);
  luaL_argcheck(L, t >= 0 || t == -1, arg, "timeout value must be positive");
  return t;
}


double lg_waitargs (lua_State *L, int arg) {
  int block = 1;
  double timeout = -1;
  if (!lua_isnoneornil(L, arg)) {
    luaL_checktype(L, arg, LUA_TBOOLEAN);
    block = lua_toboolean(L, arg);
  }
  if (!lua_isnoneornil(L, arg + 1)) {
    timeout = luaL_checknumber(L, arg + 1);
    luaL_argcheck(L, timeout >= 0, arg + 1,
                  "'timeout' must be a non-negative number");
  }
  return block ? timeout : 0;
}


static int slept (lua_State *L, int status, lua_KContext ctx) {
  (void)L; (void)status; (void)ctx;
  return 0;
}


int lg_sleep (lua_State *L, double seconds) {
  lg_TState *ts = lg_tstate_current();
  struct timespec dl, *deadline = lg_deadline(seconds, &dl);
  lg_Task *t;
  int r = LG_TIMEDOUT;
  if (ts == NULL)
    return 0;
  if ((t = lg_task_yieldable(L)) != NULL)
    return lg_task_sleep(L, t, deadline, slept);
  LG_BEGIN_BLOCKING
  do  /* a stray wake-up token only shortens one park */
    r = lg_park(ts, deadline, 0);
  while (r == LG_WOKEN);
  LG_END_BLOCKING
  if (r == LG_INTERRUPTED)
    lg_breaker_raise_interrupt(L);
  return 0;
}


void lg_mutex_take (pthread_mutex_t *mu) {
  if (pthread_mutex_trylock(mu) != 0) {
    LG_BEGIN_BLOCKING
    lg_check(pthread_mutex_lock(mu));
    LG_END_BLOCKING
  }
}
