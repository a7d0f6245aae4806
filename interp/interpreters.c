/*
** interp/interpreters.c -- the '_interpreters' module: making, running and
** closing interpreters from Lua. stdlib/interpreters.lua, the module
** scripts require, is built on it.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** An interpreter is a lua_State of its own with its own GIL
** (interp/luagil.c's lg_Interp over vm/'s lg_IState), so its Lua runs in
** parallel with every other interpreter's. Code runs in another
** interpreter in the caller's OS thread: the caller lets its own GIL go
** (LG_BEGIN_BLOCKING), enters the other interpreter with a thread state of
** its own there (adopt: the thread now runs in that interpreter), takes
** that GIL, runs, lets it go, comes back to its own state (lg_tstate_swap)
** and takes its own GIL back (LG_END_BLOCKING). A thread never waits for
** one GIL while it holds another, so two interpreters calling into each
** other cannot deadlock on their GILs.
**
** Values cross by copy, as messages of multiprocessing's serializer
** (stdlib/multiprocessing/mp_pickle.c: functions travel as string.dump
** plus their upvalues), written with the sender's GIL and read with the
** receiver's. The messages are C memory, owned by a Msg userdata of the
** caller's state, so that an error anywhere frees them.
**
** One run at a time: an interpreter's main state is its code's stack, so
** 'running' keeps a second caller out ("interpreter already running"),
** as CPython does. Threads the code starts there run on their own states.
*/

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "embed.h"
#include "gil.h"
#include "lglib.h"
#include "luagil.h"
#include "multiprocessing/mp.h"
#include "stats.h"
#include "tstate.h"
#include "waitq.h"

#define HANDLE  "interpreters.Interpreter"
#define MSG     "interpreters._Message"
#define FAILED  "interpreters.ExecutionFailed"

/* What a run does (the payload's 'op'). */
#define OP_EXEC     "exec"     /* code: a source string or a function */
#define OP_CALL     "call"     /* f(args...) -> results */
#define OP_PREPARE  "prepare"  /* set globals */


/*
** {======================================================
** Messages
** =======================================================
*/

/* What messages carry: functions, and shared objects by pointer. */
#define FLAGS  (LG_MP_FUNCS | LG_MP_SHARE)

/*
** A message in C memory, freed with its userdata. One never decoded
** gives back the references of the shared objects it carries (mp.h).
*/
typedef struct Msg {
  lg_MpMsg m;
  int decoded;               /* lg_mp_loadx took its references over */
} Msg;


static int msg_gc (lua_State *L) {
  Msg *b = luaL_checkudata(L, 1, MSG);
  if (b->m.data != NULL && !b->decoded)
    lg_mp_drop(b->m.data, b->m.len);
  free(b->m.data);
  b->m.data = NULL;
  return 0;
}


/* Push the value of message 'b', which is decoded at most once. */
static void load (lua_State *L, Msg *b) {
  b->decoded = 1;  /* whether loadx returns or raises */
  lg_mp_loadx(L, b->m.data, b->m.len, FLAGS);
}


/* Push an empty message box. */
static Msg *newmsg (lua_State *L) {
  Msg *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->m.data = NULL;
  b->m.len = 0;
  b->decoded = 0;
  luaL_setmetatable(L, MSG);
  return b;
}

/* }====================================================== */


/*
** {======================================================
** Entering another interpreter
** =======================================================
*/

/*
** The calling thread (its state 'outer', maybe NULL, released from its
** own GIL) enters 'p' with state 'ts' (made by lg_tstate_new) and takes
** p's GIL. Ctrl-C interrupts it there if it would have here.
*/
static void enter (lg_Interp *p, lg_TState *ts, lg_TState *outer) {
  lg_tstate_adopt(ts, p->I, p->L, outer != NULL && outer->is_main);
  ts->stats = p->mainstats;
  lg_gil_take(ts);
}


/* Let p's GIL go and come back to 'outer'. */
static void leave (lg_TState *ts, lg_TState *outer) {
  lg_gil_drop(ts, LG_DROP_PLAIN);
  ts->stats = NULL;
  lg_tstate_unregister(ts);
  lg_tstate_swap(outer);
}


