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
#include "waitq.h"


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
** Creation sites and wait records
** =======================================================
*/

/* Is 'ar' a function of one of luagil's own Lua modules (their chunk
** names are "=threading.lua", ...: cmake/embed.cmake)? */
static int ours (const lua_Debug *ar) {
  size_t len = strlen(ar->source);
  return ar->source[0] == '=' && len > 5 &&
         strcmp(ar->source + len - 4, ".lua") == 0;
}


static void copysite (lg_Site *s, const lua_Debug *ar) {
  size_t len = strlen(ar->short_src);
  const char *src = ar->short_src;
  if (len >= sizeof s->src) {  /* keep the end, where the file name is */
    src += len - (sizeof s->src - 4);
    memcpy(s->src, "...", 3);
    memcpy(s->src + 3, src, sizeof s->src - 3);
  }
  else
    memcpy(s->src, src, len + 1);
  s->line = ar->currentline;
}


/*
** The first frame up from the constructor that runs the user's Lua: C
** functions in between (require, a Condition making its RLock) and
** luagil's own modules (a Barrier's Condition, a Future's) are skipped;
** if no frame is the user's, the first that runs Lua. Only the chosen
** frame's line is looked up.
*/
void lg_site_set (lua_State *L, lg_Site *s, const char *kind) {
  lua_Debug ar;
  int level, chosen = 0;
  s->kind = kind;
  s->line = -1;
  s->src[0] = '\0';
  for (level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "S", &ar) || ar.what[0] == 'C')
      continue;
    if (chosen == 0)
      chosen = level;
    if (!ours(&ar)) {
      chosen = level;
      break;
    }
  }
  if (chosen > 0 && lua_getstack(L, chosen, &ar) &&
      lua_getinfo(L, "Sl", &ar))
    copysite(s, &ar);
}


const char *lg_site_push (lua_State *L, const lg_Site *s) {
  if (s->line < 0)
    return lua_pushfstring(L, "%s@?", s->kind);
  return lua_pushfstring(L, "%s@%s:%d", s->kind, s->src, s->line);
}


void lg_wait_begin (lua_State *L, const char *what, const void *obj,
                    const lg_Site *site, lg_Waiter *const *holder,
                    lg_Waiter *target) {
  lg_Waiter *w = lg_waiter_self();
  if (w == NULL)
    return;
  w->wait.obj = obj;
  w->wait.site = site;
  w->wait.holder = holder;
  w->wait.target = target;
  w->wait.dl = 1;
  w->wait.nointr = 0;
  atomic_store_explicit(&w->wait.what, what, memory_order_relaxed);
  if ((holder != NULL || target != NULL) &&
      (atomic_load(&lg_interp_current()->deadlocks) & LG_DEADLOCKS_CYCLE))
    lg_diag_cycle(L, w);
}


void lg_wait_nointr (void) {
  lg_Waiter *w = lg_waiter_self();
  if (w != NULL)
    w->wait.nointr = 1;
}


void lg_wait_end (void) {
  lg_Waiter *w = lg_waiter_self();
  if (w != NULL) {
    atomic_store_explicit(&w->wait.what, NULL, memory_order_relaxed);
    w->wait.dl = w->wait.nointr = 0;
  }
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
