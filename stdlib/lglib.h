/*
** stdlib/lglib.h -- luagil's Lua modules written in C.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lglib_h
#define lglib_h

#include <lua.h>

#include "tstate.h"

/* Modules, registered in package.preload. */
LG_FUNC int luaopen_threading (lua_State *L);
LG_FUNC int luaopen__thread (lua_State *L);
LG_FUNC int luaopen_time (lua_State *L);

/* GIL-aware replacements, installed in place into Lua's own tables. */
LG_FUNC void lg_open_coroutine (lua_State *L);
LG_FUNC void lg_open_debug (lua_State *L);
LG_FUNC void lg_open_os (lua_State *L);
LG_FUNC void lg_open_require (lua_State *L);

/* Threads still running a job (threading.Thread or _thread). */
LG_FUNC int lg_thread_alive (void);

/* An optional timeout argument: nil -> -1 (forever); negative -> error. */
LG_FUNC double lg_opttimeout (lua_State *L, int arg);

#endif
