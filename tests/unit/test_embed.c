/*
** tests/unit/test_embed.c -- the embedding API (interp/luagil.h): a
** host-made state, host threads through luagil_ensure/luagil_release,
** the allow-threads pair, the event hooks, close with threads running.
** See LICENSE for copyright and licence (MIT).
**
** Criterion runs each test in its own process, so each may install the
** first interpreter of its process (fixture.h).
*/

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fixture.h"
#include "luagil.h"


static void run (lua_State *S, const char *code) {
  if (luaL_dostring(S, code) != LUA_OK)
    cr_assert_fail("%s", lua_tostring(S, -1));
}


static lua_Integer getint (lua_State *S, const char *global) {
  lua_Integer n;
  lua_getglobal(S, global);
  n = lua_tointeger(S, -1);
  lua_pop(S, 1);
  return n;
}


/* Run 'fn' on 'n' native threads and join them, GIL released meanwhile. */
static void onthreads (int n, void *(*fn) (void *), void *arg) {
  pthread_t t[16];
  LUAGIL_BEGIN_ALLOW_THREADS
  for (int i = 0; i < n; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, fn, arg), 0);
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  LUAGIL_END_ALLOW_THREADS
}


/*
** {======================================================
** A state the host made
** =======================================================
*/

static atomic_int marks;

static int host_mark (lua_State *S) {
  (void)S;
  atomic_fetch_add(&marks, 1);
  return 0;
}


/* A state made by the host, then installed, with host_mark registered. */
static lua_State *hoststate (void) {
  lua_State *S = luaL_newstate();
  cr_assert_eq(luagil_install(S, NULL), LUA_OK);
  luagil_openlibs(S);
  lua_register(S, "host_mark", host_mark);
  return S;
}


Test(embed, adopted_state_closes_joining_non_daemon_threads,
     .timeout = 60) {
  lua_State *S = hoststate();
  run(S, "local threading, time = require 'threading', require 'time'\n"
         "threading.Thread{target = function ()\n"
         "  time.sleep(0.05); host_mark() end}:start()");
  cr_assert_eq(luagil_close(S), 1, "no daemon: the state is freed");
  cr_assert_eq(atomic_load(&marks), 1, "the non-daemon thread was joined");
}


Test(embed, close_leaves_state_to_running_daemons, .timeout = 60) {
  lua_State *S = hoststate();
  run(S, "local threading, time = require 'threading', require 'time'\n"
         "local ev = threading.Event()\n"
         "threading.Thread{daemon = true, target = function ()\n"
         "  ev:set(); while true do host_mark(); time.sleep(0.001) end\n"
         "end}:start()\n"
         "threading.Thread{daemon = true, target = function ()\n"
         "  local x = 0; while true do x = x + 1 end end}:start()\n"
         "threading.Thread{target = function () time.sleep(0.05)\n"
         "  host_mark() end}:start()\n"
         "ev:wait()");
  cr_assert_eq(luagil_close(S), 0, "daemons alive: the state is left");
  int seen = atomic_load(&marks);
  usleep(50000);  /* the daemons park when they want the GIL: no crash */
  cr_assert_eq(atomic_load(&marks), seen, "no Lua runs after close");
}


Test(embed, second_interpreter_in_one_thread_is_refused) {
  lua_State *a = luaL_newstate(), *b = luaL_newstate();
  cr_assert_eq(luagil_install(a, NULL), LUA_OK);
  cr_assert_neq(luagil_install(b, NULL), LUA_OK);
  cr_assert(strstr(lua_tostring(b, -1), "one interpreter per thread"));
  lua_close(b);
  luagil_close(a);
}


/*
** Two host threads, each installing its own interpreter: each runs
** CPU-bound Lua and a thread of its own under its own GIL, and sees only
** its own globals (the speed-up is scripts/bench's to show).
*/
typedef struct Side {
  const char *name;
  lua_Integer sum;
  char who[16];
  int status;
} Side;


