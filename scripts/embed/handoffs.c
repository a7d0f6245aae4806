/*
** scripts/embed/handoffs.c -- a host that counts GIL handoffs with the
** event hook, per thread, while two CPU-bound Lua threads share the GIL.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdatomic.h>
#include <stdio.h>

#include <lauxlib.h>
#include <luagil.h>

static atomic_long acquired, released, waits;


/* Called on the thread the event is about, in the middle of a handoff:
** quick, no Lua, no luagil calls. */
static void count (const luagil_Event *ev, void *ud) {
  (void)ud;
  switch (ev->event) {
    case LUAGIL_EVENT_RESUMED: atomic_fetch_add(&acquired, 1); break;
    case LUAGIL_EVENT_SUSPENDED: atomic_fetch_add(&released, 1); break;
    case LUAGIL_EVENT_READY: atomic_fetch_add(&waits, 1); break;
  }
}


int main (void) {
  luagil_Options opts = {0};
  opts.switch_interval = 0.001;
  lua_State *L = luagil_newstate(&opts);
  if (L == NULL)
    return 1;
  luagil_openlibs(L);
  luagil_set_event_hook(count, NULL);
  if (luaL_dostring(L,
      "local threading, time = require 'threading', require 'time'\n"
      "local function spin ()\n"
      "  local t, x = time.monotonic(), 0\n"
      "  while time.monotonic() - t < 0.2 do x = x + 1 end\n"
      "end\n"
      "local a, b = threading.Thread{target = spin},"
      " threading.Thread{target = spin}\n"
      "a:start(); b:start(); a:join(); b:join()") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  luagil_set_event_hook(NULL, NULL);
  printf("GIL acquired %ld times, released %ld times, waited %ld times\n",
         atomic_load(&acquired), atomic_load(&released), atomic_load(&waits));
  luagil_close(L);
  /* Set and unset while the main thread holds the GIL: the hook saw it
  ** let go first and take it back last, so the counts pair up. */
  return atomic_load(&acquired) == atomic_load(&released) ? 0 : 1;
}
