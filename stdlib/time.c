/*
** stdlib/time.c -- the 'time' module: clocks, sleep, and calendar time
** (localtime, gmtime, mktime, ctime, asctime, strftime) with Python's
** struct_time as a table: fields tm_year .. tm_isdst, tm_zone, tm_gmtoff,
** and the first nine also at 1 .. 9 as Python's tuple.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "gil.h"
#include "lglib.h"
#include "tstate.h"
#include "waitq.h"


static lua_Number seconds (clockid_t id) {
  struct timespec t;
  lg_clock_gettime(id, &t);
  return (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec * 1e-9;
}


static lua_Integer nanoseconds (clockid_t id) {
  struct timespec t;
  lg_clock_gettime(id, &t);  /* virtual under the deterministic policy */
  return (lua_Integer)t.tv_sec * 1000000000 + t.tv_nsec;
}


/* time.sleep(seconds): releases the GIL; sleep(0) yields it (and raises
** a pending cancel, as any checkpoint does) */
static int time_sleep (lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, !isnan(s), 1, "Invalid value NaN (not a number)");
  luaL_argcheck(L, s >= 0, 1, "sleep length must be non-negative");
  /* Python's OverflowError: an infinite sleep is not a sleep. */
  luaL_argcheck(L, s <= LG_TIMEOUT_MAX, 1, "sleep length is too large");
  if (s > 0)
    return lg_sleep(L, s);
  if (lg_waiter_cancelled(lg_waiter_self()))  /* a checkpoint all the same */
    return lg_breaker_raise_interrupt(L);
  lg_gil_yield_if_waiting(lg_tstate_current());
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


/* {====================================================================
** Calendar time
** =====================================================================*/

static const char *const fields[] = {
  "tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec",
  "tm_wday", "tm_yday", "tm_isdst", NULL
};

/* Python's words for a field out of range, in the order of 'fields'. */
static const char *const outofrange[] = {
  "year out of range", "month out of range", "day of month out of range",
  "hour out of range", "minute out of range", "seconds out of range",
  "day of week out of range", "day of year out of range",
  "isdst out of range"
};


/* Seconds at 'arg', or now if none; the error Python gives otherwise. */
static time_t checkseconds (lua_State *L, int arg) {
  lua_Number s;
  if (lua_isnoneornil(L, arg))
    return time(NULL);
  s = luaL_checknumber(L, arg);
  luaL_argcheck(L, !isnan(s), arg, "Invalid value NaN (not a number)");
  luaL_argcheck(L, s >= -67768040609740800.0 && s <= 67768036191676799.0,
                arg, "timestamp out of range for platform time_t");
  return (time_t)s;
}


/* The seconds at 'arg' (now if none) as local time, or UTC if not 'local'. */
static void secondstotm (lua_State *L, int arg, int local, struct tm *tm) {
  time_t t = checkseconds(L, arg);
  if ((local ? localtime_r(&t, tm) : gmtime_r(&t, tm)) == NULL)
    luaL_argerror(L, arg, "timestamp out of range for platform time_t");
}