/*
** Claim 'p' for one run ('running'), or raise 'busy' (a format for p's
** id); returns a thread state to enter with, made before the caller lets
** its GIL go, where running out of memory can still be reported. The
** caller sets 'running' back to 0 when it is done.
*/
static lg_TState *claim (lua_State *L, lg_Interp *p, const char *busy) {
  lg_TState *ts = lg_tstate_new();
  int expected = 0;
  if (ts == NULL)
    luaL_error(L, "not enough memory");
  if (!atomic_compare_exchange_strong(&p->running, &expected, 1)) {
    lg_tstate_discard(ts);
    luaL_error(L, busy, (int)p->I->id);
  }
  return ts;
}

/* }====================================================== */


/*
** {======================================================
** Running in the interpreter
** =======================================================
*/

/*
** The message handler there: what the caller needs of an error. Ctrl-C,
** which interrupts the code the main thread runs there, is marked: it is
** the caller's interrupt, not the code's failure.
*/
static int onerror (lua_State *L) {
  size_t len = 0;
  const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len)
                                                : NULL;
  int ctrlc = lg_tstate_is_main() && s != NULL && len >= 12 &&
              strcmp(s + len - 12, "interrupted!") == 0;
  lua_createtable(L, 0, 4);
  if (ctrlc) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "interrupted");
  }
  if (lua_type(L, 1) == LUA_TTABLE && lua_getfield(L, 1, "kind") ==
      LUA_TTABLE && lua_getfield(L, -1, "name") == LUA_TSTRING) {
    lua_setfield(L, -3, "kind");  /* a luagil error object */
    lua_pop(L, 1);
    lua_getfield(L, 1, "message");
  }
  else {
    lua_settop(L, 2);
    luaL_tolstring(L, 1, NULL);
  }
  lua_setfield(L, 2, "message");
  luaL_traceback(L, L, NULL, 1);
  lua_setfield(L, 2, "traceback");
  return 1;
}


/*
** In the interpreter, GIL held, pcall'd with onerror: read the payload
** (light userdata 1), do it, and write the results into the reply (light
** userdata 2): a table {n = ..., ...}.
*/
static int runhere (lua_State *L) {
  Msg *in = lua_touserdata(L, 1);
  lg_MpMsg *out = lua_touserdata(L, 2);
  const char *op;
  int base, nres;
  lua_settop(L, 0);
  load(L, in);  /* 1: the payload */
  lua_getfield(L, 1, "op");
  op = lua_tostring(L, -1);
  lua_getfield(L, 1, "f");  /* 3 */
  base = lua_gettop(L);
  if (strcmp(op, OP_PREPARE) == 0) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_setglobal(L, lua_tostring(L, -2));
    }
  }
  else {
    lua_Integer n = 0;
    if (lua_type(L, 3) == LUA_TSTRING) {
      size_t len;
      const char *code = lua_tolstring(L, 3, &len);
      if (luaL_loadbufferx(L, code, len, "=(exec)", "t") != LUA_OK)
        return lua_error(L);
      lua_replace(L, 3);
    }
    if (strcmp(op, OP_CALL) == 0) {
      lua_getfield(L, 1, "n");
      n = lua_tointeger(L, -1);
      lua_pop(L, 1);
      luaL_checkstack(L, (int)n, "too many arguments");
      for (lua_Integer i = 1; i <= n; i++)
        lua_rawgeti(L, 1, i);
    }
    lua_call(L, (int)n, strcmp(op, OP_CALL) == 0 ? LUA_MULTRET : 0);
  }
  nres = lua_gettop(L) - base + 1;
  lua_createtable(L, nres, 1);
  for (int i = 1; i <= nres; i++) {
    lua_pushvalue(L, base + i - 1);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, nres);
  lua_setfield(L, -2, "n");
  *out = lg_mp_dumpx(L, lua_gettop(L), FLAGS, "result",
                     LG_MP_TOINTERPRETER);
  return 0;
}


