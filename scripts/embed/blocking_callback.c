/*
** scripts/embed/blocking_callback.c -- a C host whose script's threads
** call back into a host function that blocks. The function releases the
** GIL while it waits, so the four calls overlap: ~0.1 s, not ~0.4 s.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdio.h>
#include <time.h>

#include <lauxlib.h>
#include <luagil.h>


/* host.fetch(n) -> n * n, after 0.1 s of "I/O" without the GIL */
static int host_fetch (lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  struct timespec io = {0, 100000000};
  LUAGIL_BEGIN_ALLOW_THREADS
  nanosleep(&io, NULL);  /* no Lua here: only our own C data */
  LUAGIL_END_ALLOW_THREADS
  lua_pushinteger(L, n * n);
  return 1;
}


static const char *const SCRIPT =
  "local threading, time = require 'threading', require 'time'\n"
  "local results, threads = {}, {}\n"
  "local t0 = time.monotonic()\n"
  "for i = 1, 4 do\n"
  "  threads[i] = threading.Thread{target = function ()\n"
  "    results[i] = host_fetch(i) end}\n"
  "  threads[i]:start()\n"
  "end\n"
  "for i = 1, 4 do threads[i]:join() end\n"
  "local dt = time.monotonic() - t0\n"
  "print(('results %d %d %d %d in %.2f s'):format(\n"
  "  results[1], results[2], results[3], results[4], dt))\n"
  "assert(results[4] == 16 and dt < 0.35, 'the calls did not overlap')\n";


int main (void) {
  lua_State *L = luagil_newstate(NULL);
  if (L == NULL)
    return 1;
  luagil_openlibs(L);
  lua_register(L, "host_fetch", host_fetch);
  if (luaL_dostring(L, SCRIPT) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  luagil_close(L);
  return 0;
}
