/*
** stdlib/sync.c -- what the synchronisation objects share: checking
** 'self' and the arguments of an acquire (lg_sync_checkself, checkany,
** destroyed, acquireargs), and calling a lock's methods from C
** (lg_sync_callmethod, islock, checkcallable).
** See LICENSE for copyright and licence (MIT).
**
** Its users: Lock, RLock and Condition (stdlib/lock.c, which also has
** x:guard() and x:with(fn, ...) for any lock, beside the fast paths they
** take for its own), Semaphore, BoundedSemaphore and Event
** (stdlib/semaphore.c), the queues (stdlib/queue.c) and multiprocessing's
** locks (mp_shared.c).
*/

#include <string.h>

#include <lauxlib.h>

#include "lglib.h"


/*
** {======================================================
** Checking the object and the arguments
** =======================================================
*/

/*
** The object at index 1 if it is a full userdata of 'size' bytes that
** begins with 'tag' (each type's own static address): two loads and a
** compare. Comparing metatables through the API doubled the cost of an
** uncontended acquire+release pair (scripts/bench/lock.lua).
*/
void *lg_sync_checkself (lua_State *L, const void *tag, size_t size,
                         const char *tname) {
  const void **p = lua_touserdata(L, 1);
  if (p == NULL || lua_rawlen(L, 1) != size || *p != tag) {  /* size 1st */
    lg_sync_checkany(L, tag, size, tname);  /* so it was destroyed */
    if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING)
      tname = lua_tostring(L, -1);  /* a BoundedSemaphore, say */
    lg_sync_destroyed(L, tname);
  }
  return p;
}


/* The object at 1, live or destroyed; else a type error. */
void *lg_sync_checkany (lua_State *L, const void *tag, size_t size,
                        const char *tname) {
  const void **p = lua_touserdata(L, 1);
  if (p == NULL || lua_rawlen(L, 1) != size ||
      (*p != tag && *p != LG_SYNC_DEAD(tag)))
    lg_typeerror(L, 1, tname);
  return p;
}


/* Raise "attempt to use a destroyed Lock" for an object of type 'tname'. */
int lg_sync_destroyed (lua_State *L, const char *tname) {
  const char *dot = strrchr(tname, '.');
  return luaL_error(L, "attempt to use a destroyed %s",
                    dot != NULL ? dot + 1 : tname);
}


/*
** The arguments (blocking, timeout) at 2 and 3 of an acquire: returns the
** timeout in seconds, -1 to wait for ever, 0 not to wait. 'nbmsg' is the
** message for a timeout given with blocking == false.
*/
double lg_sync_acquireargs (lua_State *L, const char *nbmsg) {
  int blocking = 1;
  double timeout;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    blocking = lua_toboolean(L, 2);
  }
  timeout = lg_timeout(L, 3, LG_TIMEOUT_LOCK);
  if (!blocking) {
    luaL_argcheck(L, timeout == -1, 3, nbmsg);
    timeout = 0;
  }
  return timeout;
}

/* }====================================================== */


/*
** {======================================================
** Calling the methods
** =======================================================
*/

/* Call obj:name() for the object at 'obj' with no arguments. */
void lg_sync_callmethod (lua_State *L, int obj, const char *name,
                         int nres) {
  obj = lua_absindex(L, obj);
  lua_getfield(L, obj, name);
  lua_pushvalue(L, obj);
  lua_call(L, 1, nres);
}


/* Raise unless the value at 'arg' is a function or has a __call. */
void lg_sync_checkcallable (lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TFUNCTION) {
    luaL_argexpected(L, luaL_getmetafield(L, arg, "__call") != LUA_TNIL,
                     arg, "callable");
    lua_pop(L, 1);
  }
}


/*
** Is the value at 'idx' a lock: a table, or a userdata with an __index,
** that has acquire and release? Pops what it pushed.
*/
int lg_sync_islock (lua_State *L, int idx) {
  int t = lua_type(L, idx), top = lua_gettop(L);
  int ok = (t == LUA_TTABLE || (t == LUA_TUSERDATA &&
            luaL_getmetafield(L, idx, "__index") != LUA_TNIL)) &&
           lua_getfield(L, idx, "acquire") != LUA_TNIL &&
           lua_getfield(L, idx, "release") != LUA_TNIL;
  lua_settop(L, top);
  return ok;
}


/* }====================================================== */