/*
** Run payload 'in' in 'p' (its GIL held): true with the results in
** '*out', or false with the error table in '*out'.
*/
static int runthere (lg_Interp *p, Msg *in, lg_MpMsg *out) {
  lua_State *L = p->L;
  int top = lua_gettop(L), ok;
  lua_pushcfunction(L, onerror);
  lua_pushcfunction(L, runhere);
  lua_pushlightuserdata(L, in);
  lua_pushlightuserdata(L, out);
  ok = lua_pcall(L, 2, 0, top + 1) == LUA_OK;
  if (!ok) {  /* the error table (or, out of memory, a string) */
    out->data = NULL;
    if (lua_type(L, -1) != LUA_TTABLE) {
      lua_createtable(L, 0, 1);
      lua_insert(L, -2);
      lua_setfield(L, -2, "message");
    }
    *out = lg_mp_dump(L, lua_gettop(L), 0);  /* strings only: no raise */
  }
  lua_settop(L, top);
  return ok;
}


static lg_Interp *checkinterp (lua_State *L, int arg);


/* Push the ExecutionFailed error of onerror's table at 'idx'. */
static void pushfailed (lua_State *L, int idx) {
  lua_getfield(L, idx, "kind");
  lua_getfield(L, idx, "message");
  if (lua_isstring(L, -2))
    lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
  else
    lua_pushvalue(L, -1);
  lg_error_push(L, FAILED, lua_tostring(L, -1));
  lua_pushvalue(L, -4);
  lua_setfield(L, -2, "remote_kind");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "remote_message");
  lua_getfield(L, idx, "traceback");
  lua_setfield(L, -2, "traceback");
  lua_replace(L, -4);
  lua_pop(L, 2);
}


/*
** For runs of many calls in one (concurrent.futures' batches), which catch
** each call's error there and send it back as data:
**   _errinfo(err) -> {kind=, message=, traceback=}, xpcall's handler there;
**   _failed(info) -> the ExecutionFailed error of such a table, here;
**   _copyable(...) -> true, or false and why: can these values be copied
**     to another interpreter (results, before they are sent)?
*/
static int ip_failed (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  pushfailed(L, 1);
  return 1;
}


static int copycheck (lua_State *L) {
  lg_MpMsg *m = lua_touserdata(L, 1);
  *m = lg_mp_dumpx(L, 2, FLAGS, "result", LG_MP_TOINTERPRETER);
  return 0;
}


static int ip_copyable (lua_State *L) {
  lg_MpMsg m = {NULL, 0};
  int n = lua_gettop(L);
  lua_createtable(L, n, 0);
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, i);
  }
  lua_pushcfunction(L, copycheck);
  lua_pushlightuserdata(L, &m);
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  if (m.data != NULL) {
    lg_mp_drop(m.data, m.len);
    free(m.data);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** Run the payload at the top of the caller's stack in 'p' and push the
** results (OP_CALL), or raise ExecutionFailed.
*/
static int run (lua_State *L, lg_Interp *p) {
  lg_TState *self = lg_tstate_current(), *ts;
  Msg *in, *out;
  int ok, n;
  if (self != NULL && self->interp == p->I)
    return luaL_error(L, "cannot run in the current interpreter");
  in = newmsg(L);
  lua_insert(L, -2);
  in->m = lg_mp_dumpx(L, lua_gettop(L), FLAGS, "args",  /* may raise: */
                      LG_MP_TOINTERPRETER);         /* nothing held */
  lua_pop(L, 1);  /* the payload: the box stays */
  out = newmsg(L);
  ts = claim(L, p, "interpreter already running");
  if (atomic_load(&p->closed)) {
    atomic_store(&p->running, 0);
    lg_tstate_discard(ts);
    return luaL_error(L, "interpreter is closed");
  }
  LG_BEGIN_BLOCKING
  enter(p, ts, self);
  ok = runthere(p, in, &out->m);
  leave(ts, self);
  LG_END_BLOCKING
  atomic_store(&p->running, 0);
  if (out->m.data == NULL)
    return luaL_error(L, "not enough memory");
  load(L, out);
  if (!ok) {  /* stack: in out err */
    if (lua_getfield(L, -1, "interrupted") == LUA_TBOOLEAN)
      return luaL_error(L, "interrupted!");  /* Ctrl-C: the caller's */
    lua_pop(L, 1);
    pushfailed(L, lua_gettop(L));
    return lua_error(L);
  }
  lua_getfield(L, -1, "n");
  n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "too many results");
  for (int i = 1; i <= n; i++)
    lua_rawgeti(L, -i, i);
  return n;
}

