/*
** tests/fuzz/fuzz_dis.c -- libFuzzer target: dis's binary-chunk reader
** (lg_dis_undump) on arbitrary bytes, and dis's listings of what it takes.
** See LICENSE for copyright and licence (MIT).
**
** One interpreter serves every input. Each input is a string given to
** lg_dis_undump under lua_pcall: a bad chunk must raise "bad binary chunk:
** ...", never read out of bounds. A chunk it accepts is then listed with
** dis.code_info and dis.get_instructions, the code that trusts what the
** reader checked. The seed corpus comes from tests/fuzz/make_corpus.lua.
*/

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "dis/dis_chunk.h"
#include "luagil.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static lua_State *state;  /* one interpreter for every input */


/* Call dis[name](chunk): the chunk is at index 1. */
static void list (lua_State *L, const char *name) {
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.dis");
  lua_getfield(L, -1, name);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 0);
  lua_pop(L, 1);  /* the dis table */
}


/* run(chunk): decode, and list if the reader took it. */
static int run (lua_State *L) {
  lg_dis_undump(L, 1);
  lua_settop(L, 1);
  list(L, "code_info");
  list(L, "get_instructions");
  return 0;
}


int LLVMFuzzerInitialize (int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  state = luagil_newstate(NULL);
  if (state == NULL)
    abort();
  luagil_openlibs(state);
  lua_getglobal(state, "require");
  lua_pushliteral(state, "dis");
  if (lua_pcall(state, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_dis: %s\n", lua_tostring(state, -1));
    abort();
  }
  lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.dis");
  return 0;
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  lua_settop(state, 0);
  lua_pushcfunction(state, run);
  lua_pushlstring(state, (const char *)data, size);
  (void)lua_pcall(state, 1, 0, 0);  /* an error is a rejected chunk: fine */
  lua_settop(state, 0);
  return 0;
}
