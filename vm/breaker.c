/*
** vm/breaker.c -- the eval breaker.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** A count hook costs about 2x on CPU-bound Lua, so none is kept set: a
** waiter that wants the GIL sends the holder's OS thread a signal, and the
** handler, on the holder's own thread, arms a count hook on the state that
** thread is running right now (lg_TState.running). It arms only while its
** thread runs Lua holding the GIL (lg_TState.in_lua): a late signal that
** lands after the thread let the GIL go must not touch its idle state,
** which the new holder's garbage collector may be freeing. No one ever
** calls lua_sethook on another OS thread's running state.
**
** The hook then yields the GIL. With preemption 'any' it first re-arms
** itself for 1-8 more instructions, so switches fall between any two
** instructions, not only where Lua looks at hooks (back-edges, calls).
**
** The same hook serves the user's debug.sethook: the user's function, mask
** and count live in registry tables keyed by coroutine (the function
** where stock Lua keeps it, registry._HOOKKEY), and the hook
** restores them whenever it has finished with the GIL's business. A hook
** can linger on a state that stopped running, and coroutines inherit their
** creator's hook: a count event that is not ours nor the user's just
** restores the user's settings (usually: no hook).
**
** Under a policy that counts instructions (ticks, deterministic) the hook
** stays armed with the policy's count instead: each time the thread takes
** the GIL or enters a coroutine it arms the state it runs (follow), and
** each count event is a switch point.
**
** Ctrl-C sets an atomic flag and writes an eventfd (vm/sigint.c: the
** main thread's waits watch it, see vm/park.c), and arms the main thread's
** hook like a drop request; the hook raises "interrupted!".
*/

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "gil.h"
#include "park.h"
#include "sigint.h"


static int request_signo;
static lg_TState *main_ts;
static atomic_int userhooks_used;  /* any debug.sethook call so far? */
static const char USERHOOKS = 'h';  /* registry key of the hook table */


/*
** {======================================================
** Arming
** =======================================================
*/

void lg_breaker_block (int block, sigset_t *saved) {
  if (block) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, request_signo);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, saved);
  }
  else
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}


/* Async-signal-safe: runs in the handlers, on 'ts's own thread. */
static void arm (lg_TState *ts) {
  lua_State *L = atomic_load(&ts->running);
  if (L == NULL)
    return;
  ts->armed = 1;
  lua_sethook(L, lg_breaker_hook, lua_gethookmask(L) | LUA_MASKCOUNT, 1);
}


/*
** lua_sethook from the thread itself, outside a handler: with the request
** signal and SIGINT blocked, so that a handler's arm() cannot interleave.
*/
static void sethook (lua_State *L, lua_Hook f, int mask, int count) {
  sigset_t saved;
  lg_breaker_block(1, &saved);
  lua_sethook(L, f, mask, count);
  lg_breaker_block(0, &saved);
}


/*
** Inside the hook, a count hook already set as it would be set needs
** nothing: Lua has just reset its count, so sethook's two system calls
** (the mask around it) would change nothing. A counting policy's yields
** come here every N instructions ('ticks', issue 17: 4 CPU-bound threads
** on one core took 1.38x as long as 1 with the two calls, 1.20x without;
** Python 2.7.18 1.09x).
*/
static int follows (lua_State *L, lg_TState *ts, long n) {
  return ts->in_hook == LG_HOOK_IN && ts->armed && ts->stage == 0 &&
         lua_gethook(L) == lg_breaker_hook &&
         (lua_gethookmask(L) & LUA_MASKCOUNT) && lua_gethookcount(L) == n;
}


void lg_breaker_follow (lg_TState *ts) {
  long n = lg_gil_count(ts);
  lua_State *L = atomic_load(&ts->running);
  if (n <= 0 || L == NULL || follows(L, ts, n))
    return;
  ts->armed = 1;
  ts->stage = 0;
  sethook(L, lg_breaker_hook, lua_gethookmask(L) | LUA_MASKCOUNT, (int)n);
}


void lg_breaker_arm_self (lg_TState *ts) {
  sigset_t saved;
  lg_breaker_block(1, &saved);
  arm(ts);
  lg_breaker_block(0, &saved);
}


