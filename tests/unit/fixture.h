/*
** tests/unit/fixture.h -- the fixture every unit test shares: a fresh
** interpreter per test, with luagil's libraries open, in 'L'.
** See LICENSE for copyright and licence (MIT).
**
** Criterion runs each test in its own process, so each test may install
** the one interpreter of its process. A test that closes it itself sets
** 'L' to NULL, and teardown leaves it.
*/

#ifndef fixture_h
#define fixture_h

#include <criterion/criterion.h>

#include <lauxlib.h>
#include <lualib.h>

#include "luagil.h"

static lua_State *L;


static void setup (void) {
  L = luagil_newstate(NULL);  /* NULL: every option at its default */
  cr_assert_not_null(L);
  luagil_openlibs(L);
}


static void teardown (void) {
  if (L != NULL)
    luagil_close(L);
}

#endif
