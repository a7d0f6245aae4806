/*
** interp/embed.h -- what the files of interp/ share: host threads entering
** Lua (interp/embed.c) as the interpreter's lifecycle drives it, and the
** lifecycle (interp/luagil.c) as the module mode (interp/module.c) uses it.
** See LICENSE for copyright and licence (MIT).
*/

#ifndef lg_embed_h
#define lg_embed_h

#include <lua.h>

#include "istate.h"
#include "luagil.h"
#include "stats.h"
#include "tstate.h"


/*
** An interpreter as the program sees it: one per luagil_install or
** interpreters.create (interp/interpreters.c). They are listed newest
** first and never freed, so that a pointer to a closed one is still safe
** to look at; a closed one's state is never touched (it may be freed).
*/
typedef struct lg_Embed lg_Embed;  /* interp/embed.c */

typedef struct lg_Interp {
  lg_IState *I;                /* vm/'s part (read-only) */
  lg_Embed *embed;             /* host threads' part (read-only) */
  lua_State *L;                /* the state it was installed on */
  const void *main;            /* its main Lua thread (lua_topointer) */
  int first;                   /* the process's first: Ctrl-C's, and
                                  luagil_ensure's (read-only) */
  struct lg_Interp *parent;    /* the one that created it, or NULL */
  lg_Stats *mainstats;         /* its main thread's record (read-only) */
  atomic_int running;          /* interpreters: an exec is under way */
  int shut_down;               /* its GIL: luagil_shutdown ran (even if
                                  interrupted) */
  atomic_int closed;           /* luagil_close ran: 'L' may be freed */
  int print_stats;             /* --gil-stats */
  char *only;                  /* luagil_Options.modules, or NULL: all */
  int has_seed;                /* --seed: math.random is seeded from it */
  long long seed;
  struct lg_Interp *next;      /* the list's mutex */
} lg_Interp;

/* The live interpreter of a state (the caller holds its GIL), or of a
** vm/ part; NULL if none. */
LG_FUNC lg_Interp *lg_interp_find (lua_State *L);
LG_FUNC lg_Interp *lg_interp_byistate (lg_IState *I);

/* The interpreter installed on 'L' itself (its main state), live or
** closed, or NULL; no GIL needed, 'L' is not touched. */
LG_FUNC lg_Interp *lg_interp_bystate (lua_State *L);

/* The process's first interpreter, live or closed, or NULL if none was
** installed yet: the one luagil_ensure enters. */
LG_FUNC lg_Interp *lg_interp_firstone (void);

/* The interpreter the calling thread runs in, else the newest live one,
** or NULL: the one the API functions without a state act on. */
LG_FUNC lg_Interp *lg_interp_here (void);

/* Call 'fn' on every interpreter, live or closed, newest first, with the
** list's mutex held ('fn' must not make one). */
LG_FUNC void lg_interp_foreach (void (*fn) (lg_Interp *p, void *ud),
                                void *ud);

/* Are 'opts' valid? Else push why on 'L' and return false. */
LG_FUNC int lg_interp_checkopts (lua_State *L, const luagil_Options *opts);

/*
** A new interpreter on 'L' with 'opts' (checked), the calling thread
** registered there as its main thread holding its GIL ('first': the
** process's first interpreter; 'is_main': Ctrl-C interrupts the thread).
** NULL, with the message pushed on 'L', if memory runs out.
*/
LG_FUNC lg_Interp *lg_interp_setup (lua_State *L,
                                    const luagil_Options *opts, int first,
                                    int is_main);

/* The '_interpreters' module (interp/interpreters.c). */
LG_FUNC int luaopen__interpreters (lua_State *L);

/* interpreters: close the interpreters that 'p' made and left open,
** newest first (luagil_close, with p's GIL held). */
LG_FUNC void lg_interp_closechildren (lg_Interp *p);

/* At setup of 'p' (vm/ part 'I') on 'L', main thread holding the GIL:
** luagil_ensure may enter it from now on. Returns 0, or -1 if memory ran
** out (nothing made). */
LG_FUNC int lg_embed_init (lg_Interp *p, lg_IState *I, lua_State *L);

/*
** At close of 'p', its main thread 'ts' holding the GIL, before the GIL is
** finalized: luagil_ensure fails from now on, and the threads already past
** its check get the GIL (and give it back) before this returns, so none of
** them is left parked for ever by the finalization.
*/
LG_FUNC void lg_embed_closing (lg_Interp *p, lg_TState *ts);

/* Host threads of 'p' between luagil_ensure and luagil_release (any
** thread). */
LG_FUNC int lg_embed_inside (lg_Interp *p);

/* After p's GIL is finalized: forget the host threads that exited. */
LG_FUNC void lg_embed_closed (lg_Interp *p);

/* Is luagil installed on the global state of 'L'? GIL held. */
LG_FUNC int lg_interp_owns (lua_State *L);

/* The vm/ part (vm/istate.h) of the live interpreter that 'L' (maybe
** NULL) is a state of, or NULL. */
LG_FUNC lg_IState *lg_interp_istate (lua_State *L);

#endif