static void *side_main (void *arg) {
  Side *side = arg;
  lua_State *S = luagil_newstate(NULL);
  if (S == NULL)
    return NULL;
  luagil_openlibs(S);
  lua_pushstring(S, side->name);
  lua_setglobal(S, "who");
  side->status = luaL_dostring(S,
    "local threading = require 'threading'\n"
    "local n = 0\n"
    "local t = threading.Thread{target = function ()\n"
    "  for i = 1, 2000000 do n = n + 1 end end}\n"
    "t:start()\n"
    "local x = 0\n"
    "for i = 1, 2000000 do x = x + i end\n"
    "t:join()\n"
    "sum = x + n\n");
  if (side->status != LUA_OK)
    fprintf(stderr, "%s: %s\n", side->name, lua_tostring(S, -1));
  side->sum = getint(S, "sum");
  lua_getglobal(S, "who");
  snprintf(side->who, sizeof side->who, "%s", lua_tostring(S, -1));
  lua_pop(S, 1);
  luagil_close(S);
  return NULL;
}


Test(embed, two_host_threads_run_two_interpreters, .timeout = 120) {
  Side a = {"a", 0, "", -1}, b = {"b", 0, "", -1};
  pthread_t ta, tb;
  cr_assert_eq(pthread_create(&ta, NULL, side_main, &a), 0);
  cr_assert_eq(pthread_create(&tb, NULL, side_main, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  cr_assert_eq(a.status, LUA_OK);
  cr_assert_eq(b.status, LUA_OK);
  cr_assert_eq(a.sum, 2000001000000LL + 2000000);
  cr_assert_eq(b.sum, 2000001000000LL + 2000000);
  cr_assert_str_eq(a.who, "a");
  cr_assert_str_eq(b.who, "b");
}


Test(embed, ensure_before_install_fails) {
  lua_State *S = (lua_State *)&S;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_ENOTREADY);
  cr_assert_null(S);
}


/*
** Misuse from C (issue 19, case 7): each returns an error, never crashes.
** Under ASan, a second close was a double free and a NULL policy or
** preemption mode a null dereference.
*/
Test(embed, calls_before_install_are_harmless) {
  cr_assert_eq(luagil_release(), LUAGIL_EINVAL);
  cr_assert_eq(luagil_ensure(NULL), LUAGIL_EINVAL);
  cr_assert_eq(luagil_install(NULL, NULL), LUA_ERRRUN);
  cr_assert_eq(luagil_shutdown(NULL), LUA_ERRRUN);
  cr_assert_eq(luagil_close(NULL), -1);
  luagil_openlibs(NULL);
  cr_assert_eq(luagil_daemons_alive(), 0);
  cr_assert_eq(luagil_take_sigint(), 0);
  cr_assert_eq(luagil_sigint_fd(), -1);
  lua_State *F = luaL_newstate();  /* luagil was never installed */
  luagil_openlibs(F);
  cr_assert_eq(luagil_shutdown(F), LUA_ERRRUN);
  cr_assert(strstr(lua_tostring(F, -1), "not installed"));
  cr_assert_eq(luagil_close(F), -1);
  lua_close(F);
}


Test(embed, null_arguments_are_refused) {
  lua_State *S = hoststate();
  cr_assert_eq(luagil_setpreempt(NULL), 0);
  cr_assert_eq(luagil_setpolicy(NULL), 0);
  cr_assert_eq(luagil_setpolicy("ticks:0"), 0);
  cr_assert_eq(luagil_setpolicy("ticks:x"), 0);
  cr_assert_eq(luagil_setpolicy(""), 0);
  cr_assert_eq(luagil_setpreempt(""), 0);
  cr_assert_eq(luagil_ensure(NULL), LUAGIL_EINVAL);
  cr_assert_eq(luagil_release(), LUAGIL_EINVAL, "no ensure to match");
  cr_assert_eq(luagil_shutdown(NULL), LUA_ERRRUN);
  cr_assert_eq(luagil_close(NULL), -1);
  cr_assert_eq(luagil_install(NULL, NULL), LUA_ERRRUN);
  luagil_openlibs(NULL);
  double old = luagil_getswitchinterval();
  cr_assert_eq(luagil_setswitchinterval(NAN), 0);
  cr_assert_eq(luagil_setswitchinterval(INFINITY), 0);
  cr_assert_eq(luagil_setswitchinterval(1e300), 0);
  cr_assert_eq(luagil_setswitchinterval(-0.0), 0);
  cr_assert_float_eq(luagil_getswitchinterval(), old, 1e-12);
  cr_assert_eq(luagil_set_event_hook(NULL, NULL), 1);
  run(S, "local t = require('threading').Thread{target = function () end}\n"
         "t:start() t:join()");
  cr_assert_eq(luagil_close(S), 1);
}


Test(embed, bad_options_are_refused) {
  luagil_Options o = {0};
  lua_State *S = luaL_newstate();
  o.switch_interval = NAN;
  cr_assert_neq(luagil_install(S, &o), LUA_OK);
  o.switch_interval = INFINITY;
  cr_assert_neq(luagil_install(S, &o), LUA_OK);
  o.switch_interval = 0;
  o.policy = "nonsense";
  cr_assert_neq(luagil_install(S, &o), LUA_OK);
  o.policy = NULL;
  cr_assert_eq(luagil_install(S, &o), LUA_OK, "the bad ones left no trace");
  cr_assert_eq(luagil_close(S), 1);
}


Test(embed, calls_after_close_are_harmless) {
  lua_State *S = hoststate(), *T;
  lua_State *F = luaL_newstate();  /* a state luagil is not on */
  cr_assert_eq(luagil_close(F), -1);
  cr_assert_eq(luagil_shutdown(F), LUA_ERRRUN);
  lua_close(F);
  cr_assert_eq(luagil_close(S), 1);
  /* S is freed: none of these may look at it */
  cr_assert_eq(luagil_close(S), -1, "a second close is refused");
  cr_assert_eq(luagil_shutdown(S), LUA_ERRRUN);
  luagil_openlibs(S);
  cr_assert_eq(luagil_ensure(&T), LUAGIL_ECLOSED);
  cr_assert_null(T);
  cr_assert_eq(luagil_release(), LUAGIL_EINVAL);
  cr_assert_eq(luagil_setpolicy(NULL), 0);
  cr_assert_eq(luagil_setpreempt(NULL), 0);
  cr_assert_eq(luagil_daemons_alive(), 0);
  lua_State *U = luaL_newstate();
  cr_assert_neq(luagil_install(U, NULL), LUA_OK, "one per process");
  lua_close(U);
}

/* }====================================================== */


/*
** {======================================================
** Host threads
** =======================================================
*/

TestSuite(ensure, .init = setup, .fini = teardown, .timeout = 120);

#define NCALLS  10000

static void *bumper (void *arg) {
  (void)arg;
  for (int i = 0; i < NCALLS; i++) {
    lua_State *S;
    cr_assert_eq(luagil_ensure(&S), LUAGIL_OK);
    lua_getglobal(S, "bump");
    cr_assert_eq(lua_pcall(S, 0, 0, 0), LUA_OK);
    luagil_release();
  }
  return NULL;
}


Test(ensure, eight_threads_make_the_exact_total) {
  run(L, "local lock = require('threading').Lock()\n"
         "total = 0\n"
         "function bump () lock:acquire(); total = total + 1;"
         " lock:release() end");
  onthreads(8, bumper, NULL);
  cr_assert_eq(getint(L, "total"), 8 * NCALLS);
}


static void *nester (void *arg) {
  lua_State *a, *b, *c;
  (void)arg;
  cr_assert_eq(luagil_ensure(&a), LUAGIL_OK);
  cr_assert_eq(luagil_ensure(&b), LUAGIL_OK);
  cr_assert_eq(a, b, "a nested call gives the same state");
  luagil_release();
  lua_pushinteger(a, 42);  /* still held after the inner release */
  lua_setglobal(a, "fromhost");
  LUAGIL_BEGIN_ALLOW_THREADS
  cr_assert_eq(luagil_ensure(&c), LUAGIL_OK);  /* takes the GIL again */
  cr_assert_eq(c, a);
  run(c, "nested = (nested or 0) + 1");
  luagil_release();
  LUAGIL_END_ALLOW_THREADS
  run(a, "nested = nested + 1");
  luagil_release();
  return NULL;
}


Test(ensure, calls_nest) {
  lua_State *S;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_OK, "the main thread, GIL held");
  cr_assert_eq(S, L);
  luagil_release();
  onthreads(1, nester, NULL);
  cr_assert_eq(getint(L, "fromhost"), 42);
  cr_assert_eq(getint(L, "nested"), 2);
}