/* }====================================================== */


/*
** {======================================================
** Interpreter objects
** =======================================================
*/

typedef struct Handle {
  lg_Interp *p;
} Handle;


static void pushhandle (lua_State *L, lg_Interp *p) {
  Handle *h = lua_newuserdatauv(L, sizeof *h, 0);
  h->p = p;
  luaL_setmetatable(L, HANDLE);
}


static lg_Interp *checkinterp (lua_State *L, int arg) {
  Handle *h = luaL_testudata(L, arg, HANDLE);
  if (h == NULL)
    lg_typeerror(L, arg, HANDLE);
  return h->p;
}


/* Raise unless 'p' is open. */
static lg_Interp *checkopen (lua_State *L, int arg) {
  lg_Interp *p = checkinterp(L, arg);
  if (atomic_load(&p->closed))
    luaL_error(L, "interpreter %d is closed", (int)p->I->id);
  return p;
}


/* A string option 'name' of the table at 1, or NULL. */
static const char *stropt (lua_State *L, const char *name) {
  const char *s = NULL;
  if (lua_getfield(L, 1, name) != LUA_TNIL) {
    if (!lua_isstring(L, -1))
      luaL_error(L, "bad option '%s' (string expected, got %s)", name,
                 luaL_typename(L, -1));
    s = lua_tostring(L, -1);
  }
  lua_pop(L, 1);  /* still in the table: stays valid */
  return s;
}


/*
** _interpreters.create([opts]) -> Interpreter. The options are
** luagil_Options': switch_interval, policy, preempt, modules; the others
** come from the calling interpreter.
*/
static int ip_create (lua_State *L) {
  luagil_Options opts = {0};
  lg_TState *self = lg_tstate_current(), *ts;
  lg_Interp *parent = self != NULL ? lg_interp_byistate(self->interp)
                                   : NULL;
  lg_Interp *p;
  lua_State *S;
  if (lua_isnoneornil(L, 1))
    lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getfield(L, 1, "switch_interval") != LUA_TNIL)
    opts.switch_interval = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  opts.policy = stropt(L, "policy");
  opts.preempt = stropt(L, "preempt");
  opts.modules = stropt(L, "modules");
  if (parent != NULL)
    opts.print_stats = parent->print_stats;
  if ((S = luaL_newstate()) == NULL)
    return luaL_error(L, "not enough memory");
  if (!lg_interp_checkopts(S, &opts)) {
    lua_pushstring(L, lua_tostring(S, -1));
    lua_close(S);
    return lua_error(L);
  }
  LG_BEGIN_BLOCKING
  ts = lg_tstate_swap(NULL);  /* setup registers a state of its own */
  p = lg_interp_setup(S, &opts, 0, self != NULL && self->is_main);
  if (p != NULL) {
    p->parent = parent;
    luagil_openlibs(S);
    lg_gil_drop(lg_tstate_current(), LG_DROP_PLAIN);
    lg_tstate_current()->stats = NULL;
    lg_tstate_unregister(lg_tstate_current());
  }
  lg_tstate_swap(ts);
  LG_END_BLOCKING
  if (p == NULL) {
    lua_close(S);
    return luaL_error(L, "not enough memory");
  }
  pushhandle(L, p);
  return 1;
}


/* interp:exec(code): code (a source string or a function) runs there */
static int ip_exec (lua_State *L) {
  lg_Interp *p = checkopen(L, 1);
  int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TSTRING || t == LUA_TFUNCTION, 2,
                   "string or function");
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, OP_EXEC);
  lua_setfield(L, -2, "op");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "f");
  return run(L, p);
}


/* interp:call(fn, ...) -> fn's results, run there */
static int ip_call (lua_State *L) {
  lg_Interp *p = checkopen(L, 1);
  int n = lua_gettop(L) - 2;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_createtable(L, n, 3);
  lua_pushliteral(L, OP_CALL);
  lua_setfield(L, -2, "op");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "f");
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, 2 + i);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  return run(L, p);
}


