/*
** stdlib/coroutine.c -- GIL-aware coroutine.resume, wrap and close.
** See LICENSE for copyright and licence (MIT).
**
** The eval breaker must arm its hook on the state a thread is running right
** now, and a thread may be inside a coroutine. These replacements record
** the coroutine being resumed in the thread's lg_TState for the length of
** the resume. A C module that calls lua_resume itself is not seen: its
** coroutine is preempted only once it yields or returns (or when it next
** resumes a coroutine through these functions).
**
** A thread's base state yields when the thread waits at its top level
** (vm/task.h), but it is no coroutine: yield and isyieldable say so, as in
** the main thread, and a waiting one is "normal" to status, resume and
** close, as when it runs.
*/

#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "lglib.h"
#include "task.h"
#include "tstate.h"


static lua_State *getco (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);  /* stock Lua says "thread expected" */
  return lua_tothread(L, 1);
}


/* Is 'L' the base state of the thread running it? */
static int isownbase (lua_State *L) {
  lg_TState *ts = lg_tstate_current();
  return ts != NULL && ts->task != NULL && ts->task->L == L;
}


/* "running", "suspended", "normal" or "dead", as coroutine.status says */
static const char *statusof (lua_State *L, lua_State *co) {
  lua_Debug ar;
  if (L == co)
    return "running";
  switch (lua_status(co)) {
    case LUA_YIELD:  /* a waiting thread's base state is busy elsewhere */
      return lg_task_nwaiting(lg_interp_current()) > 0 && lg_thread_isbase(L, co) ? "normal"
                                                                : "suspended";
    case LUA_OK:
      if (lua_getstack(co, 0, &ar))  /* it resumed another: active */
        return "normal";
      return lua_gettop(co) == 0 ? "dead" : "suspended";
    default:  /* it stopped with an error */
      return "dead";
  }
}


/* Run 'co' as the thread's current state; returns lua_resume's status. */
static int tracked_resume (lua_State *L, lua_State *co, int narg, int *nres) {
  lg_TState *ts = lg_tstate_current();
  lua_State *prev = ts ? lg_tstate_setrunning(ts, co) : NULL;
  if (ts != NULL)
    lg_breaker_follow(ts);  /* counting policies count inside it too */
  int status = lua_resume(co, L, narg, nres);
  if (ts != NULL) {
    lg_tstate_setrunning(ts, prev);
    if (status > LUA_YIELD && lg_waiter_cancelled(ts->cur))
      lg_breaker_arm_self(ts);  /* a Cancelled may have ended 'co': the
                                   resumer's Lua looks again (breaker.c) */
  }
  return status;
}


/*
** Resume 'co' with the 'narg' values on top of 'L'. On success moves the
** results to 'L' and returns their number; on failure leaves the error
** on 'L' and returns -1.
*/
static int auxresume (lua_State *L, lua_State *co, int narg) {
  int status, nres;
  const char *st = statusof(L, co);
  if (strcmp(st, "suspended") != 0) {
    lua_pushfstring(L, "cannot resume %s coroutine",
                    strcmp(st, "dead") == 0 ? "dead" : "non-suspended");
    return -1;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  status = tracked_resume(L, co, narg, &nres);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);  /* the error object */
  return -1;
}


/* coroutine.resume(co, ...) -> true, ... | false, err */
static int co_resume (lua_State *L) {
  lua_State *co = getco(L);
  int r = auxresume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}


/* The function coroutine.wrap returns: resumes, re-raising errors. */
static int co_wrapped (lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = auxresume(L, co, lua_gettop(L));
  if (r >= 0)
    return r;
  int st = lua_status(co);
  if (st != LUA_OK && st != LUA_YIELD) {  /* it died: close it */
    st = lua_resetthread(co);
    lua_pop(L, 1);
    lua_xmove(co, L, 1);
  }
  if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);  /* add the caller's position, as stock Lua does */
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}


/* coroutine.wrap(f) -> function */
static int co_wrap (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, co_wrapped, 1);
  return 1;
}


/* coroutine.close(co) -> true | false, err */
static int co_close (lua_State *L) {
  lua_State *co = getco(L);
  const char *st = statusof(L, co);
  lg_TState *ts = lg_tstate_current();
  if (strcmp(st, "suspended") != 0 && strcmp(st, "dead") != 0)
    return luaL_error(L, "cannot close a %s coroutine", st);
  lua_State *prev = ts ? lg_tstate_setrunning(ts, co) : NULL;
  int status = lua_resetthread(co);  /* runs its pending __close */
  if (ts != NULL)
    lg_tstate_setrunning(ts, prev);
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}


/* coroutine.status(co) */
static int co_status (lua_State *L) {
  lua_pushstring(L, statusof(L, getco(L)));
  return 1;
}


/* coroutine.yield(...) */
static int co_yield (lua_State *L) {
  if (isownbase(L))
    return luaL_error(L, "attempt to yield from outside a coroutine");
  return lua_yield(L, lua_gettop(L));
}


/* coroutine.isyieldable([co]) */
static int co_isyieldable (lua_State *L) {
  lua_State *co = lua_isnone(L, 1) ? L : getco(L);
  int base = co == L ? isownbase(L) : lg_thread_isbase(L, co);
  lua_pushboolean(L, lua_isyieldable(co) && !base);
  return 1;
}


static const luaL_Reg co_funcs[] = {
  {"resume", co_resume},
  {"status", co_status},
  {"yield", co_yield},
  {"isyieldable", co_isyieldable},
  {"wrap", co_wrap},
  {"close", co_close},
  {NULL, NULL}
};


void lg_open_coroutine (lua_State *L) {
  if (lua_getglobal(L, "coroutine") == LUA_TTABLE)
    luaL_setfuncs(L, co_funcs, 0);
  lua_pop(L, 1);
}
