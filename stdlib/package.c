/*
** stdlib/package.c -- a thread-safe 'require'.
** See LICENSE for copyright and licence (MIT).
**
** A module's chunk runs Lua code, so the GIL may switch in the middle of a
** require; a second thread requiring the same module would then load it a
** second time. As in Python, each module name has a lock, held while the
** module loads; a thread that finds it taken waits (GIL released) and then
** gets the table the first thread stored. The function is written here in
** full, after the manual's description of 'require', so that a module's
** error shows the same traceback as in stock Lua.
**
** Cycles. Each module being loaded records its loader thread ('owner'),
** and each thread waiting for a module's lock records that module (the
** WAITS table); both change only with the GIL held. Before it waits, a
** thread follows owner -> the module it waits for -> its owner ...: if
** that leads back to itself, waiting would close a cycle that never ends
** (thread A loads a and waits for b, thread B loads b and asks for a), so
** it raises "deadlock detected: ..." instead; the threads already waiting
** go on once its error has unwound its own loads. A module asked for again
** by the thread loading it (a loop within one thread) raises "loop or
** previous error loading module", as Lua 5.1 did (5.4 recurses until the
** C stack overflows). A module that stores its table in package.loaded
** before it requires others gets that table back in either case.
*/

#include <lauxlib.h>

#include "lglib.h"
#include "task.h"
#include "tstate.h"

#define MODGUARD  "luagil.ModuleGuard"

/* The lock of a module name, kept for good in the LOCKS table. */
typedef struct ModLock {
  void *lock;             /* read-only: its RLock (the uservalue) */
  const void *owner;      /* GIL: the thread loading the module, or NULL */
  unsigned long ident;    /* GIL: that thread's ident */
} ModLock;

/* A held or awaited module lock: the to-be-closed guard of a require. */
typedef struct ModGuard {
  ModLock *m;
  int waiting;            /* its thread is in WAITS */
  int held;               /* it holds m's lock and is its owner */
} ModGuard;

static char LOCKS;          /* registry key: module name -> ModLock */
static char WAITS;          /* registry key: thread -> module it waits for */


/* The registry table at 'key', made on first use, pushed. */
static void gettable (lua_State *L, const char *key) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  }
}


/* The lock of module 'name', or NULL if it has none yet. */
static ModLock *findlock (lua_State *L, const char *name) {
  ModLock *m;
  gettable(L, &LOCKS);
  lua_getfield(L, -1, name);
  m = (ModLock *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  return m;
}


/* The lock of module 'name', made on first use. */
static ModLock *getlock (lua_State *L, const char *name) {
  ModLock *m = findlock(L, name);
  if (m != NULL)
    return m;
  luaL_requiref(L, "_thread", luaopen__thread, 0);  /* RLock's type */
  lua_pop(L, 1);
  gettable(L, &LOCKS);
  m = (ModLock *)lua_newuserdatauv(L, sizeof *m, 1);
  m->lock = NULL;
  m->owner = NULL;
  m->ident = 0;
  m->lock = lg_rlock_new(L);
  lua_setiuservalue(L, -2, 1);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
  return m;
}


/* WAITS[me] = the string at 'idx', or nil if 'idx' is 0. */
static void setwaiting (lua_State *L, int idx) {
  gettable(L, &WAITS);
  if (idx != 0)
    lua_pushvalue(L, idx);
  else
    lua_pushnil(L);
  lua_rawsetp(L, -2, lg_self());
  lua_pop(L, 1);
}


/* (protected) threading's name of the thread whose ident is at 1. */
static int findname (lua_State *L) {
  lua_Integer ident = lua_tointeger(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "threading") != LUA_TTABLE)
    return 0;
  lua_getfield(L, -1, "enumerate");
  lua_call(L, 0, 1);
  for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
    lua_getfield(L, -1, "ident");
    if (lua_tointeger(L, -1) == ident) {
      lua_getfield(L, -2, "name");
      return 1;
    }
    lua_pop(L, 2);
  }
  return 0;
}


/* Pushes "thread 'NAME'", or "thread IDENT" if threading does not know
** it (a thread of _thread's). */
static void pushthread (lua_State *L, unsigned long ident) {
  lua_pushcfunction(L, findname);
  lua_pushinteger(L, (lua_Integer)ident);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
    lua_pushfstring(L, "thread '%s'", lua_tostring(L, -1));
  else
    lua_pushfstring(L, "thread %I", (lua_Integer)ident);
  lua_remove(L, -2);
}


