/*
** stdlib/lglib.c -- helpers shared by luagil's modules.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "park.h"
#include "task.h"
#include "tstate.h"
#include "waitq.h"


int lg_openchunk (lua_State *L, const char *source, size_t size,
                  const char *chunkname) {
  if (luaL_loadbuffer(L, source, size, chunkname) != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}


void lg_createmeta (lua_State *L, const char *tname,
                    const luaL_Reg *methods, const luaL_Reg *meta,
                    lua_CFunction index) {
  luaL_newmetatable(L, tname);  /* stack: mt */
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);  /* stack: mt methods */
  if (index != NULL)
    lua_pushcclosure(L, index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


const char *lg_fieldname (lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return NULL;
  return lua_tostring(L, 2);
}


double lg_timeout (lua_State *L, int arg, int negative) {
  double t;
  if (lua_isnoneornil(L, arg))
    return -1;
  t = luaL_checknumber(L, arg);
  luaL_argcheck(L, t == t, arg, "Invalid value NaN (not a number)");
  luaL_argcheck(L, t <= LG_TIMEOUT_MAX, arg, "timeout value is too large");
  if (t >= 0)
    return t;
  switch (negative) {
    case LG_TIMEOUT_LOCK:
      luaL_argcheck(L, t == -1, arg, "timeout value must be positive");
      return -1;
    case LG_TIMEOUT_QUEUE:
      return luaL_argerror(L, arg, "'timeout' must be a non-negative number");
    default:
      return 0;  /* Python polls */
  }
}


double lg_opttimeout (lua_State *L, int arg) {
  return lg_timeout(L, arg, LG_TIMEOUT_POLL);
}


double lg_waitargs (lua_State *L, int arg) {
  if (!lua_isnoneornil(L, arg)) {
    luaL_checktype(L, arg, LUA_TBOOLEAN);
    if (!lua_toboolean(L, arg)) {  /* Python does not look at the timeout */
      luaL_optnumber(L, arg + 1, 0);
      return 0;
    }
  }
  return lg_timeout(L, arg + 1, LG_TIMEOUT_QUEUE);
}


/*
** Push the key under which the table at the top holds the function at
** 'fn', and return true; else push nothing and return false. Pops the
** table.
*/
static int keyof (lua_State *L, int fn) {
  lua_pushnil(L);  /* stack: t key */
  while (lua_next(L, -2)) {
    if (lua_rawequal(L, -1, fn) && lua_type(L, -2) == LUA_TSTRING) {
      lua_pop(L, 1);
      lua_remove(L, -2);
      return 1;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}


/*
** Push the name of the function at 'fn' in the metatable at the top or in
** its method table (a table __index, or the upvalue of a function one),
** and return true; else push nothing and return false. Pops the
** metatable.
*/
static int nameinmeta (lua_State *L, int fn) {
  int mt = lua_gettop(L);
  if (lua_type(L, mt) == LUA_TTABLE) {
    lua_getfield(L, mt, "__index");
    if (lua_type(L, -1) == LUA_TFUNCTION && lua_getupvalue(L, -1, 1))
      lua_remove(L, -2);  /* stack: mt methods */
    if (lua_type(L, -1) == LUA_TTABLE && keyof(L, fn)) {
      lua_remove(L, mt);  /* stack: name */
      return 1;
    }
    lua_settop(L, mt);
    if (keyof(L, fn))
      return 1;
  }
  lua_settop(L, mt - 1);
  return 0;
}


/*
** Push the name of the running C function, a method or metamethod of the
** type 'tname', or else of any type in the registry (x:guard() serves
** many), and return true; else push nothing and return false.
*/
static int methodname (lua_State *L, const char *tname) {
  lua_Debug ar;
  int fn;
  if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "f", &ar))
    return 0;
  fn = lua_gettop(L);
  luaL_getmetatable(L, tname);
  if (nameinmeta(L, fn))
    goto found;
  lua_pushnil(L);  /* stack: fn key */
  while (lua_next(L, LUA_REGISTRYINDEX)) {  /* stack: fn key value */
    int named = lua_type(L, -2) == LUA_TSTRING &&
                lua_type(L, -1) == LUA_TTABLE &&
                lua_getfield(L, -1, "__name") == LUA_TSTRING;
    lua_settop(L, fn + 2);
    if (named && nameinmeta(L, fn))
      goto found;
    lua_settop(L, fn + 1);
  }
  lua_settop(L, fn - 1);
  return 0;
found:  /* stack: fn ... name */
  lua_replace(L, fn);
  lua_settop(L, fn);
  return 1;
}


int lg_typeerror (lua_State *L, int arg, const char *tname) {
  lua_Debug ar;
  const char *got, *msg;
  if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING)
    got = lua_tostring(L, -1);
  else if (lua_type(L, arg) == LUA_TLIGHTUSERDATA)
    got = "light userdata";
  else
    got = luaL_typename(L, arg);
  msg = lua_pushfstring(L, "%s expected, got %s", tname, got);
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) &&
      ar.name == NULL && methodname(L, tname))
    return luaL_error(L, "bad argument #%d to '%s' (%s)", arg,
                      lua_tostring(L, -1), msg);
  return luaL_argerror(L, arg, msg);
}


