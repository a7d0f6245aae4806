/*
** stdlib/os.c -- Lua's 'os' library made GIL-aware: the functions that can
** block (execute, remove, rename, tmpname) release the GIL, exit knows
** about threads, date refuses a year that strftime would wrap round; plus
** getpid and cpu_count. The others (getenv, time, clock, difftime,
** setlocale) never block and stay Lua's own.
** See LICENSE for copyright and licence (MIT).
*/

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "clock.h"
#include "lglib.h"
#include "tstate.h"
#include "waitq.h"


/* A string argument that C will read up to its first zero: Python's error
** if it holds one, rather than acting on a shorter name or command. */
static const char *checkcstring (lua_State *L, int arg) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  luaL_argcheck(L, strlen(s) == len, arg, "embedded null byte");
  return s;
}


/* os.execute([command]) -> true | fail, "exit" | "signal", code */
static int os_execute (lua_State *L) {
  const char *cmd = lua_isnoneornil(L, 1) ? NULL : checkcstring(L, 1);
  char *copy = NULL;
  int stat, err;
  if (cmd != NULL && (copy = strdup(cmd)) == NULL)
    return luaL_error(L, "not enough memory");
  LG_BEGIN_BLOCKING
  errno = 0;
  stat = system(copy);
  err = errno;
  LG_END_BLOCKING
  free(copy);
  errno = err;
  if (cmd != NULL)
    return luaL_execresult(L, stat);
  lua_pushboolean(L, stat);  /* true if there is a shell */
  return 1;
}


/* Copies of the string arguments 1 .. n, for use without the GIL. All
** are checked first: a bad one must not leak the copies before it. */
static void copynames (lua_State *L, int n, char **names) {
  int i;
  for (i = 0; i < n; i++)
    checkcstring(L, i + 1);
  for (i = 0; i < n; i++)
    if ((names[i] = strdup(lua_tostring(L, i + 1))) == NULL) {
      while (i-- > 0)
        free(names[i]);
      luaL_error(L, "not enough memory");
    }
}


/* os.remove(filename) -> true | fail, message, errno */
static int os_remove (lua_State *L) {
  char *name[1];
  int ok, err;
  copynames(L, 1, name);
  LG_BEGIN_BLOCKING
  ok = remove(name[0]) == 0;
  err = errno;
  LG_END_BLOCKING
  free(name[0]);
  errno = err;
  return luaL_fileresult(L, ok, lua_tostring(L, 1));
}


/* os.rename(oldname, newname) -> true | fail, message, errno */
static int os_rename (lua_State *L) {
  char *names[2];
  int ok, err;
  copynames(L, 2, names);
  LG_BEGIN_BLOCKING
  ok = rename(names[0], names[1]) == 0;
  err = errno;
  LG_END_BLOCKING
  free(names[0]);
  free(names[1]);
  errno = err;
  return luaL_fileresult(L, ok, NULL);
}


/* os.tmpname() -> name of a new empty file in /tmp */
static int os_tmpname (lua_State *L) {
  char name[] = "/tmp/lua_XXXXXX";
  int fd;
  LG_BEGIN_BLOCKING
  fd = mkstemp(name);
  if (fd != -1)
    close(fd);
  LG_END_BLOCKING
  if (fd == -1)
    return luaL_error(L, "unable to generate a unique filename");
  lua_pushstring(L, name);
  return 1;
}


static int (*closer) (lua_State *L);  /* set once, at install */

void lg_os_setcloser (int (*fn) (lua_State *L)) {
  closer = fn;
}


/*
** os.exit([code [, close]]): ends the process at once from any thread, as
** stock Lua does (stdio buffers are flushed, other threads just stop).
** With 'close' on the main thread, non-daemon threads are joined and the
** state closed first; another thread cannot do that: it would close the
** state under the main thread's feet, or join itself.
*/
static int os_exit (lua_State *L) {
  int status;
  if (lua_isboolean(L, 1))
    status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  else
    status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  if (lua_toboolean(L, 2)) {
    lg_TState *ts = lg_tstate_current();
    if (ts != NULL && !ts->is_main)
      return luaL_error(L, "os.exit with close=true can only be called "
                           "from the main thread");
    /* The closer says -1 when lua_close already runs (os.exit from a
       finalizer): closing again runs the finalizers left, as in lua. */
    if (ts == NULL || closer == NULL || closer(L) < 0)
      lua_close(L);
  }
  exit(status);
  return 0;
}