static void *namer (void *arg) {
  lua_State *S;
  (void)arg;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_OK);
  run(S, "local threading = require 'threading'\n"
         "local me = threading.current_thread()\n"
         "names[#names + 1] = me.name\n"
         "counts[#counts + 1] = #threading.enumerate()\n"
         "assert(me.daemon)");
  luagil_release();
  return NULL;
}


Test(ensure, host_thread_is_a_dummy_thread) {
  run(L, "names, counts = {}, {}");
  onthreads(1, namer, NULL);
  onthreads(1, namer, NULL);  /* the first one has exited by now */
  run(L, "assert(names[1] == 'Dummy-1' and names[2] == 'Dummy-2',"
         "  table.concat(names, ' '))\n"
         "assert(counts[1] == 2 and counts[2] == 2,"
         "  'exited dummies are forgotten')\n"
         "local gil = require 'gil'\n"
         "local seen = {}\n"
         "for _, st in ipairs(gil.stats().threads) do seen[st.name] = true end\n"
         "assert(seen['Dummy-1'] and seen['Dummy-2'])");
}


static void *closed_ensure (void *arg) {
  lua_State *S = (lua_State *)&S;
  (void)arg;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_ECLOSED);
  cr_assert_null(S);
  return NULL;
}


Test(ensure, ensure_after_close_fails) {
  lua_State *S;
  pthread_t t;
  run(L, "names, counts = {}, {}");
  onthreads(1, namer, NULL);  /* a registered host thread, now gone */
  luagil_close(L);
  L = NULL;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_ECLOSED);
  cr_assert_eq(pthread_create(&t, NULL, closed_ensure, NULL), 0);
  pthread_join(t, NULL);
}