/* Pushes 'tm' as a struct_time table: Python's numbering (months from 1,
** weekdays from 0 = Monday, year days from 1). */
static void pushtm (lua_State *L, const struct tm *tm) {
  lua_Integer v[9];
  int i;
  v[0] = (lua_Integer)tm->tm_year + 1900;
  v[1] = tm->tm_mon + 1;
  v[2] = tm->tm_mday;
  v[3] = tm->tm_hour;
  v[4] = tm->tm_min;
  v[5] = tm->tm_sec;
  v[6] = (tm->tm_wday + 6) % 7;
  v[7] = tm->tm_yday + 1;
  v[8] = tm->tm_isdst;
  lua_createtable(L, 9, 11);
  for (i = 0; i < 9; i++) {
    lua_pushinteger(L, v[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, i + 1);
    lua_setfield(L, -2, fields[i]);
  }
  lua_pushstring(L, tm->tm_zone != NULL ? tm->tm_zone : "");
  lua_setfield(L, -2, "tm_zone");
  lua_pushinteger(L, tm->tm_gmtoff);
  lua_setfield(L, -2, "tm_gmtoff");
}


/*
** A struct_time table at 'arg' (named fields, else 1 .. 9) into '*tm'.
** Every field must fit a C int (the year after taking 1900 off), as
** Python's tuple parsing demands: a cast would turn year maxinteger into
** -1. Errors are argument errors, with Python's words.
*/
static void checktm (lua_State *L, int arg, struct tm *tm) {
  lua_Integer v[9];
  int i;
  luaL_checktype(L, arg, LUA_TTABLE);
  for (i = 0; i < 9; i++) {
    int isnum;
    lua_Integer lo = INT_MIN, hi = INT_MAX;
    if (lua_getfield(L, arg, fields[i]) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_rawgeti(L, arg, i + 1);
    }
    v[i] = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum) {
      const char *msg = lua_pushfstring(L,
          "struct_time field '%s' must be an integer", fields[i]);
      luaL_argerror(L, arg, msg);
    }
    if (i == 0)
      lo += 1900;  /* tm_year is the year - 1900 */
    else if (i == 1 || i == 7)
      lo += 1;  /* tm_mon and tm_yday count from 0 */
    else if (i == 6)
      hi -= 1;  /* tm_wday is taken + 1 below */
    if (v[i] < lo || v[i] > hi)
      luaL_argerror(L, arg, outofrange[i]);
  }
  memset(tm, 0, sizeof *tm);
  tm->tm_year = (int)(v[0] - 1900);
  tm->tm_mon = (int)v[1] - 1;
  tm->tm_mday = (int)v[2];
  tm->tm_hour = (int)v[3];
  tm->tm_min = (int)v[4];
  tm->tm_sec = (int)v[5];
  tm->tm_wday = (int)((v[6] + 1) % 7);
  tm->tm_yday = (int)v[7] - 1;
  tm->tm_isdst = (int)v[8];
}


/*
** What strftime and asctime index names with must be in range: Python's
** checks, which also take 0 for the smallest month, day of month and day
** of year (a struct_time of zeros is accepted).
*/
static void checkranges (lua_State *L, int arg, struct tm *tm) {
  if (tm->tm_mon == -1)
    tm->tm_mon = 0;
  if (tm->tm_mday == 0)
    tm->tm_mday = 1;
  if (tm->tm_yday == -1)
    tm->tm_yday = 0;
  if (tm->tm_isdst < -1)
    tm->tm_isdst = -1;
  else if (tm->tm_isdst > 1)
    tm->tm_isdst = 1;
  luaL_argcheck(L, tm->tm_mon >= 0 && tm->tm_mon <= 11, arg, outofrange[1]);
  luaL_argcheck(L, tm->tm_mday >= 1 && tm->tm_mday <= 31, arg,
                outofrange[2]);
  luaL_argcheck(L, tm->tm_hour >= 0 && tm->tm_hour <= 23, arg,
                outofrange[3]);
  luaL_argcheck(L, tm->tm_min >= 0 && tm->tm_min <= 59, arg, outofrange[4]);
  luaL_argcheck(L, tm->tm_sec >= 0 && tm->tm_sec <= 61, arg, outofrange[5]);
  luaL_argcheck(L, tm->tm_wday >= 0, arg, outofrange[6]);
  luaL_argcheck(L, tm->tm_yday >= 0 && tm->tm_yday <= 365, arg,
                outofrange[7]);
}


/* The struct tm at 'arg' (a table, range-checked), or local time now if
** none. */
static void opttm (lua_State *L, int arg, struct tm *tm) {
  if (lua_isnoneornil(L, arg))
    secondstotm(L, arg, 1, tm);  /* now */
  else {
    checktm(L, arg, tm);
    checkranges(L, arg, tm);
  }
}


