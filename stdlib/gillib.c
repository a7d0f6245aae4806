/*
** stdlib/gillib.c -- the 'gil' module: the GIL's settings and statistics
** (not vm/gil.c, the GIL itself; luaopen_gil keeps the module's name).
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "lglib.h"
#include "stats.h"
#include "trace.h"
#include "waitq.h"


/* gil.getswitchinterval() -> seconds */
static int gil_getswitchinterval (lua_State *L) {
  lua_pushnumber(L, lg_gil_getinterval(lg_interp_current()));
  return 1;
}


/* gil.setswitchinterval(seconds) */
static int gil_setswitchinterval (lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s > 0, 1, "switch interval must be strictly positive");
  luaL_argcheck(L, s <= LG_MAX_INTERVAL, 1, "switch interval is too large");
  lg_gil_setinterval(lg_interp_current(), s);
  return 0;
}


/*
** gil.setwarn(seconds) -> the previous limit: the GIL-hog watchdog warns
** on stderr when a thread keeps the GIL 'seconds' past a drop request
** while others wait; 0 (or false) turns it off. gil.getwarn() -> seconds
*/
static int gil_setwarn (lua_State *L) {
  lua_Number s = 0;
  double old = lg_gil_getwarn(lg_interp_current());
  if (!(lua_isboolean(L, 1) && !lua_toboolean(L, 1))) {
    s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0, 1, "warning limit must be positive or 0");
    luaL_argcheck(L, s <= LG_MAX_INTERVAL, 1, "warning limit is too large");
  }
  lg_gil_setwarn(lg_interp_current(), s);
  lua_pushnumber(L, old);
  return 1;
}


static int gil_getwarn (lua_State *L) {
  lua_pushnumber(L, lg_gil_getwarn(lg_interp_current()));
  return 1;
}


/*
** gil.setpolicy(name [, {n=, seed=, release=}]): "interval" (release:
** "handoff", the default, or "free", CPython 3's), "ticks" (n:
** instructions between drops, default 200), "priority-io" (n: the
** holder keeps n times as long as it was last kept out, default 0),
** "deterministic" (n: average instructions between switches, default
** 1000; seed), "gvl" (n: the time slice in milliseconds, default 100)
*/
static int gil_setpolicy (lua_State *L) {
  static const char *const releases[] = {"handoff", "free", NULL};
  int policy = luaL_checkoption(L, 1, NULL, lg_gil_policynames);
  lua_Integer n = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "n") != LUA_TNIL) {
      luaL_argcheck(L, policy != LG_POLICY_INTERVAL, 2,
                    "'interval' takes no 'n'");
      luaL_argcheck(L, lua_isinteger(L, -1), 2, "field 'n' must be an "
                    "integer");
      n = lua_tointeger(L, -1);
      luaL_argcheck(L, n > 0 && n <= 1000000000, 2,
                    policy == LG_POLICY_GVL
                    ? "n must be a positive number of milliseconds"
                    : policy == LG_POLICY_PRIORITY_IO
                    ? "n must be a positive factor"
                    : "n must be a positive number of instructions");
    }
    if (lua_getfield(L, 2, "seed") != LUA_TNIL) {
      luaL_argcheck(L, lua_isinteger(L, -1), 2, "field 'seed' must be an "
                    "integer");
      lg_gil_seed(lg_interp_current(), (unsigned long)lua_tointeger(L, -1));
    }
    if (lua_getfield(L, 2, "release") != LUA_TNIL) {
      const char *r = lua_tostring(L, -1);
      int k = 0;
      luaL_argcheck(L, policy == LG_POLICY_INTERVAL, 2,
                    "only 'interval' takes a 'release'");
      while (r != NULL && releases[k] != NULL && strcmp(releases[k], r))
        k++;
      luaL_argcheck(L, r != NULL && releases[k] != NULL, 2,
                    "field 'release' must be 'handoff' or 'free'");
      n = k == 1 ? LG_INTERVAL_FREE : LG_INTERVAL_HANDOFF;
    }
    lua_pop(L, 3);
  }
  lg_gil_setpolicy(lg_interp_current(), policy, (long)n);
  return 0;
}


/* gil.getpolicy() -> name, n (interval: "handoff" or "free") */
static int gil_getpolicy (lua_State *L) {
  long n;
  int policy = lg_gil_getpolicy(lg_interp_current(), &n);
  lua_pushstring(L, lg_gil_policynames[policy]);
  if (policy == LG_POLICY_INTERVAL)
    lua_pushstring(L, n == LG_INTERVAL_FREE ? "free" : "handoff");
  else
    lua_pushinteger(L, n);
  return 2;
}


/* gil.seed(n): seeds the deterministic policy and math.random */
static int gil_seed (lua_State *L) {
  lua_Integer seed = luaL_checkinteger(L, 1);
  lg_gil_seed(lg_interp_current(), (unsigned long)seed);
  lua_getglobal(L, "math");
  if (lua_getfield(L, -1, "randomseed") == LUA_TFUNCTION) {
    lua_pushinteger(L, seed);
    lua_call(L, 1, 0);
  }
  return 0;
}


/* gil.setpreempt("any" | "safe") */
static int gil_setpreempt (lua_State *L) {
  static const char *const modes[] = {"any", "safe", NULL};
  int m = luaL_checkoption(L, 1, NULL, modes);
  lg_breaker_setpreempt(lg_interp_current(), m == 0 ? LG_PREEMPT_ANY : LG_PREEMPT_SAFE);
  return 0;
}


/* gil.getpreempt() -> "any" | "safe" */
static int gil_getpreempt (lua_State *L) {
  lua_pushstring(L, lg_breaker_getpreempt(lg_interp_current()) == LG_PREEMPT_ANY ? "any"
                                                              : "safe");
  return 1;
}