static atomic_int hold;

static void *holder (void *arg) {
  lua_State *S;
  (void)arg;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_OK);
  atomic_store(&hold, 1);
  while (atomic_load(&hold) == 1)  /* holds the GIL until told */
    sched_yield();
  luagil_release();
  return NULL;
}


Test(ensure, close_waits_for_no_host_thread_but_leaks) {
  pthread_t t;
  lua_State *S;
  run(L, "names, counts = {}, {}");
  LUAGIL_BEGIN_ALLOW_THREADS
  cr_assert_eq(pthread_create(&t, NULL, holder, NULL), 0);
  while (atomic_load(&hold) == 0)
    sched_yield();
  atomic_store(&hold, 2);  /* it releases; we take the GIL back */
  LUAGIL_END_ALLOW_THREADS
  pthread_join(t, NULL);
  cr_assert_eq(luagil_ensure(&S), LUAGIL_OK);
  luagil_release();
  cr_assert_eq(luagil_close(L), 1, "no host thread inside: freed");
  L = NULL;
}

/* }====================================================== */


/*
** {======================================================
** Allow-threads and event hooks
** =======================================================
*/

/* The host waits inside the pair until the worker has run: with the GIL
** kept, it would wait for ever (the test times out). */
Test(ensure, allow_threads_around_host_work_lets_lua_threads_run) {
  lua_register(L, "host_mark", host_mark);
  run(L, "local threading = require 'threading'\n"
         "count, stop = 0, false\n"
         "local started = threading.Event()\n"
         "worker = threading.Thread{target = function ()\n"
         "  started:set()\n"
         "  while not stop do count = count + 1; host_mark() end end}\n"
         "worker:start(); started:wait()");
  lua_Integer before = getint(L, "count");
  int seen = atomic_load(&marks);
  usleep(20000);  /* holding the GIL: the worker cannot run */
  cr_assert_eq(getint(L, "count"), before);
  cr_assert_eq(atomic_load(&marks), seen);
  LUAGIL_BEGIN_ALLOW_THREADS
  while (atomic_load(&marks) == seen)
    sched_yield();
  LUAGIL_END_ALLOW_THREADS
  cr_assert_gt(getint(L, "count"), before);
  run(L, "stop = true; worker:join()");
}


