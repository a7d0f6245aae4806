/*
** tests/unit/test_lgerror.c -- the error-object C API (stdlib/lgerror.c)
** that queue and concurrent.futures raise their exceptions with.
** See LICENSE for copyright and licence (MIT).
*/

#include "fixture.h"
#include "lglib.h"


static int raise_empty (lua_State *l) {
  return lg_error_raise(l, "test.Empty", "queue is empty");
}


Test(lgerror, same_name_gives_same_kind, .init = setup, .fini = teardown) {
  lg_error_pushkind(L, "test.Empty", NULL);
  lg_error_pushkind(L, "test.Empty", NULL);
  cr_assert(lua_rawequal(L, -1, -2));
  lg_error_pushkind(L, "test.Full", NULL);
  cr_assert(!lua_rawequal(L, -1, -2));
  lua_settop(L, 0);
}


Test(lgerror, raised_error_prints_kind_and_message, .init = setup,
     .fini = teardown) {
  lua_pushcfunction(L, raise_empty);
  cr_assert_eq(lua_pcall(L, 0, 0, 0), LUA_ERRRUN);
  cr_assert_str_eq(luaL_tolstring(L, -1, NULL), "test.Empty: queue is empty");
  lua_pop(L, 1);
  cr_assert(lg_error_is(L, -1, "test.Empty"));
  cr_assert(!lg_error_is(L, -1, "test.Full"));
  lua_getfield(L, -1, "message");
  cr_assert_str_eq(lua_tostring(L, -1), "queue is empty");
  lua_settop(L, 0);
}


Test(lgerror, kind_is_works_from_lua, .init = setup, .fini = teardown) {
  lg_error_pushkind(L, "test.Empty", NULL);
  lua_setglobal(L, "Empty");
  lua_pushcfunction(L, raise_empty);
  lua_setglobal(L, "raise_empty");
  cr_assert_eq(luaL_dostring(L,
    "local ok, err = pcall(raise_empty)\n"
    "assert(not ok and Empty:is(err) and err.kind == Empty)\n"
    "assert(not Empty:is('test.Empty: queue is empty'))\n"
    "assert(tostring(Empty('x')) == 'test.Empty: x')\n"), LUA_OK,
    "%s", lua_tostring(L, -1));
}


Test(lgerror, child_kind_matches_parent, .init = setup, .fini = teardown) {
  lg_error_pushkind(L, "test.Child", "test.Base");
  lua_pop(L, 1);
  lg_error_push(L, "test.Child", "c");
  cr_assert(lg_error_is(L, -1, "test.Base"));
  cr_assert(lg_error_is(L, -1, "test.Child"));
  lg_error_push(L, "test.Base", "b");
  cr_assert(!lg_error_is(L, -1, "test.Child"));
  lua_settop(L, 0);
}


Test(lgerror, non_errors_are_no_kind, .init = setup, .fini = teardown) {
  lua_pushliteral(L, "test.Empty: queue is empty");
  cr_assert(!lg_error_is(L, -1, "test.Empty"));
  lua_newtable(L);
  cr_assert(!lg_error_is(L, -1, "test.Empty"));
  lua_pushinteger(L, 3);
  cr_assert(!lg_error_is(L, -1, "test.Empty"));
  lua_settop(L, 0);
}