/* time.localtime([seconds]) -> struct_time */
static int time_localtime (lua_State *L) {
  struct tm tm;
  secondstotm(L, 1, 1, &tm);
  pushtm(L, &tm);
  return 1;
}


/* time.gmtime([seconds]) -> struct_time */
static int time_gmtime (lua_State *L) {
  struct tm tm;
  secondstotm(L, 1, 0, &tm);
  pushtm(L, &tm);
  return 1;
}


/* time.mktime(struct_time) -> seconds (local time) */
static int time_mktime (lua_State *L) {
  struct tm tm;
  time_t t;
  checktm(L, 1, &tm);
  tm.tm_wday = -1;  /* mktime leaves it alone only on failure */
  t = mktime(&tm);
  if (t == (time_t)-1 && tm.tm_wday == -1)
    return luaL_error(L, "mktime argument out of range");
  lua_pushnumber(L, (lua_Number)t);
  return 1;
}


/* Python's asctime format: "Sun Jun 20 23:21:05 1993". */
static void pushasctime (lua_State *L, const struct tm *tm) {
  static const char days[] = "MonTueWedThuFriSatSun";
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char buf[64];
  int wd = (tm->tm_wday + 6) % 7, mon = tm->tm_mon;
  if (wd < 0 || wd > 6) wd = 0;
  if (mon < 0 || mon > 11) mon = 0;
  snprintf(buf, sizeof buf, "%.3s %.3s%3d %.2d:%.2d:%.2d %lld",
           days + 3 * wd, months + 3 * mon, tm->tm_mday, tm->tm_hour,
           tm->tm_min, tm->tm_sec, tm->tm_year + 1900LL);  /* no overflow */
  lua_pushstring(L, buf);
}


/* time.ctime([seconds]) -> string */
static int time_ctime (lua_State *L) {
  struct tm tm;
  secondstotm(L, 1, 1, &tm);
  pushasctime(L, &tm);
  return 1;
}


/* time.asctime([struct_time]) -> string */
static int time_asctime (lua_State *L) {
  struct tm tm;
  opttm(L, 1, &tm);
  pushasctime(L, &tm);
  return 1;
}


/* time.strftime(format [, struct_time]) -> string */
static int time_strftime (lua_State *L) {
  size_t flen;
  const char *fmt = luaL_checklstring(L, 1, &flen);
  struct tm tm;
  luaL_Buffer b;
  size_t size = 256;
  luaL_argcheck(L, memchr(fmt, '\0', flen) == NULL, 1,
                "embedded null character");
  opttm(L, 2, &tm);
  if (flen == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  for (;;) {
    /* strftime cannot tell "empty result" from "too small": a space
    ** appended to the format makes every result non-empty. */
    char *fmt2 = (char *)lua_newuserdatauv(L, flen + 2, 0);
    char *out;
    size_t n;
    memcpy(fmt2, fmt, flen);
    fmt2[flen] = ' ';
    fmt2[flen + 1] = '\0';
    luaL_buffinit(L, &b);
    out = luaL_prepbuffsize(&b, size);
    n = strftime(out, size, fmt2, &tm);
    if (n > 0) {
      luaL_addsize(&b, n - 1);  /* without the space */
      luaL_pushresult(&b);
      return 1;
    }
    lua_settop(L, 2);
    luaL_argcheck(L, size < 1024 * flen + 4096, 1, "format too long");
    size *= 4;
  }
}


/* }==================================================================== */


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
  {"localtime", time_localtime},
  {"gmtime", time_gmtime},
  {"mktime", time_mktime},
  {"ctime", time_ctime},
  {"asctime", time_asctime},
  {"strftime", time_strftime},
  {NULL, NULL}
};


int luaopen_time (lua_State *L) {
  luaL_newlib(L, time_funcs);
  return 1;
}