#define MAXT  64

typedef struct Seen {
  pthread_mutex_t mutex;
  unsigned long ident[MAXT];
  int holding[MAXT];
  long resumed[MAXT], suspended[MAXT];
  int started[MAXT], exited[MAXT];
  int n, errors;
  atomic_int holders;
} Seen;


static int slot (Seen *s, unsigned long ident) {
  for (int i = 0; i < s->n; i++)
    if (s->ident[i] == ident)
      return i;
  cr_assert_lt(s->n, MAXT);
  s->ident[s->n] = ident;
  return s->n++;
}


static void record (const luagil_Event *ev, void *ud) {
  Seen *s = ud;
  pthread_mutex_lock(&s->mutex);
  {
    int i = slot(s, ev->ident);
    switch (ev->event) {
      case LUAGIL_EVENT_RESUMED:
        if (s->holding[i] || atomic_fetch_add(&s->holders, 1) != 0)
          s->errors++;
        s->holding[i] = 1;
        s->resumed[i]++;
        break;
      case LUAGIL_EVENT_SUSPENDED:
        if (!s->holding[i] || atomic_fetch_sub(&s->holders, 1) != 1)
          s->errors++;
        s->holding[i] = 0;
        s->suspended[i]++;
        break;
      case LUAGIL_EVENT_STARTED: s->started[i]++; break;
      case LUAGIL_EVENT_EXITED: s->exited[i]++; break;
    }
    if (ev->t_ns <= 0 || ev->name == NULL)
      s->errors++;
  }
  pthread_mutex_unlock(&s->mutex);
}


Test(ensure, event_hooks_see_balanced_pairs_per_thread) {
  static Seen s = {.mutex = PTHREAD_MUTEX_INITIALIZER};
  run(L, "local lock = require('threading').Lock()\n"
         "total = 0\n"
         "function bump () lock:acquire(); total = total + 1;"
         " lock:release() end");
  pthread_mutex_lock(&s.mutex);
  s.holding[slot(&s, (unsigned long)pthread_self())] = 1;  /* we hold it */
  atomic_store(&s.holders, 1);
  pthread_mutex_unlock(&s.mutex);
  cr_assert(luagil_set_event_hook(record, &s));
  run(L, "local threading = require 'threading'\n"
         "local ts = {}\n"
         "for i = 1, 4 do\n"
         "  ts[i] = threading.Thread{target = function ()\n"
         "    for _ = 1, 2000 do bump() end end}\n"
         "  ts[i]:start()\n"
         "end\n"
         "for i = 1, 4 do ts[i]:join() end");
  onthreads(2, bumper, NULL);
  cr_assert(luagil_set_event_hook(NULL, NULL));
  cr_assert_eq(getint(L, "total"), 4 * 2000 + 2 * NCALLS);
  cr_assert_eq(s.errors, 0, "one holder at a time, pairs alternate");
  cr_assert_geq(s.n, 7, "main, 4 Lua threads, 2 host threads");
  for (int i = 0; i < s.n; i++) {
    cr_assert_eq(s.resumed[i], s.suspended[i], "thread %lu", s.ident[i]);
  }
}

