/*
** stdlib/package.c -- a thread-safe 'require'.
** See LICENSE for copyright and licence (MIT).
**
** A module's chunk runs Lua code, so the GIL may switch in the middle of a
** require; a second thread requiring the same module would then load it a
** second time. As in Python, each module name has a lock, held while the
** module loads; a thread that finds it taken waits (GIL released) and then
** gets the table the first thread stored. The lock is an RLock (re-entrant,
** so a module that requires itself behaves as in stock Lua). The function is
** written here in full, after the manual's description of 'require', so
** that a module's error shows the same traceback as in stock Lua.
*/

#include <lauxlib.h>

#include "lglib.h"

#define MODGUARD  "luagil.ModuleGuard"

static char LOCKS;          /* registry key: module name -> RLock */


/* The lock of module 'name', made on first use. Locks are kept for good. */
static void *getlock (lua_State *L, const char *name) {
  void *lock;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &LOCKS) != LUA_TTABLE) {
    lua_pop(L, 1);
    luaL_requiref(L, "_thread", luaopen__thread, 0);  /* RLock's type */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &LOCKS);
  }
  if (lua_getfield(L, -1, name) == LUA_TUSERDATA)
    lock = lua_touserdata(L, -1);
  else {
    lua_pop(L, 1);
    lock = lg_rlock_new(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_pop(L, 2);  /* the lock stays referenced by the table */
  return lock;
}


/* The to-be-closed guard of a held module lock: releases it even when
** the module errors, without a pcall that would cut the traceback. */
static int modguard_close (lua_State *L) {
  void **held = lua_touserdata(L, 1);
  if (*held != NULL) {
    lg_rlock_give(*held);
    *held = NULL;
  }
  return 0;
}


/*
** Find the loader of 'name' through package.searchers (package table at
** 'pkg'), as the manual describes; pushes loader and its extra value, or
** raises "module 'name' not found" with every searcher's reason.
*/
static void findloader (lua_State *L, int pkg, const char *name) {
  luaL_Buffer why;
  if (lua_getfield(L, pkg, "searchers") != LUA_TTABLE)
    luaL_error(L, "'package.searchers' must be a table");
  int searchers = lua_gettop(L);
  luaL_buffinit(L, &why);
  for (lua_Integer i = 1; ; i++) {
    luaL_addstring(&why, "\n\t");
    if (lua_rawgeti(L, searchers, i) == LUA_TNIL) {  /* none found it */
      lua_pop(L, 1);
      luaL_buffsub(&why, 2);
      luaL_pushresult(&why);
      luaL_error(L, "module '%s' not found:%s", name, lua_tostring(L, -1));
    }
    lua_pushstring(L, name);
    lua_call(L, 1, 2);
    if (lua_isfunction(L, -2)) {  /* found: stack: ... loader extra */
      lua_remove(L, searchers);
      return;
    }
    if (lua_isstring(L, -2)) {  /* the searcher says why not */
      lua_pop(L, 1);
      luaL_addvalue(&why);
    }
    else {
      lua_pop(L, 2);
      luaL_buffsub(&why, 2);
    }
  }
}


/* require(name) -> module, loader data */
static int lg_require (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);  /* index 2 */
  if (lua_getfield(L, 2, name) != LUA_TNIL && lua_toboolean(L, -1))
    return 1;  /* already loaded: no lock needed */
  lua_pop(L, 1);
  void *lock = getlock(L, name);
  void **held = lua_newuserdatauv(L, sizeof *held, 0);  /* index 3 */
  *held = NULL;
  luaL_setmetatable(L, MODGUARD);
  lua_toclose(L, 3);
  lg_rlock_take(L, lock);  /* raises "interrupted!" on Ctrl-C */
  *held = lock;
  lua_getfield(L, 2, name);
  if (lua_toboolean(L, -1))
    return 1;  /* another thread loaded it while we waited */
  lua_pop(L, 1);
  findloader(L, lua_upvalueindex(1), name);  /* stack: ... loader extra */
  lua_rotate(L, -2, 1);  /* stack: ... extra loader */
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -3);
  lua_call(L, 2, 1);  /* stack: ... extra result */
  if (!lua_isnil(L, -1))
    lua_setfield(L, 2, name);  /* loaded[name] = result */
  else
    lua_pop(L, 1);
  if (lua_getfield(L, 2, name) == LUA_TNIL) {  /* nothing stored: true */
    lua_pushboolean(L, 1);
    lua_copy(L, -1, -2);
    lua_setfield(L, 2, name);
  }
  lua_rotate(L, -2, 1);  /* stack: ... module extra */
  return 2;
}


void lg_open_require (lua_State *L) {
  if (luaL_newmetatable(L, MODGUARD)) {
    lua_pushcfunction(L, modguard_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushcclosure(L, lg_require, 1);
  lua_setglobal(L, "require");
}
