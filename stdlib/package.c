/*
** stdlib/package.c -- a thread-safe 'require'.
** See LICENSE for copyright and licence (MIT).
**
** A module's chunk runs Lua code, so the GIL may switch in the middle of a
** require; a second thread requiring the same module would then load it a
** second time. As in Python, each module name has a lock, held while the
** module loads; a thread that finds it taken waits (GIL released) and then
** gets the table the first thread stored. The lock is re-entrant, so a
** module that requires itself behaves as in stock Lua.
*/

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"
#include "park.h"

#define MODLOCK  "luagil.ModuleLock"


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


/* require(name) -> module, loader data */
static int lg_require (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int status;
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_getfield(L, -1, name) != LUA_TNIL;
  lua_pop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));  /* stock require */
  lua_insert(L, 1);
  if (loaded) {  /* the common case: no lock needed */
    lua_call(L, 1, LUA_MULTRET);
    return lua_gettop(L);
  }
  ModLock *m = getlock(L, name);
  if (!acquire(m, lg_tstate_current()))
    return lg_breaker_raise_interrupt(L);
  status = lua_pcall(L, 1, LUA_MULTRET, 0);
  release(m);
  if (status != LUA_OK)
    return lua_error(L);
  return lua_gettop(L);
}


void lg_open_require (lua_State *L) {
  if (luaL_newmetatable(L, MODLOCK)) {
    lua_pushcfunction(L, modlock_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushcclosure(L, lg_require, 1);
  lua_setglobal(L, "require");
}