/*
** Inside the hook, and until Lua fetches the next instruction after it,
** Lua's trap is live, so a hook armed there fires at the very next
** instruction, not where Lua looks: under preemption 'safe' a request that
** lands there is left to the re-request (vm/gil.c sends it 100 us later).
** The thread cannot tell when that next instruction has run: the first
** request after the hook is always left, then the thread is past it.
** Any take of the GIL outside the hook is past it too (resumed()).
*/
static int may_arm_for_request (lg_TState *ts) {
  if (atomic_load(&ts->interp->preempt) != LG_PREEMPT_SAFE)
    return 1;
  if (ts->in_hook == LG_HOOK_LEAVING) {
    ts->in_hook = LG_HOOK_OUT;
    return 0;
  }
  return ts->in_hook == LG_HOOK_OUT;
}


static void on_request (int sig) {
  lg_TState *ts = lg_tstate_tls;
  int saved = errno;
  (void)sig;
  if (ts != NULL && atomic_load(&ts->in_lua) &&
      ((lg_gil_drop_pending_for(ts) && may_arm_for_request(ts)) ||
       (ts->is_main && lg_sigint_pending())))
    arm(ts);
  errno = saved;
}


void lg_breaker_arm_for_request (lg_TState *ts) {
  if (may_arm_for_request(ts))
    lg_breaker_arm_self(ts);
}


void lg_breaker_signal (lg_TState *ts) {
  pthread_kill(ts->pthread, request_signo);
}


void lg_breaker_init (int signo, lg_TState *main) {
  struct sigaction sa;
  request_signo = signo;
  main_ts = main;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_request;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(signo, &sa, NULL);
  lg_poll_setsignal(signo);  /* it ends a cancelled thread's polls */
  lg_sigint_init();
}


void lg_breaker_setpreempt (lg_IState *I, int mode) {
  atomic_store(&I->preempt, mode);
}


int lg_breaker_getpreempt (lg_IState *I) {
  return atomic_load(&I->preempt);
}

/* }====================================================== */


/*
** {======================================================
** User hooks
** =======================================================
*/

/*
** Where stock Lua keeps them: the function in the registry's "_HOOKKEY"
** table, keyed by thread (weak keys), so that code reading that table
** (Lua's own testes/db.lua) finds it. The mask and the count cannot live
** in the state, as they do in stock Lua, since the GIL's count hook comes
** and goes there: they sit in a second weak table, at &USERHOOKS, as one
** integer, mask | count << 4.
*/
#define HOOKKEY  "_HOOKKEY"
#define PACK(mask, count)  ((lua_Integer)(mask) | (lua_Integer)(count) << 4)


/* Push hooks[co] of the table at 'idx' of 'L'; returns its type. */
static int getforthread (lua_State *L, int idx, lua_State *co) {
  idx = lua_absindex(L, idx);
  lua_pushthread(co);
  if (co != L)
    lua_xmove(co, L, 1);
  return lua_rawget(L, idx);
}


/* The user's mask and count for 'co' (0, 0 if none). */
static int usermask (lua_State *L, lua_State *co, int *count) {
  lua_Integer packed = 0;
  if (atomic_load(&userhooks_used)) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &USERHOOKS) == LUA_TTABLE) {
      getforthread(L, -1, co);
      packed = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  *count = (int)(packed >> 4);
  return (int)(packed & 0xf);
}


/* Set the hook of 'co' to the user's settings, keeping a pending arm. */
static void restore (lua_State *L, lua_State *co, int keep_armed) {
  int count;
  int mask = usermask(L, co, &count);
  lg_TState *ts = lg_tstate_current();
  sigset_t saved;
  lg_breaker_block(1, &saved);  /* ts->armed is read with arm() kept out */
  if (keep_armed && ts != NULL && ts->armed &&
      atomic_load(&ts->running) == co)
    lua_sethook(co, lg_breaker_hook, mask | LUA_MASKCOUNT, 1);
  else
    lua_sethook(co, mask ? lg_breaker_hook : NULL, mask, count);
  lg_breaker_block(0, &saved);
}


