/*
** tests/unit/test_copy.c -- the serializer's shareable C objects
** (lg_mp_share_type, stdlib/multiprocessing/mp_pickle.c): a test type
** with a reference count crosses from one lua_State to another by
** pointer, and every path (decoded, dropped, an encoder's error, a
** decoder's error) gives each reference back exactly once.
** See LICENSE for copyright and licence (MIT).
**
** The second state is a plain luaL_newstate: the decoder needs nothing of
** luagil's, and a second luagil interpreter is not this test's subject.
*/

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "multiprocessing/mp.h"

#define TNAME  "test.Shared"

/* The process-wide object: 'value' -1 makes unshare raise, -2 makes
** share refuse. */
typedef struct Obj {
  atomic_int refs;
  int value;
} Obj;


static int obj_gc (lua_State *l) {
  Obj **u = luaL_checkudata(l, 1, TNAME);
  if (*u != NULL)
    atomic_fetch_sub(&(*u)->refs, 1);
  *u = NULL;
  return 0;
}


static void opentype (lua_State *l) {
  luaL_newmetatable(l, TNAME);
  lua_pushcfunction(l, obj_gc);
  lua_setfield(l, -2, "__gc");
  lua_pop(l, 1);
}


static Obj *made[8];  /* freed once both states are closed */
static int nmade;


/* A userdata of the type on a new object with one reference (its own). */
static Obj *pushobj (lua_State *l, int value) {
  Obj **u = lua_newuserdatauv(l, sizeof *u, 0);
  cr_assert_lt(nmade, 8);
  *u = made[nmade++] = malloc(sizeof **u);
  cr_assert_not_null(*u);
  atomic_init(&(*u)->refs, 1);
  (*u)->value = value;
  luaL_setmetatable(l, TNAME);
  return *u;
}


static void *obj_share (lua_State *l, int idx) {
  Obj *o = *(Obj **)luaL_checkudata(l, idx, TNAME);
  if (o->value == -2)
    return NULL;
  atomic_fetch_add(&o->refs, 1);
  return o;
}


static void obj_unshare (lua_State *l, void *p) {
  Obj **u = lua_newuserdatauv(l, sizeof *u, 0);
  *u = NULL;
  luaL_setmetatable(l, TNAME);
  if (((Obj *)p)->value == -1)
    luaL_error(l, "cannot unshare");  /* before taking the reference */
  *u = p;
}


static void obj_drop (void *p) {
  atomic_fetch_sub(&((Obj *)p)->refs, 1);
}


static const lg_MpShareType objtype = {TNAME, obj_share, obj_unshare,
                                       obj_drop};

static lua_State *L2;  /* the other state */


static void setup2 (void) {
  setup();
  cr_assert(luaL_dostring(L, "require '_multiprocessing'") == LUA_OK);
  opentype(L);
  cr_assert_geq(lg_mp_share_type(&objtype), 0);
  L2 = luaL_newstate();
  cr_assert_not_null(L2);
  opentype(L2);
}


static void teardown2 (void) {
  if (L2 != NULL)
    lua_close(L2);
  teardown();
  while (nmade > 0)
    free(made[--nmade]);
}


typedef struct Call {
  int flags;
  lg_MpMsg m;
  const char *data;
  size_t len;
} Call;


static int pdump (lua_State *l) {
  Call *c = lua_touserdata(l, 1);
  c->m = lg_mp_dumpx(l, 2, c->flags, "value", LG_MP_TOINTERPRETER);
  return 0;
}


static int pload (lua_State *l) {
  Call *c = lua_touserdata(l, 1);
  lg_mp_loadx(l, c->data, c->len, c->flags);
  return 1;
}


/* Encode the value on top of L (flags), or return the error's text. */
static const char *dump (int flags, lg_MpMsg *m) {
  Call c = {flags, {NULL, 0}, NULL, 0};
  lua_pushcfunction(L, pdump);
  lua_pushlightuserdata(L, &c);
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK)
    return lua_tostring(L, -1);
  *m = c.m;
  return NULL;
}


/* Decode 'm' onto l (flags), or return the error's text. */
static const char *load (lua_State *l, lg_MpMsg m, int flags) {
  Call c = {flags, {NULL, 0}, m.data, m.len};
  lua_pushcfunction(l, pload);
  lua_pushlightuserdata(l, &c);
  if (lua_pcall(l, 1, 1, 0) != LUA_OK)
    return lua_tostring(l, -1);
  return NULL;
}


static void collect (lua_State *l) {
  lua_gc(l, LUA_GCCOLLECT);
  lua_gc(l, LUA_GCCOLLECT);
}


Test(copy, object_crosses_states_once_per_message, .init = setup2,
     .fini = teardown2) {
  lg_MpMsg m;
  const char *err;
  Obj *o = pushobj(L, 7);
  lua_createtable(L, 1, 2);  /* {u, a = u, b = {u}} */
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "a");
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, 1);
  lua_setfield(L, -2, "b");
  err = dump(LG_MP_SHARE, &m);
  cr_assert_null(err, "%s", err);
  cr_assert_eq(atomic_load(&o->refs), 2, "one reference for the message");
  cr_assert_null(load(L2, m, LG_MP_SHARE));
  free(m.data);
  cr_assert_eq(atomic_load(&o->refs), 2, "the message's, taken over");
  lua_rawgeti(L2, -1, 1);
  lua_getfield(L2, -2, "a");
  lua_getfield(L2, -3, "b");
  lua_rawgeti(L2, -1, 1);
  lua_remove(L2, -2);
  cr_assert(lua_rawequal(L2, -1, -2) && lua_rawequal(L2, -2, -3),
            "one userdata reached three times");
  cr_assert_eq(*(Obj **)luaL_checkudata(L2, -1, TNAME), o);
  lua_settop(L2, 0);
  lua_close(L2);
  L2 = NULL;
  cr_assert_eq(atomic_load(&o->refs), 1);
  lua_settop(L, 0);
  collect(L);
  cr_assert_eq(atomic_load(&o->refs), 0);
}


