/*
** vm/breaker.h -- the eval breaker: how a thread running Lua is asked to
** stop at its next instruction boundary (drop the GIL, or raise Ctrl-C).
** See LICENSE for copyright and licence (MIT).
**
** Floor 3 of vm/ (docs/ARCHITECTURE.md), with vm/gil.h: the one mutual
** pair of vm/. The GIL asks the breaker to stop its holder (a drop
** request is a signal and an armed hook); the breaker's hook answers by
** yielding the GIL. Neither half works without the other.
*/

#ifndef lg_breaker_h
#define lg_breaker_h

#include <lua.h>

#include "istate.h"
#include "tstate.h"

#define LG_PREEMPT_ANY   0
#define LG_PREEMPT_SAFE  1


/* Install the handler of 'signo' (the request signal); 'main' is the main
** thread's state. */
LG_FUNC void lg_breaker_init (int signo, lg_TState *main);

/* Send the request signal to 'ts' (caller holds gil.mutex, or the GIL
** while 'ts' blocks: vm/waitq.c). */
LG_FUNC void lg_breaker_signal (lg_TState *ts);

/* Arm the hook on the state the calling thread runs (GIL held). */
LG_FUNC void lg_breaker_arm_self (lg_TState *ts);

/* The same for a pending drop request, unless the thread is inside the
** hook under preemption 'safe' (see breaker.c). */
LG_FUNC void lg_breaker_arm_for_request (lg_TState *ts);

/*
** The thread now runs 'ts->running' holding the GIL: under a policy that
** counts instructions (ticks, deterministic), arm the count hook there.
*/
LG_FUNC void lg_breaker_follow (lg_TState *ts);

/* The one C hook luagil sets; it also calls the user's debug hooks. */
LG_FUNC void lg_breaker_hook (lua_State *L, lua_Debug *ar);

/* Interpreter 'I''s preemption mode: LG_PREEMPT_ANY or LG_PREEMPT_SAFE. */
LG_FUNC void lg_breaker_setpreempt (lg_IState *I, int mode);
LG_FUNC int lg_breaker_getpreempt (lg_IState *I);

/*
** User hooks (debug.sethook). 'co' gets hook function at stack index 'f'
** of 'L' (0 for none) with 'mask' and 'count'. getuserhook pushes the
** function, mask and count of 'co' and returns 1, or returns 0 if 'co'
** has no user hook.
*/
LG_FUNC void lg_breaker_setuserhook (lua_State *L, lua_State *co, int f,
                                     int mask, int count);
LG_FUNC int lg_breaker_getuserhook (lua_State *L, lua_State *co);


/* Ctrl-C (its flag and descriptor: vm/sigint.h). */
LG_FUNC void lg_breaker_catch_sigint (int on);
LG_FUNC void lg_breaker_interrupt_main (void);  /* as if Ctrl-C came */

/*
** Raise what ended the caller's wait with LG_INTERRUPTED: a pending Ctrl-C
** (consumed) as "interrupted!", else an interrupt of its waiter
** (LG_INTR_*) through the raiser that stdlib/ set, else "interrupted!".
** Clears the waiter's lg_Wait first (the raiser reads it before).
*/
LG_FUNC int lg_breaker_raise_interrupt (lua_State *L);

/*
** The function that raises a waiter's interrupts (stdlib/diag.c: a
** threading.Cancelled or threading.DeadlockError error), called with the
** GIL held by the thread whose waiter 'w' has 'intr' pending. It clears
** 'w->wait' and never returns.
*/
typedef int (*lg_Raiser) (lua_State *L, lg_Waiter *w);
LG_FUNC void lg_breaker_setraiser (lg_Raiser fn);

/* fork(): Ctrl-C goes to the forking thread in the child. */
LG_FUNC void lg_breaker_atfork (int phase);

/* Block (1) or restore (0) the signals whose handlers arm hooks. */
LG_FUNC void lg_breaker_block (int block, sigset_t *saved);

/* lg_TState.in_hook: where the thread is with respect to luagil's hook. */
#define LG_HOOK_OUT      0  /* not in it */
#define LG_HOOK_IN       1  /* running it */
#define LG_HOOK_LEAVING  2  /* left it; Lua may still check for hooks at
                               the very next instruction */

#endif