/* Push the weak-keyed table at 'key' (a string, or else 'p') of the
** registry, made if missing. */
static void weaktable (lua_State *L, const char *key, const void *p) {
  int t = key != NULL ? lua_getfield(L, LUA_REGISTRYINDEX, key)
                      : lua_rawgetp(L, LUA_REGISTRYINDEX, p);
  if (t == LUA_TTABLE)
    return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  if (key != NULL)
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  else
    lua_rawsetp(L, LUA_REGISTRYINDEX, p);
}


/* t[co] = the value on top, popped; 't' is at 'idx'. */
static void setforthread (lua_State *L, int idx, lua_State *co) {
  idx = lua_absindex(L, idx);
  lua_pushthread(co);
  if (co != L)
    lua_xmove(co, L, 1);
  lua_insert(L, -2);
  lua_rawset(L, idx);
}


void lg_breaker_setuserhook (lua_State *L, lua_State *co, int f,
                             int mask, int count) {
  atomic_store(&userhooks_used, 1);
  if (f != 0)
    f = lua_absindex(L, f);
  weaktable(L, HOOKKEY, NULL);
  if (f != 0)
    lua_pushvalue(L, f);
  else
    lua_pushnil(L);
  setforthread(L, -2, co);  /* _HOOKKEY[co] = f, as stock Lua keeps it */
  weaktable(L, NULL, &USERHOOKS);
  if (f == 0 || mask == 0)
    lua_pushnil(L);
  else
    lua_pushinteger(L, PACK(mask, count));
  setforthread(L, -2, co);
  lua_pop(L, 2);
  restore(L, co, 1);
}


/* Push the user's hook function of 'co' (nil if none). */
static int pushuserfunc (lua_State *L, lua_State *co) {
  int t = LUA_TNIL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, HOOKKEY) == LUA_TTABLE)
    t = getforthread(L, -1, co);
  else
    lua_pushnil(L);
  lua_remove(L, -2);
  return t;
}


int lg_breaker_getuserhook (lua_State *L, lua_State *co) {
  int count;
  int mask = usermask(L, co, &count);
  if (mask == 0)
    return 0;
  pushuserfunc(L, co);
  lua_pushinteger(L, mask);
  lua_pushinteger(L, count);
  return 1;  /* stack: f, mask, count */
}


static const char *const eventnames[] = {
  "call", "return", "line", "count", "tail call"};

/* Call the user's hook for this event, if the user asked for it. */
static void calluser (lua_State *L, lua_Debug *ar) {
  int count;
  int mask = usermask(L, L, &count);
  int wanted = (ar->event == LUA_HOOKTAILCALL) ? LUA_MASKCALL
                                               : (1 << ar->event);
  if (!(mask & wanted)) {
    if (ar->event == LUA_HOOKCOUNT)  /* a lingering or inherited arm */
      restore(L, L, 0);
    return;
  }
  if (pushuserfunc(L, L) != LUA_TFUNCTION) {  /* _HOOKKEY changed */
    lua_pop(L, 1);
    return;
  }
  lua_pushstring(L, eventnames[ar->event]);
  if (ar->currentline >= 0)
    lua_pushinteger(L, ar->currentline);
  else
    lua_pushnil(L);
  lua_call(L, 2, 0);
}

/* }====================================================== */


/*
** {======================================================
** The hook
** =======================================================
*/

static int jitter (lg_TState *ts) {  /* 1..8, xorshift32 */
  uint32_t x = ts->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  ts->rng = x;
  return 1 + (int)(x % 8);
}


static int counting (lg_TState *ts) {
  int policy = lg_gil_getpolicy(ts->interp, NULL);
  return policy == LG_POLICY_TICKS || policy == LG_POLICY_DETERMINISTIC;
}


/*
** Cancellation, level-triggered: while a cancel of the thread is pending
** (and not held off), its hook raises it at once if it has not raised
** for a switch interval, else looks again after CANCEL_COUNT more
** instructions. So a pcall that swallowed it runs on for about one
** interval, and then gets it again. The raiser (stdlib/) stamps the time.
*/
#define CANCEL_COUNT  1000

