/*
** stdlib/time.c -- the 'time' module: clocks and sleep.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <time.h>

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "lglib.h"
#include "park.h"


static lua_Number seconds (clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec * 1e-9;
}


static lua_Integer nanoseconds (clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (lua_Integer)t.tv_sec * 1000000000 + t.tv_nsec;
}


/* time.sleep(seconds): releases the GIL; sleep(0) yields it */
static int time_sleep (lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  lg_TState *ts = lg_tstate_current();
  struct timespec deadline;
  int r = LG_TIMEDOUT;
  luaL_argcheck(L, s >= 0, 1, "sleep length must be non-negative");
  if (s == 0) {
    lg_gil_yield_if_waiting(ts);
    return 0;
  }
  lg_deadline(s, &deadline);
  LG_BEGIN_BLOCKING
  do  /* a stray wake-up token only shortens one park */
    r = lg_park(ts, &deadline, 0);
  while (r == LG_WOKEN);
  LG_END_BLOCKING
  if (r == LG_INTERRUPTED)
    return lg_breaker_raise_interrupt(L);
  return 0;
}


/* time.time() -> seconds since the epoch */
static int time_time (lua_State *L) {
  lua_pushnumber(L, seconds(CLOCK_REALTIME));
  return 1;
}


/* time.time_ns() -> integer nanoseconds since the epoch */
static int time_time_ns (lua_State *L) {
  lua_pushinteger(L, nanoseconds(CLOCK_REALTIME));
  return 1;
}


/* time.monotonic(), time.perf_counter() -> seconds */
static int time_monotonic (lua_State *L) {
  lua_pushnumber(L, seconds(CLOCK_MONOTONIC));
  return 1;
}


/* time.monotonic_ns(), time.perf_counter_ns() -> integer nanoseconds */
static int time_monotonic_ns (lua_State *L) {
  lua_pushinteger(L, nanoseconds(CLOCK_MONOTONIC));
  return 1;
}


/* time.process_time() -> CPU seconds of the process */
static int time_process_time (lua_State *L) {
  lua_pushnumber(L, seconds(CLOCK_PROCESS_CPUTIME_ID));
  return 1;
}


/* time.thread_time() -> CPU seconds of the calling thread */
static int time_thread_time (lua_State *L) {
  lua_pushnumber(L, seconds(CLOCK_THREAD_CPUTIME_ID));
  return 1;
}


static const luaL_Reg time_funcs[] = {
  {"sleep", time_sleep},
  {"time", time_time},
  {"time_ns", time_time_ns},
  {"monotonic", time_monotonic},
  {"monotonic_ns", time_monotonic_ns},
  {"perf_counter", time_monotonic},
  {"perf_counter_ns", time_monotonic_ns},
  {"process_time", time_process_time},
  {"thread_time", time_thread_time},
  {NULL, NULL}
};


int luaopen_time (lua_State *L) {
  luaL_newlib(L, time_funcs);
  return 1;
}
