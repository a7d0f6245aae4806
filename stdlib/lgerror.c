/*
** stdlib/lgerror.c -- error objects: the Python exceptions that scripts
** catch (threading.BrokenBarrierError, queue.Empty, ...).
** See LICENSE for copyright and licence (MIT).
**
** An error kind is a table made once per full name ("queue.Empty") and kept
** in the registry, so that C code and Lua code that name the same kind get
** the same table. Calling a kind makes an error object: a table with fields
** 'kind' and 'message' that prints as "<kind>: <message>". Kind:is(err)
** tells errors apart; a kind made with a parent also matches its
** children's errors, as an except clause matches subclasses.
*/

#include <lauxlib.h>

#include "lglib.h"

#define KIND   "luagil.ErrorKind"
#define ERROR  "luagil.Error"

static char KINDS;  /* registry key: full name -> kind */


/*
** {======================================================
** Kinds and error objects
** =======================================================
*/

/* Push a new error object of the kind at 'kind' with message 'msg'. */
static void newerror (lua_State *L, int kind, const char *msg) {
  kind = lua_absindex(L, kind);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, msg != NULL ? msg : "");
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, ERROR);
}


/* Raise unless the value at 'arg' is a table with metatable 'tname'. */
static void checkobj (lua_State *L, int arg, const char *tname) {
  int ok = lua_type(L, arg) == LUA_TTABLE && lua_getmetatable(L, arg);
  if (ok) {
    luaL_getmetatable(L, tname);
    ok = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  if (!ok)
    lg_typeerror(L, arg, tname);
}


/* Does the value at 'idx' belong to the kind at 'kind' or a child of it? */
static int iskind (lua_State *L, int idx, int kind) {
  int r = 0;
  idx = lua_absindex(L, idx);
  kind = lua_absindex(L, kind);
  if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
    luaL_getmetatable(L, ERROR);
    int iserr = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (iserr) {
      lua_getfield(L, idx, "kind");  /* stack: k */
      while (!r && lua_istable(L, -1)) {
        r = lua_rawequal(L, -1, kind);
        lua_getfield(L, -1, "parent");
        lua_remove(L, -2);
      }
      lua_pop(L, 1);
    }
  }
  return r;
}


/* kind:is(err) -> boolean */
static int kind_is (lua_State *L) {
  checkobj(L, 1, KIND);
  lua_pushboolean(L, iskind(L, 2, 1));
  return 1;
}


/* Kind([message]) -> error object */
static int kind_call (lua_State *L) {
  checkobj(L, 1, KIND);
  const char *msg = luaL_optstring(L, 2, "");
  newerror(L, 1, msg);
  return 1;
}


/* tostring(kind) -> its full name */
static int kind_tostring (lua_State *L) {
  checkobj(L, 1, KIND);
  if (lua_getfield(L, 1, "name") != LUA_TSTRING)
    lua_pushliteral(L, "?");  /* a kind whose name was changed */
  return 1;
}


/* tostring(err) -> "<kind>: <message>", or "<kind>" without a message */
static int error_tostring (lua_State *L) {
  checkobj(L, 1, ERROR);
  if (lua_getfield(L, 1, "kind") != LUA_TTABLE ||
      lua_getfield(L, -1, "name") != LUA_TSTRING) {  /* a changed kind */
    lua_settop(L, 1);
    lua_pushliteral(L, ERROR);
  }
  lua_getfield(L, 1, "message");
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL || *msg == '\0')
    lua_pop(L, 1);
  else {
    lua_pushliteral(L, ": ");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
  return 1;
}


static const luaL_Reg kind_methods[] = {
  {"is", kind_is},
  {NULL, NULL}
};

static const luaL_Reg kind_meta[] = {
  {"__call", kind_call},
  {"__tostring", kind_tostring},
  {NULL, NULL}
};

static const luaL_Reg error_meta[] = {
  {"__tostring", error_tostring},
  {NULL, NULL}
};


/* Made once per state, with the registry's table of kinds. */
static void createmetas (lua_State *L) {
  lg_createmeta(L, KIND, kind_methods, kind_meta, NULL);
  luaL_newmetatable(L, ERROR);
  luaL_setfuncs(L, error_meta, 0);
  lua_pop(L, 1);
}

/* }====================================================== */


/*
** {======================================================
** The C API (stdlib/lglib.h)
** =======================================================
*/

void lg_error_pushkind (lua_State *L, const char *name, const char *parent) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KINDS) != LUA_TTABLE) {
    lua_pop(L, 1);
    createmetas(L);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KINDS);
  }
  if (lua_getfield(L, -1, name) != LUA_TTABLE) {  /* stack: kinds nil */
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    if (parent != NULL) {
      lg_error_pushkind(L, parent, NULL);
      lua_setfield(L, -2, "parent");
    }
    luaL_setmetatable(L, KIND);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_remove(L, -2);  /* stack: kind */
}


void lg_error_push (lua_State *L, const char *kind, const char *msg) {
  lg_error_pushkind(L, kind, NULL);
  newerror(L, -1, msg);
  lua_remove(L, -2);
}


int lg_error_raise (lua_State *L, const char *kind, const char *msg) {
  lg_error_push(L, kind, msg);
  return lua_error(L);
}


int lg_error_is (lua_State *L, int idx, const char *kind) {
  int r;
  idx = lua_absindex(L, idx);
  lg_error_pushkind(L, kind, NULL);
  r = iskind(L, idx, -1);
  lua_pop(L, 1);
  return r;
}


/* _thread._errorkind(name [, parent]) -> kind */
int lg_error_kind (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *parent = luaL_optstring(L, 2, NULL);
  lg_error_pushkind(L, name, parent);
  return 1;
}

/* }====================================================== */