/* 1: raise now; -1: pending, not yet; 0: none. */
static int cancelling (lg_TState *ts) {
  long gap;
  if (!lg_waiter_cancelled(ts->cur))
    return 0;
  gap = (long)(lg_gil_getinterval(ts->interp) * 1e9);
  return lg_now_ns() - ts->cur->raised_ns >= gap ? 1 : -1;
}


/* Look again in CANCEL_COUNT instructions. */
static void rearm (lua_State *L, lg_TState *ts) {
  int count;
  int mask = usermask(L, L, &count);
  ts->armed = 1;
  sethook(L, lg_breaker_hook, mask | LUA_MASKCOUNT, CANCEL_COUNT);
}


static void on_break (lua_State *L, lg_TState *ts) {
  int cancel = cancelling(ts);
  int interrupt = (ts->is_main && lg_sigint_pending()) || cancel > 0;
  if (!interrupt && counting(ts)) {  /* a switch point of the policy */
    lg_gil_policy_switch(ts);  /* or, nobody waiting, the count goes on */
    return;
  }
  if (!interrupt && ts->stage == 0 && lg_gil_drop_pending_for(ts) &&
      atomic_load(&ts->interp->preempt) == LG_PREEMPT_ANY) {
    int count;
    int mask = usermask(L, L, &count);
    ts->stage = 1;  /* switch after 1-8 more instructions */
    sethook(L, lg_breaker_hook, mask | LUA_MASKCOUNT, jitter(ts));
    return;
  }
  ts->armed = 0;
  ts->stage = 0;
  restore(L, L, 0);
  if (interrupt) {
    if (cancel != 0)
      rearm(L, ts);  /* for the next time: a pcall may catch it */
    ts->in_hook = LG_HOOK_OUT;  /* the error leaves the hook: a C call */
    lg_breaker_raise_interrupt(L);
  }
  if (lg_gil_drop_pending_for(ts))
    lg_gil_yield(ts);
  if (cancel < 0)
    rearm(L, ts);
}


void lg_breaker_hook (lua_State *L, lua_Debug *ar) {
  lg_TState *ts = lg_tstate_current();
  if (ar->event == LUA_HOOKCOUNT && ts != NULL && ts->armed) {
    ts->in_hook = LG_HOOK_IN;  /* on_break clears it too before it raises */
    on_break(L, ts);
    ts->in_hook = LG_HOOK_LEAVING;
  }
  else
    calluser(L, ar);
}

/* }====================================================== */


/*
** {======================================================
** Ctrl-C
** =======================================================
*/

static void on_sigint (int sig) {
  int saved = errno;
  lg_TState *ts = lg_tstate_tls;
  (void)sig;
  lg_sigint_note();
  if (ts != NULL && ts->is_main) {
    if (atomic_load(&ts->in_lua))
      arm(ts);
  }
  else if (main_ts != NULL)  /* a host thread got it: tell the main one */
    pthread_kill(main_ts->pthread, request_signo);
  errno = saved;
}


void lg_breaker_catch_sigint (int on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on ? on_sigint : SIG_DFL;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}


void lg_breaker_interrupt_main (void) {
  on_sigint(SIGINT);
}


/* In a fork() child, Ctrl-C goes to the forking thread (and through a
** descriptor of its own: vm/sigint.c). */
void lg_breaker_atfork (int phase) {
  if (phase == LG_FORK_CHILD)
    main_ts = lg_tstate_tls;
}


static _Atomic lg_Raiser raiser;


void lg_breaker_setraiser (lg_Raiser fn) {
  atomic_store(&raiser, fn);
}


int lg_breaker_raise_interrupt (lua_State *L) {
  lg_TState *ts = lg_tstate_current();
  lg_Waiter *w = ts != NULL ? ts->cur : NULL;
  lg_Raiser fn = atomic_load(&raiser);
  if (w != NULL && !(ts->is_main && lg_sigint_pending()) && fn != NULL &&
      lg_waiter_interrupted(w))
    return fn(L, w);
  if (w != NULL) {  /* a deadlock report that came with it is void */
    atomic_store(&w->wait.what, NULL);
    atomic_fetch_and(&w->intr, ~LG_INTR_DEADLOCK);
  }
  lg_sigint_take();
  return luaL_error(L, "interrupted!");
}

/* }====================================================== */