int lg_finalising (lua_State *L) {
  lua_Debug ar;
  return lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) &&
         ar.name != NULL && strcmp(ar.name, "__gc") == 0 &&
         strcmp(ar.namewhat, "metamethod") == 0;  /* Lua's own name for it */
}


/* After a sleep that yielded: the deadline passed, or a cancellation
** woke the task early (lg_waiter_interrupt). */
static int slept (lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  lg_wait_end();
  if (lg_waiter_interrupted(lg_waiter_self()))
    lg_breaker_raise_interrupt(L);
  return 0;
}


int lg_sleep (lua_State *L, double seconds) {
  lg_TState *ts = lg_tstate_current();
  struct timespec dl, *deadline = lg_vdeadline(seconds, &dl);
  lg_Task *t;
  int r = LG_TIMEDOUT;
  if (ts == NULL)
    return 0;
  if (lg_waiter_interrupted(ts->cur))  /* a cancelled thread: at once */
    return lg_breaker_raise_interrupt(L);
  lg_wait_begin(L, "time.sleep", NULL, NULL, NULL, NULL);
  if ((t = lg_task_yieldable(L)) != NULL)
    return lg_task_sleep(L, t, deadline, slept);
  if (deadline != NULL && lg_clock_isvirtual())
    r = lg_waitq_vsleep(deadline);  /* the deterministic policy's time */
  else {
    lg_blocking_own();
    LG_BEGIN_BLOCKING
    do  /* a stray wake-up token only shortens one park */
      r = lg_park(ts, deadline, 0);
    while (r == LG_WOKEN && !lg_waiter_interrupted(ts->cur));
    LG_END_BLOCKING
  }
  lg_wait_end();
  if (r != LG_TIMEDOUT)  /* Ctrl-C, or an interrupt of the thread */
    lg_breaker_raise_interrupt(L);
  return 0;
}


void lg_mutex_take (pthread_mutex_t *mu) {
  if (pthread_mutex_trylock(mu) != 0) {
    lg_blocking_own();
    LG_BEGIN_BLOCKING
    lg_check(pthread_mutex_lock(mu));
    LG_END_BLOCKING
  }
}


/*
** {======================================================
** Failure notes (luagil --explore)
** =======================================================
*/

static int notefd = -1;


void lg_note_setfd (int fd) {
  notefd = fd;
}


int lg_note_fd (void) {
  return notefd;
}


/* Append 's' to 'buf' (of 'size', 'n' used), tabs and line ends as
** spaces, up to 'max' bytes of it. Returns the new length. */
static size_t noteput (char *buf, size_t size, size_t n, const char *s,
                       size_t max) {
  for (; s != NULL && *s != '\0' && max > 0 && n + 2 < size; s++, max--)
    buf[n++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
  return n;
}


void lg_note (const char *kind, const char *thread, const char *msg) {
  char buf[1024];
  size_t n = 0;
  if (notefd < 0)
    return;
  n = noteput(buf, sizeof buf, n, kind, 32);
  buf[n++] = '\t';
  n = noteput(buf, sizeof buf, n, thread, 200);
  buf[n++] = '\t';
  n = noteput(buf, sizeof buf, n, msg,
              msg != NULL && strchr(msg, '\n') != NULL
              ? (size_t)(strchr(msg, '\n') - msg) : sizeof buf);
  buf[n++] = '\n';
  while (write(notefd, buf, n) < 0 && errno == EINTR)
    ;
}

/* }====================================================== */
