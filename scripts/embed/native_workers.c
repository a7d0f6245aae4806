/*
** scripts/embed/native_workers.c -- a C host with 4 worker threads of its
** own that call a Lua callback through luagil_ensure/luagil_release.
** See LICENSE for copyright and licence (MIT).
*/

#include <pthread.h>
#include <stdio.h>

#include <lauxlib.h>
#include <luagil.h>

#define NWORKERS  4
#define NITEMS    1000


static void *worker (void *arg) {
  int id = *(int *)arg;
  for (int i = 1; i <= NITEMS; i++) {
    lua_State *L;
    if (luagil_ensure(&L) != LUAGIL_OK)  /* shutting down: stop */
      return NULL;
    lua_getglobal(L, "on_item");
    lua_pushinteger(L, id);
    lua_pushinteger(L, i);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK)
      fprintf(stderr, "worker %d: %s\n", id, lua_tostring(L, -1));
    luagil_release();
  }
  return NULL;
}


int main (void) {
  pthread_t threads[NWORKERS];
  int ids[NWORKERS];
  lua_State *L = luagil_newstate(NULL);
  if (L == NULL)
    return 1;
  luagil_openlibs(L);
  if (luaL_dostring(L,
      "local threading = require 'threading'\n"
      "seen, names = {}, {}\n"
      "function on_item (worker, i)\n"
      "  table.insert(seen, worker)  -- one C call: atomic under the GIL\n"
      "  names[threading.current_thread().name] = true\n"
      "end") != LUA_OK)
    return 1;
  LUAGIL_BEGIN_ALLOW_THREADS  /* the workers need the GIL meanwhile */
  for (int i = 0; i < NWORKERS; i++) {
    ids[i] = i + 1;
    pthread_create(&threads[i], NULL, worker, &ids[i]);
  }
  for (int i = 0; i < NWORKERS; i++)
    pthread_join(threads[i], NULL);
  LUAGIL_END_ALLOW_THREADS
  if (luaL_dostring(L,
      "local list = {}\n"
      "for name in pairs(names) do list[#list + 1] = name end\n"
      "table.sort(list)\n"
      "print(#seen .. ' calls from ' .. table.concat(list, ' '))\n"
      "assert(#seen == 4000 and #list == 4)") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  luagil_close(L);
  return 0;
}
