/*
** tests/embed/package/host.c -- the smallest host: runs its one argument
** as a Lua chunk in a luagil interpreter, then closes it. Exits 0 if the
** chunk ran without error, 1 if it failed, 2 on a bad command line.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdio.h>

#include <lauxlib.h>
#include <luagil.h>


int main (int argc, char **argv) {
  lua_State *L;
  int ok;
  if (argc != 2) {
    fprintf(stderr, "usage: %s CHUNK\n", argv[0]);
    return 2;
  }
  L = luagil_newstate(NULL);
  if (L == NULL)
    return 1;  /* luagil_newstate wrote why */
  luagil_openlibs(L);
  ok = (luaL_dostring(L, argv[1]) == LUA_OK);
  if (!ok)
    fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
  luagil_close(L);
  return ok ? 0 : 1;
}
