/*
** interp/embed.h -- what the files of interp/ share: host threads entering
** Lua (interp/embed.c) as the interpreter's lifecycle drives it, and the
** lifecycle (interp/luagil.c) as the module mode (interp/module.c) uses it.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_embed_h
#define lg_embed_h

#include <lua.h>

#include "tstate.h"

/* At install, main thread holding the GIL: luagil_ensure may work from
** now on. Returns LUA_OK, or an error with its message pushed on 'L'. */
LG_FUNC int lg_embed_init (lua_State *L);

/*
** At close, main thread 'ts' holding the GIL, before the GIL is finalized:
** luagil_ensure fails from now on, and the threads already past its check
** get the GIL (and give it back) before this returns, so none of them is
** left parked for ever by the finalization.
*/
LG_FUNC void lg_embed_closing (lg_TState *ts);

/* Host threads between luagil_ensure and luagil_release (any thread). */
LG_FUNC int lg_embed_inside (void);

/* After the GIL is finalized: forget the host threads that exited. */
LG_FUNC void lg_embed_closed (void);

/* Is luagil installed on the global state of 'L'? GIL held. */
LG_FUNC int lg_interp_owns (lua_State *L);

/* The vm/ part (vm/istate.h) of the live interpreter that 'L' (maybe
** NULL) is a state of, or NULL; and that of the first interpreter, the
** one host threads enter. */
LG_FUNC lg_IState *lg_interp_istate (lua_State *L);
LG_FUNC lg_IState *lg_interp_first (void);

#endif