Test(copy, message_never_decoded_is_dropped, .init = setup2,
     .fini = teardown2) {
  lg_MpMsg m;
  const char *err;
  Obj *o = pushobj(L, 1);
  Obj *o2 = pushobj(L, 2);
  lua_createtable(L, 2, 1);  /* {o, o2, s = "xPx..."} */
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, 2);
  lua_pushliteral(L, "xPxxxxxxxxxxxx");  /* a 'P' inside a string */
  lua_setfield(L, -2, "s");
  err = dump(LG_MP_SHARE, &m);
  cr_assert_null(err, "%s", err);
  cr_assert_eq(atomic_load(&o->refs), 2);
  cr_assert_eq(atomic_load(&o2->refs), 2);
  lg_mp_drop(m.data, m.len);
  free(m.data);
  cr_assert_eq(atomic_load(&o->refs), 1);
  cr_assert_eq(atomic_load(&o2->refs), 1);
}


Test(copy, encoder_error_drops_what_it_took, .init = setup2,
     .fini = teardown2) {
  lg_MpMsg m;
  const char *err;
  Obj *o = pushobj(L, 1);
  Obj *bad = pushobj(L, -2);
  lua_createtable(L, 3, 0);  /* {o, o, bad} */
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, 2);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, 3);
  err = dump(LG_MP_SHARE, &m);
  cr_assert_not_null(err);
  cr_assert(strstr(err, "bad value at value[3]: userdata (test.Shared) "
                   "cannot be copied to another interpreter") != NULL, "%s",
            err);
  collect(L);  /* the encoder's buffer */
  cr_assert_eq(atomic_load(&o->refs), 1);
  cr_assert_eq(atomic_load(&bad->refs), 1);
  /* an unregistered userdata: the same */
  lua_settop(L, 1);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  cr_assert(luaL_dostring(L, "return io.stdout") == LUA_OK);
  lua_rawseti(L, -2, 2);
  err = dump(LG_MP_SHARE, &m);
  cr_assert(err != NULL && strstr(err, "value[2]: userdata (FILE*)"));
  collect(L);
  cr_assert_eq(atomic_load(&o->refs), 1);
}


Test(copy, decoder_error_drops_the_rest, .init = setup2,
     .fini = teardown2) {
  lg_MpMsg m;
  const char *err;
  Obj *o = pushobj(L, 1);
  Obj *raises = pushobj(L, -1);
  Obj *after = pushobj(L, 3);
  lua_createtable(L, 3, 0);  /* {o, raises, after} */
  for (int i = 1; i <= 3; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i);
  }
  err = dump(LG_MP_SHARE, &m);
  cr_assert_null(err, "%s", err);
  cr_assert_eq(atomic_load(&after->refs), 2);
  err = load(L2, m, LG_MP_SHARE);
  cr_assert(err != NULL && strstr(err, "cannot unshare"));
  free(m.data);
  collect(L2);  /* o's new userdata, garbage there */
  cr_assert_eq(atomic_load(&o->refs), 1);
  cr_assert_eq(atomic_load(&raises->refs), 1);
  cr_assert_eq(atomic_load(&after->refs), 1);
}


Test(copy, pointers_only_where_the_caller_allows, .init = setup2,
     .fini = teardown2) {
  lg_MpMsg m;
  const char *err;
  Obj *o = pushobj(L, 1);
  char bytes[1 + 4 + sizeof(void *)];
  uint32_t type = 31;  /* never registered */
  err = dump(0, &m);  /* multiprocessing's: userdata refused */
  cr_assert(err != NULL && strstr(err, "userdata (test.Shared) cannot be"));
  lua_settop(L, 1);
  err = dump(LG_MP_SHARE, &m);
  cr_assert_null(err, "%s", err);
  err = load(L2, m, 0);  /* a decoder not told: corrupt */
  cr_assert(err != NULL && strstr(err, "corrupt message"), "%s", err);
  err = load(L2, m, LG_MP_FUNCS);
  cr_assert(err != NULL && strstr(err, "corrupt message"));
  lg_mp_drop(m.data, m.len);
  free(m.data);
  cr_assert_eq(atomic_load(&o->refs), 1);
  /* an unknown type index, even when told */
  bytes[0] = 'P';
  memcpy(bytes + 1, &type, 4);
  memset(bytes + 5, 0, sizeof(void *));
  m.data = bytes;
  m.len = sizeof bytes;
  err = load(L2, m, LG_MP_SHARE);
  cr_assert(err != NULL && strstr(err, "corrupt message"));
  m.len = 3;  /* cut short */
  err = load(L2, m, LG_MP_SHARE);
  cr_assert(err != NULL && strstr(err, "corrupt message"));
}


Test(copy, registering_again_gives_the_same_index, .init = setup2,
     .fini = teardown2) {
  static const lg_MpShareType again = {TNAME, obj_share, obj_unshare,
                                       obj_drop};
  static const lg_MpShareType other = {"test.Other", obj_share,
                                       obj_unshare, obj_drop};
  int i = lg_mp_share_type(&objtype);
  cr_assert_eq(lg_mp_share_type(&again), i);
  cr_assert_neq(lg_mp_share_type(&other), i);
}
