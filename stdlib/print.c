/*
** stdlib/print.c -- the global 'print', in place of the stock one: a
** whole line in one write, with the GIL released around it.
** See LICENSE for copyright and licence (MIT).
*/

#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "lglib.h"
#include "waitq.h"


/* {====================================================================
** print
** =====================================================================*/

/* Converts the value at 1 with tostring (for a __tostring that may fail). */
static int tostring1 (lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}


static void writeout (const char *s, size_t n) {
  if (n == 0)
    return;
  lg_blocking_brief();  /* the deterministic policy replays it exactly */
  LG_BEGIN_BLOCKING
  fwrite(s, 1, n, stdout);
  fflush(stdout);
  LG_END_BLOCKING
}


/*
** print(...): the whole line is built first and written with one fwrite,
** so lines of different threads never mix. If a __tostring fails, what
** came before it is written before the error goes on, as stock print
** would have written it.
*/
static int lg_print (lua_State *L) {
  int n = lua_gettop(L), i;
  lg_Buf B;
  lg_buf_init(&B);
  for (i = 1; i <= n; i++) {
    size_t l;
    const char *s;
    if (i > 1)
      lg_buf_add(&B, "\t", 1);
    if (luaL_getmetafield(L, i, "__tostring") == LUA_TNIL)
      s = luaL_tolstring(L, i, &l);  /* cannot call Lua code */
    else {
      lua_pop(L, 1);
      lua_pushcfunction(L, tostring1);
      lua_pushvalue(L, i);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        writeout(B.b, B.n);
        lg_buf_free(&B);
        return lua_error(L);
      }
      s = lua_tolstring(L, -1, &l);
    }
    lg_buf_add(&B, s, l);
    lua_pop(L, 1);
  }
  lg_buf_add(&B, "\n", 1);
  if (B.oom) {
    lg_buf_free(&B);
    return luaL_error(L, "not enough memory");
  }
  writeout(B.b, B.n);
  lg_buf_free(&B);
  return 0;
}


void lg_open_print (lua_State *L) {
  lua_pushcfunction(L, lg_print);
  lua_setglobal(L, "print");
}

/* }==================================================================== */
