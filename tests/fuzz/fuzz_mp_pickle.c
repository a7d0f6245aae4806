/*
** tests/fuzz/fuzz_mp_pickle.c -- libFuzzer target: the decoder of
** multiprocessing's value serializer (lg_mp_load) on arbitrary bytes.
** See LICENSE for copyright and licence (MIT).
**
** One interpreter serves every input. Each input is decoded under
** lua_pcall: a corrupt message must raise, never read out of bounds. A
** value it decodes is encoded again (lg_mp_dump, functions allowed, as for
** the Pool's tasks) and that message decoded once more, which exercises
** the encoder on what the decoder can make (shared tables and cycles
** among it, from back-references). Nothing decoded is called, and no
** input is decoded as a copy within this process (LG_MP_SHARE): a 'P'
** value, a pointer, must be refused as corrupt.
** package.path and package.cpath are emptied, so that a module reference
** ('M') can only reach the modules luagil preloads, never a file.
*/

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "luagil.h"
#include "multiprocessing/mp.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static lua_State *state;  /* one interpreter for every input */


/* run(message): decode it; encode the value and decode that again. */
static int run (lua_State *L) {
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  lg_MpMsg m;
  lg_mp_load(L, s, len);
  m = lg_mp_dump(L, 2, 1);
  lua_pushlstring(L, m.data, m.len);  /* cannot fail but on memory */
  free(m.data);
  s = lua_tolstring(L, -1, &len);
  lg_mp_load(L, s, len);
  return 0;
}


static void setfield (lua_State *L, const char *t, const char *k,
                      const char *v) {
  lua_getglobal(L, t);
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
  lua_pop(L, 1);
}


int LLVMFuzzerInitialize (int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  state = luagil_newstate(NULL);
  if (state == NULL)
    abort();
  luagil_openlibs(state);
  setfield(state, "package", "path", "");
  setfield(state, "package", "cpath", "");
  return 0;
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  lua_settop(state, 0);
  lua_pushcfunction(state, run);
  lua_pushlstring(state, (const char *)data, size);
  (void)lua_pcall(state, 1, 0, 0);  /* an error is a rejected message: fine */
  lua_settop(state, 0);
  return 0;
}