/* }====================================================== */


/*
** {======================================================
** Host threads and many interpreters
** =======================================================
*/

/* A second interpreter, installed by a thread of its own that keeps it
** open, its GIL let go, until the test is done with it. */
static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  lua_State *S;
  int done;
  int closed;
} second = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
            0, 0};


static void *second_main (void *arg) {
  lua_State *S = luagil_newstate(NULL);
  (void)arg;
  cr_assert_not_null(S);
  luagil_openlibs(S);
  run(S, "who = 'B'; require 'threading'");
  LUAGIL_BEGIN_ALLOW_THREADS
  pthread_mutex_lock(&second.mutex);
  second.S = S;
  pthread_cond_broadcast(&second.cond);
  while (!second.done)
    pthread_cond_wait(&second.cond, &second.mutex);
  pthread_mutex_unlock(&second.mutex);
  LUAGIL_END_ALLOW_THREADS
  cr_assert_eq(luagil_close(S), 1);
  pthread_mutex_lock(&second.mutex);
  second.closed = 1;
  pthread_cond_broadcast(&second.cond);
  pthread_mutex_unlock(&second.mutex);
  return NULL;
}


static pthread_t second_thread;

static lua_State *open_second (void) {
  cr_assert_eq(pthread_create(&second_thread, NULL, second_main, NULL), 0);
  pthread_mutex_lock(&second.mutex);
  while (second.S == NULL)
    pthread_cond_wait(&second.cond, &second.mutex);
  pthread_mutex_unlock(&second.mutex);
  return second.S;
}


static void close_second (void) {
  pthread_mutex_lock(&second.mutex);
  second.done = 1;
  pthread_cond_broadcast(&second.cond);
  pthread_mutex_unlock(&second.mutex);
  LUAGIL_BEGIN_ALLOW_THREADS
  pthread_join(second_thread, NULL);
  LUAGIL_END_ALLOW_THREADS
}


static const char *getstr (lua_State *S, const char *global, char *buf,
                           size_t size) {
  lua_getglobal(S, global);
  snprintf(buf, size, "%s", lua_tostring(S, -1));
  lua_pop(S, 1);
  return buf;
}


/* A host thread entering the first interpreter: luagil_ensure. */
static void *visit_first (void *arg) {
  lua_State *S;
  (void)arg;
  cr_assert_eq(luagil_ensure(&S), LUAGIL_OK);
  run(S, "visited = (visited or 0) + 1");
  cr_assert_eq(luagil_release(), LUAGIL_OK);
  return NULL;
}


/*
** The main thread, holding A's GIL, enters B: A's GIL is let go meanwhile
** (a host thread gets into A before the main thread leaves B; with A's
** GIL kept it would wait for ever), each sees its own globals, and the
** visitor is a dummy thread in B.
*/
Test(interps, ensure_in_enters_another_interpreter, .timeout = 120) {
  lua_State *B = open_second(), *S, *T;
  char buf[64];
  pthread_t visitor;
  run(L, "who = 'A'");
  cr_assert_eq(luagil_ensure_in(B, &S), LUAGIL_OK);
  cr_assert_neq(S, L);
  cr_assert_str_eq(getstr(S, "who", buf, sizeof buf), "B");
  run(S, "local threading = require 'threading'\n"
         "me = threading.current_thread().name\n"
         "n = #threading.enumerate()");
  cr_assert(strncmp(getstr(S, "me", buf, sizeof buf), "Dummy", 5) == 0,
            "%s", buf);
  cr_assert_eq(getint(S, "n"), 2, "B's main thread and this visitor");
  cr_assert_eq(pthread_create(&visitor, NULL, visit_first, NULL), 0);
  pthread_join(visitor, NULL);  /* holding B's GIL only */
  cr_assert_eq(luagil_ensure_in(B, &T), LUAGIL_OK, "nested: counts");
  cr_assert_eq(T, S);
  cr_assert_eq(luagil_release(), LUAGIL_OK);
  cr_assert_eq(luagil_release(), LUAGIL_OK);
  /* back in A, holding its GIL again */
  cr_assert_str_eq(getstr(L, "who", buf, sizeof buf), "A");
  cr_assert_eq(getint(L, "visited"), 1);
  run(L, "assert(#require('threading').enumerate() == 2)");  /* + dummy */
  close_second();
  cr_assert_eq(luagil_ensure_in(B, &S), LUAGIL_ECLOSED, "B was closed");
  cr_assert_null(S);
}