#define seconds(ns)  ((lua_Number)(ns) * 1e-9)

/* One thread's entry of gil.stats(), appended to the table on top. */
static void pushthread (const lg_Stats *st, void *ud) {
  lua_State *L = ud;
  lua_createtable(L, 0, 12);
  lua_pushstring(L, st->name);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)st->ident);
  lua_setfield(L, -2, "ident");
  lua_pushboolean(L, st->alive);
  lua_setfield(L, -2, "alive");
  lua_pushinteger(L, atomic_load(&st->acquisitions));
  lua_setfield(L, -2, "acquisitions");
  lua_pushnumber(L, seconds(atomic_load(&st->hold_ns)));
  lua_setfield(L, -2, "hold_s");
  lua_pushnumber(L, seconds(atomic_load(&st->hold_max_ns)));
  lua_setfield(L, -2, "hold_max_s");
  lua_pushnumber(L, seconds(atomic_load(&st->wait_ns)));
  lua_setfield(L, -2, "wait_s");
  lua_pushnumber(L, seconds(atomic_load(&st->wait_max_ns)));
  lua_setfield(L, -2, "wait_max_s");
  lua_pushinteger(L, atomic_load(&st->forced_drops));
  lua_setfield(L, -2, "forced_drops");
  lua_pushinteger(L, atomic_load(&st->blocking_drops));
  lua_setfield(L, -2, "blocking_drops");
  lua_pushinteger(L, atomic_load(&st->requests));
  lua_setfield(L, -2, "requests");
  lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
}


/*
** gil.stats() -> {threads = {{name=, ident=, alive=, acquisitions=,
**   hold_s=, hold_max_s=, wait_s=, wait_max_s=, forced_drops=,
**   blocking_drops=, requests=}, ...}, switches=, requests=, forgotten=};
**   oldest thread first. Only the last 1,000 or so exited threads are
**   listed (see vm/stats.h); 'forgotten' sums the older ones, as one
**   entry whose 'threads' field says how many (0 while none was
**   forgotten).
*/
static int gil_stats (lua_State *L) {
  long switches, requests;
  lg_Stats sum;
  long forgotten = lg_stats_forgotten(lg_interp_current(), &sum);
  lg_Stats *buf;
  long n = lg_stats_copy(lg_interp_current(), NULL, 0), cap;
  /* Copied first: a Lua allocation that raises while the records' mutex
  ** is held would leave it locked. */
  do {
    cap = n + 16;
    buf = lua_newuserdatauv(L, (size_t)cap * sizeof *buf, 0);
    n = lg_stats_copy(lg_interp_current(), buf, cap);
    if (n > cap)
      lua_pop(L, 1);
  } while (n > cap);
  lua_createtable(L, 0, 4);
  lua_createtable(L, (int)n, 0);
  for (long i = 0; i < n; i++)
    pushthread(&buf[i], L);
  /* the records come newest first: reverse */
  for (lua_Integer i = 1, j = luaL_len(L, -1); i < j; i++, j--) {
    lua_rawgeti(L, -1, i);
    lua_rawgeti(L, -2, j);
    lua_rawseti(L, -3, i);
    lua_rawseti(L, -2, j);
  }
  lua_setfield(L, -2, "threads");
  switches = (long)lg_gil_switches(lg_interp_current());
  requests = lg_stats_requests(lg_interp_current());
  lua_pushinteger(L, switches);
  lua_setfield(L, -2, "switches");
  lua_pushinteger(L, requests);
  lua_setfield(L, -2, "requests");
  lua_newtable(L);  /* forgotten: an entry of the sums */
  pushthread(&sum, L);
  lua_rawgeti(L, -1, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "name");
  lua_pushnil(L);
  lua_setfield(L, -2, "ident");
  lua_pushnil(L);
  lua_setfield(L, -2, "alive");
  lua_pushinteger(L, forgotten);
  lua_setfield(L, -2, "threads");
  lua_setfield(L, -3, "forgotten");
  lua_pop(L, 1);
  return 1;
}


/* gil.trace_start(path): record GIL events for a .json or .html file */
static int gil_trace_start (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f;
  int err;
  /* The file is written at the stop: fail now if it cannot be opened. */
  lg_blocking_brief();
  LG_BEGIN_BLOCKING
  f = fopen(path, "a");
  err = errno;
  if (f != NULL)
    fclose(f);
  LG_END_BLOCKING
  if (f == NULL)
    return luaL_error(L, "cannot open file '%s' (%s)", path, strerror(err));
  lg_trace_start(path);
  return 0;
}


/* gil.trace_stop() -> true | fail, message: stop and write the file */
static int gil_trace_stop (lua_State *L) {
  int r;
  lg_blocking_brief();
  LG_BEGIN_BLOCKING  /* writing may take a while */
  r = lg_trace_stop();
  LG_END_BLOCKING
  if (r < 0)
    return luaL_fileresult(L, 0, NULL);
  lua_pushboolean(L, r == 0);
  return 1;
}


static const luaL_Reg gil_funcs[] = {
  {"getswitchinterval", gil_getswitchinterval},
  {"setswitchinterval", gil_setswitchinterval},
  {"setwarn", gil_setwarn},
  {"getwarn", gil_getwarn},
  {"setpreempt", gil_setpreempt},
  {"getpreempt", gil_getpreempt},
  {"setpolicy", gil_setpolicy},
  {"getpolicy", gil_getpolicy},
  {"seed", gil_seed},
  {"stats", gil_stats},
  {"trace_start", gil_trace_start},
  {"trace_stop", gil_trace_stop},
  {NULL, NULL}
};


int luaopen_gil (lua_State *L) {
  luaL_newlib(L, gil_funcs);
  return 1;
}