/*
** Checks the conversions of os.date's format as Lua's own does (C99's
** set, with E and O modifiers where C99 allows them), so that Lua's
** function, called from ours, never raises an argument error: it could
** not name itself ('?') when called from C.
*/
static void checkdateformat (lua_State *L, const char *fmt, size_t len) {
  static const char plain[] = "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
  static const char withE[] = "cCxXyY", withO[] = "deHImMSuUVwWy";
  size_t i;
  for (i = 0; i < len; i++) {
    const char *set;
    size_t n = 2;  /* '%' and the conversion */
    if (fmt[i] != '%')
      continue;
    if (i + 1 < len && (fmt[i + 1] == 'E' || fmt[i + 1] == 'O')) {
      set = fmt[i + 1] == 'E' ? withE : withO;
      n = 3;
    }
    else
      set = plain;
    if (i + n > len || fmt[i + n - 1] == '\0' ||
        strchr(set, fmt[i + n - 1]) == NULL) {
      size_t shown = i + n > len ? len - i : n;
      const char *msg = lua_pushfstring(L,
          "invalid conversion specifier '%s'",
          lua_pushlstring(L, fmt + i, shown));
      luaL_argerror(L, 1, msg);
    }
    i += n - 1;
  }
}


/* The calendar time now, on the virtual clock (vm/clock.h). */
static lua_Integer virtualnow (void) {
  struct timespec t;
  lg_clock_gettime(CLOCK_REALTIME, &t);
  return (lua_Integer)t.tv_sec;
}


/* os.time([table]) -> integer: Lua's own (upvalue 1), but "now" is the
** virtual clock's under the deterministic policy. The argument is checked
** here, so that its error names os.time. */
static int os_time (lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    if (lg_clock_isvirtual()) {
      lua_pushinteger(L, virtualnow());
      return 1;
    }
  }
  else
    luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}


/*
** os.date([format [, time]]) -> string | table: Lua's own (upvalue 1),
** except that a time whose year does not fit a C int once 1900 is added
** back is an error for a format string: strftime's %Y would print year
** 2147485547 as -2147481749. A "*t" table holds it right. The arguments
** are checked here first, so that every error names os.date.
*/
static int os_date (lua_State *L) {
  size_t len;
  const char *fmt = luaL_optlstring(L, 1, "%c", &len);
  int utc = (*fmt == '!');
  lua_settop(L, 2);
  if (strcmp(fmt + utc, "*t") != 0)
    checkdateformat(L, fmt + utc, len - (size_t)utc);
  if (!lua_isnil(L, 2)) {
    lua_Integer v = luaL_checkinteger(L, 2);
    time_t t = (time_t)v;
    struct tm tm;
    luaL_argcheck(L, (lua_Integer)t == v, 2, "time out-of-bounds");
    if (strcmp(fmt + utc, "*t") != 0 &&
        (utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) != NULL)
      luaL_argcheck(L, tm.tm_year <= INT_MAX - 1900, 2, "time out of range");
  }
  else if (lg_clock_isvirtual()) {  /* no time: now, on virtual time */
    lua_settop(L, 1);
    lua_pushinteger(L, virtualnow());
  }
  else
    lua_settop(L, 1);  /* no time: now */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}


/* os.getpid() -> integer */
static int os_getpid (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}


/* os.cpu_count() -> integer | nil */
static int os_cpu_count (lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0)
    lua_pushinteger(L, n);
  else
    luaL_pushfail(L);
  return 1;
}


static const luaL_Reg os_funcs[] = {
  {"execute", os_execute},
  {"exit", os_exit},
  {"remove", os_remove},
  {"rename", os_rename},
  {"tmpname", os_tmpname},
  {"getpid", os_getpid},
  {"cpu_count", os_cpu_count},
  {NULL, NULL}
};


void lg_open_os (lua_State *L) {
  if (lua_getglobal(L, "os") == LUA_TTABLE) {
    luaL_setfuncs(L, os_funcs, 0);
    if (lua_getfield(L, -1, "date") == LUA_TFUNCTION &&
        lua_tocfunction(L, -1) != os_date) {  /* not wrapped yet */
      lua_pushcclosure(L, os_date, 1);  /* wraps Lua's own */
      lua_setfield(L, -2, "date");
    }
    else
      lua_pop(L, 1);
    if (lua_getfield(L, -1, "time") == LUA_TFUNCTION &&
        lua_tocfunction(L, -1) != os_time) {
      lua_pushcclosure(L, os_time, 1);
      lua_setfield(L, -2, "time");
    }
    else
      lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
