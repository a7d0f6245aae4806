/*
** stdlib/sync.c -- what the synchronisation objects share: checking
** 'self' and the arguments of an acquire (lg_sync_checkself, checkany,
** destroyed, acquireargs), and x:guard() and x:with(fn, ...) for any
** object with acquire and release (lg_sync_guard, lg_sync_with).
** See LICENSE for copyright and licence (MIT).
**
** Its users: Lock, RLock and Condition (stdlib/lock.c), Semaphore,
** BoundedSemaphore and Event (stdlib/semaphore.c), the queues
** (stdlib/queue.c) and multiprocessing's locks (mp_shared.c). guard and
** with take our own locks directly when that needs no wait and cannot
** fail (lg_lock_fastkind and friends, in stdlib/lock.c: see "Fast paths"
** there), and call the object's methods otherwise.
*/

#include <string.h>

#include <lauxlib.h>

#include "lglib.h"

#define GUARD  "threading._Guard"


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
** guard and with
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


/*
** obj:acquire() and obj:release() for the lock at 'obj', as with and
** guard call them: directly for our own locks when that needs no wait
** and cannot fail, else through Lua (which waits, or raises).
*/
static void acquireat (lua_State *L, int obj) {
  void *lk;
  int kind = lg_lock_fastkind(L, obj, &lk);
  if (kind == 0 || !lg_lock_fastacquire(kind, lk))
    lg_sync_callmethod(L, obj, "acquire", 0);
}


static void releaseat (lua_State *L, int obj) {
  void *lk;
  int kind = lg_lock_fastkind(L, obj, &lk);
  if (kind == 0 || !lg_lock_fastrelease(kind, lk))
    lg_sync_callmethod(L, obj, "release", 0);
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


/*
** A guard holds 'held' acquisitions of the object in its uservalue (one
** guard serves nested blocks of an RLock), so its __close releases only
** what it took, however often it is called.
*/
typedef struct Guard {
  lua_Integer held;  /* GIL */
} Guard;


/*
** x:guard() -> a to-be-closed value that releases x. A userdata keeps its
** guard in uservalue 1 (made on first use, if that slot is free); any
** other lock, a table say, gets a new guard each time.
*/
int lg_sync_guard (lua_State *L) {
  Guard *g;
  lua_settop(L, 1);
  if (lua_type(L, 1) != LUA_TUSERDATA ||
      lua_getiuservalue(L, 1, 1) != LUA_TUSERDATA ||
      luaL_testudata(L, 2, GUARD) == NULL) {  /* none cached: a new one */
    if (!lg_sync_islock(L, 1))
      return lg_typeerror(L, 1, "lock");
    lua_settop(L, 1);  /* stack: x */
    lua_newuserdatauv(L, sizeof(Guard), 1);
    ((Guard *)lua_touserdata(L, 2))->held = 0;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, 2, 1);
    luaL_setmetatable(L, GUARD);
    if (lua_type(L, 1) == LUA_TUSERDATA &&
        lua_getiuservalue(L, 1, 1) == LUA_TNIL) {  /* a free slot */
      lua_pushvalue(L, 2);
      lua_setiuservalue(L, 1, 1);
    }
    lua_settop(L, 2);  /* stack: x guard */
  }
  g = lua_touserdata(L, 2);
  acquireat(L, 1);
  g->held++;
  return 1;
}


/* Second half of x:with, also the continuation when fn yielded. */
static int finishwith (lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;  /* stack: x results|err */
  releaseat(L, 1);
  if (status != LUA_OK && status != LUA_YIELD)
    return lua_error(L);
  return lua_gettop(L) - 1;
}


/* x:with(fn, ...) -> the results of fn(...), run holding x */
int lg_sync_with (lua_State *L) {
  int n = lua_gettop(L);
  void *lk;
  int kind = lg_lock_fastkind(L, 1, &lk);
  if (kind == 0 && !lg_sync_islock(L, 1))
    return lg_typeerror(L, 1, "lock");
  lg_sync_checkcallable(L, 2);
  if (kind == 0 || !lg_lock_fastacquire(kind, lk))
    lg_sync_callmethod(L, 1, "acquire", 0);
  /* fn may yield (a coroutine inside the block): hence pcallk */
  return finishwith(L, lua_pcallk(L, n - 2, LUA_MULTRET, 0, 0, finishwith),
                    0);
}


/* guard:__close() releases the object it guards, if it holds it */
static int guard_close (lua_State *L) {
  Guard *g = luaL_testudata(L, 1, GUARD);
  if (g == NULL)
    return lg_typeerror(L, 1, GUARD);
  if (g->held > 0) {
    g->held--;
    lua_getiuservalue(L, 1, 1);
    releaseat(L, -1);
  }
  return 0;
}


static const luaL_Reg guard_meta[] = {
  {"__close", guard_close},
  {NULL, NULL}
};


void lg_open_guard (lua_State *L) {
  luaL_newmetatable(L, GUARD);
  luaL_setfuncs(L, guard_meta, 0);
  lua_pop(L, 1);
}

/* }====================================================== */