/* interp:prepare_main{name = value, ...}: set globals there */
static int ip_prepare_main (lua_State *L) {
  lg_Interp *p = checkopen(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "bad argument #1 to 'prepare_main' (names must "
                        "be strings, got %s)", luaL_typename(L, -1));
  }
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, OP_PREPARE);
  lua_setfield(L, -2, "op");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "f");
  run(L, p);
  lua_settop(L, 1);
  return 1;
}


/* interp:is_running() -> boolean: does code run there now? */
static int ip_is_running (lua_State *L) {
  lg_Interp *p = checkinterp(L, 1);
  lua_pushboolean(L, !atomic_load(&p->closed) &&
                     atomic_load(&p->running));
  return 1;
}


/*
** Close 'p' from the calling thread ('self', GIL held, of another
** interpreter): its non-daemon threads are joined, its state closed.
*/
static void closeinterp (lua_State *L, lg_Interp *p, lg_TState *self) {
  lg_TState *ts = claim(L, p, "interpreter %d is running");
  LG_BEGIN_BLOCKING
  enter(p, ts, self);
  luagil_close(p->L);  /* unregisters 'ts' if it freed the state */
  if (lg_tstate_current() == ts)
    leave(ts, self);
  else {  /* closed: ts is gone, and so is the GIL's last holder */
    lg_tstate_swap(self);
  }
  LG_END_BLOCKING
  atomic_store(&p->running, 0);
}


/* interp:close(): join its threads and close it; closed ones: nothing */
static int ip_close (lua_State *L) {
  lg_Interp *p = checkinterp(L, 1);
  lg_TState *self = lg_tstate_current();
  if (atomic_load(&p->closed))
    return 0;
  if (self != NULL && self->interp == p->I)
    return luaL_error(L, "cannot close the current interpreter");
  if (p->first)
    return luaL_error(L, "cannot close the main interpreter");
  closeinterp(L, p, self);
  return 0;
}


/* interp:guard() -> interp, a to-be-closed value that closes it */
static int ip_guard (lua_State *L) {
  lg_Interp *p = checkopen(L, 1);
  lg_TState *self = lg_tstate_current();
  if (self != NULL && self->interp == p->I)
    return luaL_error(L, "cannot close the current interpreter");
  if (p->first)
    return luaL_error(L, "cannot close the main interpreter");
  lua_settop(L, 1);
  return 1;
}


