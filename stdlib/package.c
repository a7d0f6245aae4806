/*
** stdlib/package.c -- a thread-safe 'require'.
** See LICENSE for copyright and licence (MIT).
**
** A module's chunk runs Lua code, so the GIL may switch in the middle of a
** require; a second thread requiring the same module would then load it a
** second time. As in Python, each module name has a lock, held while the
** module loads; a thread that finds it taken waits (GIL released) and then
** gets the table the first thread stored. The lock is re-entrant, so a
** module that requires itself behaves as in stock Lua. The function is
** written here in full, after the manual's description of 'require', so
** that a module's error shows the same traceback as in stock Lua.
*/

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"
#include "park.h"

#define MODLOCK  "luagil.ModuleLock"
#define MODGUARD  "luagil.ModuleGuard"


typedef struct ModLock {
  pthread_mutex_t mutex;
  lg_WaitQueue waiters;     /* mutex */
  lg_TState *owner;         /* mutex */
  int count;                /* mutex: recursion depth */
} ModLock;

static char LOCKS;          /* registry key: module name -> ModLock */


static int modlock_gc (lua_State *L) {
  ModLock *m = luaL_checkudata(L, 1, MODLOCK);
  pthread_mutex_destroy(&m->mutex);
  return 0;
}


/* The lock of module 'name', made on first use. Locks are kept for good. */
static ModLock *getlock (lua_State *L, const char *name) {
  ModLock *m;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &LOCKS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &LOCKS);
  }
  if (lua_getfield(L, -1, name) == LUA_TUSERDATA)
    m = lua_touserdata(L, -1);
  else {
    lua_pop(L, 1);
    m = lua_newuserdatauv(L, sizeof *m, 0);
    lg_mutex_init(&m->mutex);
    m->waiters.head = m->waiters.tail = NULL;
    m->owner = NULL;
    m->count = 0;
    luaL_setmetatable(L, MODLOCK);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_pop(L, 2);  /* the lock stays referenced by the table */
  return m;
}


/* Take 'm' for the calling thread; false if a Ctrl-C interrupted. */
static int acquire (ModLock *m, lg_TState *ts) {
  int r = LG_WOKEN;
  lg_check(pthread_mutex_lock(&m->mutex));
  while (m->owner != NULL && m->owner != ts && r == LG_WOKEN)
    r = lg_waitq_wait(&m->waiters, &m->mutex, NULL);
  if (r == LG_WOKEN) {
    m->owner = ts;
    m->count++;
  }
  lg_check(pthread_mutex_unlock(&m->mutex));
  return r == LG_WOKEN;
}


static void release (ModLock *m) {
  lg_check(pthread_mutex_lock(&m->mutex));
  if (--m->count == 0) {
    m->owner = NULL;
    lg_waitq_wake_locked(&m->waiters, 1);
  }
  lg_check(pthread_mutex_unlock(&m->mutex));
}


/* The to-be-closed guard of a held module lock: releases it even when
** the module errors, without a pcall that would cut the traceback. */
static int modguard_close (lua_State *L) {
  ModLock **held = lua_touserdata(L, 1);
  if (*held != NULL) {
    release(*held);
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
  ModLock *m = getlock(L, name);
  ModLock **held = lua_newuserdatauv(L, sizeof *held, 0);  /* index 3 */
  *held = NULL;
  luaL_setmetatable(L, MODGUARD);
  lua_toclose(L, 3);
  if (!acquire(m, lg_tstate_current()))
    return lg_breaker_raise_interrupt(L);
  *held = m;
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
  if (luaL_newmetatable(L, MODLOCK)) {
    lua_pushcfunction(L, modlock_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, MODGUARD)) {
    lua_pushcfunction(L, modguard_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushcclosure(L, lg_require, 1);
  lua_setglobal(L, "require");
}
