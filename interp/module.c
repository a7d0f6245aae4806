/*
** interp/module.c -- luagil as a module of a Lua that did not start as
** luagil: 'lua5.4 -l luagil script.lua', or require "luagil".
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** The requiring thread becomes the main thread and holds the GIL; the
** modules are registered as 'luagil.<name>' and under their short names,
** but for 'logging', whose short name belongs to lualogging. 'socket' and
** 'socket.core' keep their short names too, unless package.preload had
** its own for them: our 'socket' loads LuaSocket's own socket.lua where
** it is installed, on our core, so LuaSocket is not shadowed but made to
** let the GIL go (it must be required after luagil: a LuaSocket C core
** loaded before stays in package.loaded, and holds the GIL when it
** blocks).
**
** Shutdown happens in lua_close, which the host (stock lua) calls when the
** script is done: the non-daemon threads must be joined before the state
** goes away. A userdata anchored in the registry (the sentinel) has a
** __gc that does it, as reachable objects are finalized only by
** lua_close. But lua_close finalizes the newest objects first and the
** sentinel is among the oldest: the threads' handles, locks and queues
** would be finalized (their mutexes destroyed) before the join, while the
** threads still use them. So every C finalizer found in a metatable of the
** registry (luagil's types, files, ...) is wrapped: a finalizer that runs
** in lua_close before the sentinel's is deferred (the object is kept in a
** registry list), and the sentinel runs the deferred ones after the join.
** "In lua_close" is told by where the finalizer runs: on the main thread
** with no function below it, which lua_close is the only one to do in the
** stock lua program. A host that runs Lua from C on the main thread could
** make a collection finalize there too; such a finalizer is then merely
** run late, at the next finalizer that runs elsewhere.
**
** Ctrl-C: stock lua's SIGINT handler sets a hook on the main state from
** the signal handler, which is not safe with threads (and does not wake a
** main thread blocked in join), and lua installs it around every chunk it
** runs. So luagil puts its own back whenever a thread starts.
**
** The shared object is linked with -z nodelete: package's finalizer
** dlcloses C modules in lua_close, while abandoned daemon threads may
** still sit in its code.
*/

#include <signal.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "embed.h"
#include "gil.h"
#include "lglib.h"
#include "luagil.h"
#include "tstate.h"


static char SENTINEL;         /* registry key: the sentinel */
static char DEFERRED;         /* registry key: finalizers run after the join */
static int closed;            /* GIL: the sentinel ran */
static void (*ourhandler) (int);  /* GIL: luagil's SIGINT handler */


/*
** {======================================================
** Finalizers at lua_close
** =======================================================
*/

/* Is this finalizer run by lua_close? See the notes. */
static int inclose (lua_State *L) {
  lua_Debug ar;
  int ismain = lua_pushthread(L);
  lua_pop(L, 1);
  return ismain && !closed && !lua_getstack(L, 1, &ar);
}


/* Run the deferred finalizers (errors are dropped, as lua_close does). */
static void rundeferred (lua_State *L) {
  int n;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &DEFERRED) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &DEFERRED);
  n = (int)lua_rawlen(L, -1);
  for (int i = 1; i + 1 <= n; i += 2) {
    lua_rawgeti(L, -1, i + 1);  /* the original __gc */
    lua_rawgeti(L, -2, i);      /* the object */
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
      lua_pop(L, 1);
  }
  lua_pop(L, 1);
}


/* __gc(obj): the wrapper of a C finalizer, upvalue 1 */
static int guarded_gc (lua_State *L) {
  if (inclose(L)) {  /* keep it for after the join */
    int n;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &DEFERRED) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_rawsetp(L, LUA_REGISTRYINDEX, &DEFERRED);
    }
    n = (int)lua_rawlen(L, -1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, n + 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_rawseti(L, -2, n + 2);
    return 0;
  }
  rundeferred(L);  /* any that were deferred by mistake */
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 1, 0);
  return 0;
}


/* Wrap the C finalizers of the metatables in the registry. */
static void guardall (lua_State *L) {
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX)) {  /* stack: key value */
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
      lua_CFunction f;
      lua_getfield(L, -1, "__gc");  /* stack: key mt gc */
      f = lua_tocfunction(L, -1);
      if (f != NULL && f != guarded_gc) {
        lua_pushcclosure(L, guarded_gc, 1);
        lua_setfield(L, -2, "__gc");
      }
      else
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}