static int ip_index (lua_State *L) {
  lg_Interp *p = checkinterp(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k != NULL && strcmp(k, "id") == 0) {
    lua_pushinteger(L, p->I->id);
    return 1;
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}


static int ip_eq (lua_State *L) {
  Handle *a = luaL_testudata(L, 1, HANDLE), *b = luaL_testudata(L, 2,
                                                                HANDLE);
  lua_pushboolean(L, a != NULL && b != NULL && a->p == b->p);
  return 1;
}


static int ip_tostring (lua_State *L) {
  lg_Interp *p = checkinterp(L, 1);
  lua_pushfstring(L, "<%s %d%s>", HANDLE, (int)p->I->id,
                  atomic_load(&p->closed) ? " (closed)" : "");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** The module
** =======================================================
*/

/*
** A snapshot of the interpreters that 'pick' accepts, newest first, into
** 'buf' (room for 'cap'); returns how many there are, which may be more
** than 'cap' (call again with room for them).
*/
typedef struct Snap {
  int (*pick) (lg_Interp *p, void *ud);
  void *ud;
  lg_Interp **buf;
  int cap, n;
} Snap;


static void snapone (lg_Interp *p, void *ud) {
  Snap *s = ud;
  if (s->pick(p, s->ud)) {
    if (s->n < s->cap)
      s->buf[s->n] = p;
    s->n++;
  }
}


static int snapshot (int (*pick) (lg_Interp *p, void *ud), void *ud,
                     lg_Interp **buf, int cap) {
  Snap s = {pick, ud, buf, cap, 0};
  lg_interp_foreach(snapone, &s);
  return s.n;
}


static int islive (lg_Interp *p, void *ud) {
  (void)ud;
  return !atomic_load(&p->closed);
}


/* list_all() -> the live interpreters, oldest first */
static int ip_list_all (lua_State *L) {
  int n = snapshot(islive, NULL, NULL, 0), cap;
  lg_Interp **buf;
  do {  /* more may have been made meanwhile */
    cap = n;
    buf = lua_newuserdatauv(L, (size_t)(cap > 0 ? cap : 1) * sizeof *buf, 0);
    n = snapshot(islive, NULL, buf, cap);
  } while (n > cap && (lua_pop(L, 1), 1));
  lua_createtable(L, n, 0);
  for (int i = n - 1, j = 1; i >= 0; i--, j++) {
    pushhandle(L, buf[i]);
    lua_rawseti(L, -2, j);
  }
  return 1;
}


/* get_current() -> the interpreter the caller runs in */
static int ip_get_current (lua_State *L) {
  lg_Interp *p = lg_interp_find(L);
  if (p == NULL)
    return luaL_error(L, "no interpreter");
  pushhandle(L, p);
  return 1;
}


static int isfirst (lg_Interp *p, void *ud) {
  (void)ud;
  return p->first && !atomic_load(&p->closed);
}


/* get_main() -> the process's first interpreter */
static int ip_get_main (lua_State *L) {
  lg_Interp *p = NULL;
  if (snapshot(isfirst, NULL, &p, 1) == 0)
    return luaL_error(L, "the main interpreter is closed");
  pushhandle(L, p);
  return 1;
}


static int ischild (lg_Interp *p, void *parent) {
  return p->parent == parent && !atomic_load(&p->closed);
}


/* At a close: the interpreters at 2 (n of them at 1), newest first. An
** error (one is running, say) is raised to lg_interp_closechildren. */
static int closeall (lua_State *L) {
  lg_Interp **found = lua_touserdata(L, 2);
  int n = (int)lua_tointeger(L, 1);
  for (int i = 0; i < n; i++) {
    if (!atomic_load(&found[i]->closed))
      closeinterp(L, found[i], lg_tstate_current());
  }
  return 0;
}


void lg_interp_closechildren (lg_Interp *p) {
  lua_State *L = p->L;
  int n = snapshot(ischild, p, NULL, 0);
  lg_Interp **found;
  if (n == 0)
    return;
  found = malloc((size_t)n * sizeof *found);
  if (found == NULL) {
    lua_writestringerror("luagil: %s\n", "cannot close interpreters: "
                         "not enough memory");
    return;
  }
  {
    int now = snapshot(ischild, p, found, n);  /* one made meanwhile (by a
                                                  daemon) is left open */
    if (now < n)
      n = now;
  }
  lua_pushcfunction(L, closeall);
  lua_pushinteger(L, n);
  lua_pushlightuserdata(L, found);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    lua_writestringerror("luagil: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  free(found);
}


static const luaL_Reg handle_methods[] = {
  {"exec", ip_exec},
  {"call", ip_call},
  {"prepare_main", ip_prepare_main},
  {"is_running", ip_is_running},
  {"close", ip_close},
  {"guard", ip_guard},
  {NULL, NULL}
};

static const luaL_Reg handle_meta[] = {
  {"__index", ip_index},
  {"__eq", ip_eq},
  {"__tostring", ip_tostring},
  {"__close", ip_close},
  {NULL, NULL}
};

static const luaL_Reg funcs[] = {
  {"create", ip_create},
  {"list_all", ip_list_all},
  {"get_current", ip_get_current},
  {"get_main", ip_get_main},
  {"_errinfo", onerror},
  {"_failed", ip_failed},
  {"_copyable", ip_copyable},
  {NULL, NULL}
};


int luaopen__interpreters (lua_State *L) {
  if (luaL_newmetatable(L, MSG)) {
    lua_pushcfunction(L, msg_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, HANDLE)) {
    luaL_setfuncs(L, handle_meta, 0);
    luaL_newlib(L, handle_methods);
    lua_setfield(L, -2, "methods");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lg_open_interpqueue(L);
  lg_error_pushkind(L, FAILED, NULL);
  lua_setfield(L, -2, "ExecutionFailed");
  luaL_getmetatable(L, HANDLE);
  lua_getfield(L, -1, "methods");
  lua_setfield(L, -3, "_methods");  /* for stdlib/interpreters.lua */
  lua_pop(L, 1);
  return 1;
}

/* }====================================================== */