/*
** The message for the cycle on the stack from 'chain': module name,
** ident of the thread loading it, name of the module that thread waits
** for, ..., the last one loaded by the caller.
*/
static void pushcycle (lua_State *L, int chain) {
  luaL_Buffer b;
  int last = lua_gettop(L);
  luaL_buffinit(L, &b);
  luaL_where(L, 1);
  luaL_addvalue(&b);
  lua_pushfstring(L, "deadlock detected: module '%s'",
                  lua_tostring(L, chain));
  luaL_addvalue(&b);
  for (int i = chain + 1; i < last; i += 2) {
    pushthread(L, (unsigned long)lua_tointeger(L, i));
    lua_pushfstring(L, "%s is being loaded by %s, which waits for module "
                    "'%s'", i > chain + 1 ? ", which" : "",
                    lua_tostring(L, -1), lua_tostring(L, i + 1));
    lua_remove(L, -2);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
}


/*
** Raises if the calling thread must not wait for the lock 'm' of the
** module named at index 1: it loads that module itself, or the module's
** loader waits, through a chain of threads, for a module the caller
** loads. Neither runs Lua code nor allocates until it has decided (so no
** other thread can run in between): the chain is kept on the stack.
*/
static void checkcycle (lua_State *L, ModLock *m) {
  const void *me = lg_self();
  int top = lua_gettop(L), hops = 0;
  if (m->owner == NULL)
    return;
  if (m->owner == me)
    luaL_error(L, "loop or previous error loading module '%s'",
               lua_tostring(L, 1));
  gettable(L, &LOCKS);  /* top + 1 */
  gettable(L, &WAITS);  /* top + 2 */
  lua_pushvalue(L, 1);  /* the chain, from top + 3 */
  while (m->owner != me) {
    luaL_checkstack(L, 3, "too many threads waiting for modules");
    lua_pushinteger(L, (lua_Integer)m->ident);
    if (++hops > 100000 ||  /* no cycle through us is that long */
        lua_rawgetp(L, top + 2, m->owner) != LUA_TSTRING) {
      lua_settop(L, top);  /* the owner runs: no cycle */
      return;
    }
    lua_pushvalue(L, -1);
    lua_rawget(L, top + 1);
    m = (ModLock *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (m == NULL || m->owner == NULL) {
      lua_settop(L, top);
      return;
    }
  }
  pushcycle(L, top + 3);
  lua_error(L);
}


/* The to-be-closed guard of a module lock: releases it even when the
** module errors, without a pcall that would cut the traceback. */
static int modguard_close (lua_State *L) {
  ModGuard *g = (ModGuard *)luaL_checkudata(L, 1, MODGUARD);
  if (g->waiting) {  /* Ctrl-C interrupted the wait */
    g->waiting = 0;
    setwaiting(L, 0);
  }
  if (g->held) {
    g->held = 0;
    g->m->owner = NULL;
    lg_rlock_give(g->m->lock);
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
  ModLock *m;
  ModGuard *g;
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);  /* index 2 */
  if (lua_getfield(L, 2, name) != LUA_TNIL && lua_toboolean(L, -1))
    return 1;  /* already loaded: no lock needed */
  lua_pop(L, 1);
  m = getlock(L, name);
  g = (ModGuard *)lua_newuserdatauv(L, sizeof *g, 0);  /* index 3 */
  g->m = m;
  g->waiting = g->held = 0;
  luaL_setmetatable(L, MODGUARD);
  lua_toclose(L, 3);
  checkcycle(L, m);
  setwaiting(L, 1);
  g->waiting = 1;
  lg_rlock_take(L, m->lock);  /* raises "interrupted!" on Ctrl-C */
  g->waiting = 0;
  setwaiting(L, 0);
  m->owner = lg_self();
  m->ident = lg_self_ident();
  g->held = 1;
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
  gettable(L, &LOCKS);  /* made now: checkcycle must not allocate */
  gettable(L, &WAITS);
  lua_pop(L, 2);
  if (luaL_newmetatable(L, MODGUARD)) {
    lua_pushcfunction(L, modguard_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_pushcclosure(L, lg_require, 1);
  lua_setglobal(L, "require");
}