/* The sentinel's __gc: lua_close has begun. */
static int sentinel_gc (lua_State *L) {
  lg_TState *ts = lg_tstate_current();
  if (closed)
    return 0;
  if (ts != NULL && lg_gil_held(ts)) {  /* else we cannot wait here */
    if (luagil_shutdown(L) != LUA_OK) {
      lua_writestringerror("luagil: %s\n", luaL_tolstring(L, -1, NULL));
      lua_pop(L, 2);
    }
    lg_Interp *p = lg_interp_byistate(ts->interp);
    if (p != NULL)
      lg_embed_closing(p, ts);
    lg_gil_finalize(ts->interp);
    if (p != NULL)
      lg_embed_closed(p);
  }
  closed = 1;
  rundeferred(L);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Openers
** =======================================================
*/

/* Put luagil's SIGINT handler back if stock lua replaced it. */
static void catchsigint (void) {
  struct sigaction sa;
  sigaction(SIGINT, NULL, &sa);
  if (ourhandler == NULL || sa.sa_handler != ourhandler) {
    luagil_catch_sigint(1);
    sigaction(SIGINT, NULL, &sa);
    ourhandler = sa.sa_handler;
  }
}


/* _thread's functions that start a thread, upvalue 1 */
static int startthread (lua_State *L) {
  catchsigint();
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}


/* A module's opener, upvalue 1: opens it, then guards its finalizers. */
static int guardedopen (lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  if (lua_istable(L, -1)) {  /* _thread: catch Ctrl-C when threads start */
    static const char *const starters[] = {"start_new_thread",
                                           "start_joinable_thread"};
    for (int i = 0; i < 2; i++) {
      lua_getfield(L, -1, starters[i]);
      if (lua_tocfunction(L, -1) != NULL &&
          lua_tocfunction(L, -1) != startthread) {
        lua_pushcclosure(L, startthread, 1);
        lua_setfield(L, -2, starters[i]);
      }
      else
        lua_pop(L, 1);
    }
  }
  guardall(L);
  return 1;
}


/* Module mode: a module keeps only its luagil. name, and its short name
** what package.preload had before luagil. */
static void moveaside (lua_State *L, int preload, const char *name,
                       int saved) {
  lua_pushfstring(L, "luagil.%s", name);
  lua_getfield(L, preload, name);
  lua_rawset(L, preload);
  lua_pushvalue(L, saved);  /* what was there before luagil */
  lua_setfield(L, preload, name);
}


/* Wrap every C opener in package.preload with guardedopen. */
static void guardopeners (lua_State *L, int preload) {
  lua_pushnil(L);
  while (lua_next(L, preload)) {  /* stack: name opener */
    if (lua_tocfunction(L, -1) != NULL &&
        lua_tocfunction(L, -1) != guardedopen) {
      lua_pushcclosure(L, guardedopen, 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);  /* stack: name name closure */
      lua_rawset(L, preload);
    }
    else
      lua_pop(L, 1);
  }
}


/* First require in a Lua that luagil does not run yet: install it. */
static void install (lua_State *L) {
  int preload;
  if (luagil_install(L, NULL) != LUA_OK)
    lua_error(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  preload = lua_gettop(L);
  lua_getfield(L, preload, "logging");      /* preload + 1 */
  lua_getfield(L, preload, "socket");       /* preload + 2 */
  lua_getfield(L, preload, "socket.core");  /* preload + 3 */
  luagil_openlibs(L);
  moveaside(L, preload, "logging", preload + 1);
  if (!lua_isnil(L, preload + 2))  /* a host's own: it stays */
    moveaside(L, preload, "socket", preload + 2);
  if (!lua_isnil(L, preload + 3))
    moveaside(L, preload, "socket.core", preload + 3);
  guardopeners(L, preload);
  guardall(L);
  lua_settop(L, preload - 1);
  lua_newuserdatauv(L, 1, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, sentinel_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &SENTINEL);
}


/* luagil.<name> -> require("luagil.<name>") */
static int module_index (lua_State *L) {
  const char *name = luaL_checkstring(L, 2);
  lua_getglobal(L, "require");
  lua_pushfstring(L, "luagil.%s", name);
  lua_call(L, 1, 1);
  return 1;
}


int luagil_openmodule (lua_State *L) {
  if (!lg_interp_owns(L))
    install(L);
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, LUAGIL_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, module_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  return 1;
}

/* }====================================================== */
