/*
** stdlib/cancel.c -- cooperative cancellation: t:cancel([message]),
** threading.shield, threading.Cancelled.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** A cancel is an interrupt of the thread's waiter (vm/tstate.h,
** LG_INTR_CANCEL): lg_waiter_interrupt sets it and wakes the thread
** wherever it waits, and every wait of luagil ends with LG_INTERRUPTED and
** raises through the raiser (stdlib/diag.c), which calls lg_cancel_raise
** here. Running Lua raises at its next switch point (vm/breaker.c). It is
** level-triggered: the flag stays set until the thread's function ends,
** so every later checkpoint raises again; only the main thread's is
** raised once, as a Ctrl-C from _thread.interrupt_main() is.
**
** Holding it off is the waiter's 'shield' depth: threading.shield raises
** it around its function, a task of _thread starts with one (so that
** threading's bootstrap runs its own code unshielded only inside _run),
** and a thread whose function has ended gets ENDED for good, which also
** tells a later cancel that there is nothing to do.
**
** The messages live in a registry table keyed by the waiter's address
** (GIL), set by the cancel and dropped when the function ends.
*/

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "waitq.h"

#define CANCELLED  "threading.Cancelled"
#define DEFAULT    "cancelled"
#define ENDED      0x100000  /* a shield depth no nesting reaches */

static char MESSAGES;  /* registry key: waiter address -> message */


/* Push the table of messages (made if missing). */
static void messages (lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &MESSAGES) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &MESSAGES);
  }
}


/* messages[w] = the value on top (popped; nil drops it). */
static void setmessage (lua_State *L, const lg_Waiter *w) {
  messages(L);
  lua_insert(L, -2);
  lua_rawsetp(L, -2, w);
  lua_pop(L, 1);
}


/* Does a cancel of 'w' only raise once (the main thread's)? */
static int oneshot (const lg_Waiter *w) {
  lg_TState *ts = atomic_load(&w->ts);
  return ts != NULL && ts->is_main && w == &ts->self;
}


int lg_cancel (lua_State *L, lg_Waiter *w, int msg) {
  if (w->shield >= ENDED)
    return 0;  /* its function has ended: nothing to cancel */
  lua_pushvalue(L, msg);
  setmessage(L, w);
  lg_waiter_interrupt(w, LG_INTR_CANCEL);
  return 1;
}


int lg_cancel_raise (lua_State *L, lg_Waiter *w) {
  const char *msg;
  w->raised_ns = lg_now_ns();
  messages(L);
  lua_rawgetp(L, -1, w);
  msg = lua_tostring(L, -1);
  lg_error_push(L, CANCELLED, msg != NULL ? msg : DEFAULT);
  if (oneshot(w)) {
    atomic_fetch_and(&w->intr, ~LG_INTR_CANCEL);
    lua_pushnil(L);
    setmessage(L, w);
  }
  else  /* running Lua looks again, should a pcall catch this one */
    lg_breaker_arm_self(lg_tstate_current());
  return lua_error(L);
}


/* The caller's function has ended: cancels do nothing from now on. */
static void ended (lua_State *L, lg_Waiter *w) {
  w->shield = ENDED;
  atomic_fetch_and(&w->intr, ~LG_INTR_CANCEL);
  lua_pushnil(L);
  setmessage(L, w);
}


/*
** {======================================================
** Lua functions
** =======================================================
*/

/* Raise a cancel of the caller that came while it was held off. */
static int raisepending (lua_State *L, lg_Waiter *w) {
  if (lg_waiter_cancelled(w))
    return lg_breaker_raise_interrupt(L);
  return 0;
}


static int shield_k (lua_State *L, int status, lua_KContext ctx) {
  lg_Waiter *w = lg_waiter_self();
  (void)ctx;
  if (w != NULL)
    w->shield--;
  if (status != LUA_OK && status != LUA_YIELD)
    return lua_error(L);  /* fn's own error, as it came */
  raisepending(L, w);
  return lua_gettop(L);
}


/* threading.shield(fn, ...) -> the results of fn(...), run with
** cancellation held off; a cancel that came meanwhile raises after */
static int cancel_shield (lua_State *L) {
  lg_Waiter *w = lg_waiter_self();
  lg_sync_checkcallable(L, 1);
  if (w != NULL)
    w->shield++;
  return shield_k(L, lua_pcallk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, 0,
                                shield_k), 0);
}


static int run_k (lua_State *L, int status, lua_KContext ctx) {
  lg_Waiter *w = lg_waiter_self();
  (void)ctx;
  if (w != NULL)
    ended(L, w);
  lua_pushboolean(L, status == LUA_OK || status == LUA_YIELD);
  lua_replace(L, 1);
  lua_remove(L, 2);  /* stack: ok results-or-error */
  return lua_gettop(L);
}


/*
** _thread._run(f, msgh, ...) -> as xpcall(f, msgh, ...): what threading
** runs a thread's function with. The task's shield (see the notes) is
** lifted for f alone: a cancel that came before f began raises at its
** first instruction, and none raises after it ended.
*/
static int cancel_run (lua_State *L) {
  lg_Waiter *w = lg_waiter_self();
  lg_sync_checkcallable(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 1);  /* stack: f msgh f args */
  if (w != NULL && w->shield > 0 && w->shield < ENDED) {
    w->shield--;
    if (lg_waiter_cancelled(w))
      lg_breaker_arm_self(lg_tstate_current());
  }
  return run_k(L, lua_pcallk(L, lua_gettop(L) - 3, LUA_MULTRET, 2, 0,
                             run_k), 0);
}


/* _thread._cancel_main([message]) -> true if the main thread's function
** (the main chunk) was still running */
static int cancel_main (lua_State *L) {
  lg_TState *ts = lg_tstate_main(lg_interp_current());
  lua_settop(L, 1);
  lua_pushboolean(L, ts != NULL && lg_cancel(L, &ts->self, 1));
  return 1;
}


/* _thread._end(): the caller's function has ended (the main chunk) */
static int cancel_end (lua_State *L) {
  lg_Waiter *w = lg_waiter_self();
  if (w != NULL)
    ended(L, w);
  return 0;
}


static const luaL_Reg cancel_funcs[] = {
  {"shield", cancel_shield},
  {"_run", cancel_run},
  {"_cancel_main", cancel_main},
  {"_end", cancel_end},
  {NULL, NULL}
};


void lg_open_cancel (lua_State *L) {
  luaL_setfuncs(L, cancel_funcs, 0);
  lg_error_pushkind(L, CANCELLED, NULL);
  lua_setfield(L, -2, "Cancelled");
}

/* }====================================================== */