Test(interps, ensure_in_refuses_what_is_not_an_interpreter) {
  lua_State *S = (lua_State *)&S;
  lua_State *F = luaL_newstate();  /* luagil is not on it */
  lua_State *co = lua_newthread(L);  /* not the main state */
  cr_assert_eq(luagil_ensure_in(NULL, &S), LUAGIL_EINVAL);
  cr_assert_null(S);
  cr_assert_eq(luagil_ensure_in(F, &S), LUAGIL_EINVAL);
  cr_assert_eq(luagil_ensure_in(co, &S), LUAGIL_EINVAL);
  cr_assert_eq(luagil_ensure_in(L, NULL), LUAGIL_EINVAL);
  cr_assert_eq(luagil_set_event_hook_in(F, NULL, NULL), 0);
  cr_assert_eq(luagil_release(), LUAGIL_EINVAL);
  lua_pop(L, 1);
  lua_close(F);
}


/* Counts the events of threads named 'ud->name', and of all others. */
typedef struct Names {
  const char *name;
  atomic_int mine, others;
} Names;

static void count_names (const luagil_Event *ev, void *ud) {
  Names *n = ud;
  if (strcmp(ev->name, n->name) == 0)
    atomic_fetch_add(&n->mine, 1);
  else if (strncmp(ev->name, "in", 2) == 0)
    atomic_fetch_add(&n->others, 1);
}


/* Each interpreter's hook hears its own threads only. */
Test(interps, event_hooks_are_per_interpreter, .timeout = 120) {
  static Names a = {"inA", 0, 0}, b = {"inB", 0, 0};
  static const char *const CODE =
    "local threading = require 'threading'\n"
    "local t = threading.Thread{name = 'in' .. who, target = function ()\n"
    "  local x = 0; for i = 1, 1000 do x = x + i end end}\n"
    "t:start(); t:join()";
  lua_State *B = open_second(), *S;
  run(L, "who = 'A'");
  cr_assert(luagil_set_event_hook(count_names, &a), "A: the current one");
  cr_assert(luagil_set_event_hook_in(B, count_names, &b));
  run(L, CODE);
  cr_assert_eq(luagil_ensure_in(B, &S), LUAGIL_OK);
  run(S, CODE);
  cr_assert_eq(luagil_release(), LUAGIL_OK);
  cr_assert(luagil_set_event_hook(NULL, NULL));
  cr_assert(luagil_set_event_hook_in(B, NULL, NULL));
  close_second();
  cr_assert_geq(atomic_load(&a.mine), 3, "started, resumed, exited...");
  cr_assert_geq(atomic_load(&b.mine), 3);
  cr_assert_eq(atomic_load(&a.others), 0, "A's hook heard B's thread");
  cr_assert_eq(atomic_load(&b.others), 0, "B's hook heard A's thread");
}


TestSuite(interps, .init = setup, .fini = teardown, .timeout = 120);

/* }====================================================== */
