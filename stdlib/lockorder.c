/*
** stdlib/lockorder.c -- lock-order checking (threading.setchecklocks,
** luagil --check-locks): Linux lockdep's idea for Lua's locks.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Classes. A lock's class is its creation site ("Lock@x.lua:3", the
** lg_Site that stdlib/sync.c fills), so that every lock made by one line
** is one node: a thousand accounts each with its own Lock are one class.
** A class is a userdata of the state's registry table (by its name),
** made the first time checking sees a lock of it, and kept for the run:
** the order learnt from locks that are gone still counts. A lock caches
** its class (lg_Dep.cls).
**
** The graph. An edge A -> B says "B was taken while A was held", with
** the traceback of the first time (malloc'd, freed with the class). Each
** thread keeps the locks it holds, in the order taken, in its waiter
** (lg_Waiter.held, up to LG_HELD_MAX; deeper ones are not checked). When
** a thread takes B, for every class A it holds an edge A -> B is looked
** for; only when it is new is anything allocated: the edge, and if the
** opposite edge B -> A exists, a report. Each pair is thus reported once,
** when its second order is first taken. Two locks of one class taken
** together (locks[1] then locks[2]) are no edge: their order cannot be
** told from their class. Only pairs are checked, not longer cycles.
**
** Who is covered: Lock, RLock (its first level; re-entries are no new
** order) and a Condition's lock (wait() releases it and takes it back, a
** new acquisition). Semaphores are not: they have no owner, and a
** release by another thread is their ordinary use. require's per-module
** RLocks neither (their sites are the require calls; stdlib/package.c
** detects its own cycles).
**
** Costs. Off, an acquire pays one branch on a global flag and a release
** one on a field of the lock. On, an acquire with nothing held pushes the
** lock on its thread's stack and a release pops it; with locks held it
** compares each held class's edges. Everything that allocates (a new
** class, a new edge, a report) runs in protected mode, so checking never
** raises in a lock's acquire, where the lock is already taken: without
** memory, an order is simply not learnt.
**
** Everything here is guarded by the GIL of the lock's interpreter. A lock
** released by another thread than its taker (a Lock may be) leaves its
** taker's stack: lg_Dep.w says whose. A thread that ends holding locks
** forgets them (lg_lockorder_forget), so that no lock points to a waiter
** that is freed.
*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lglib.h"
#include "waitq.h"

#define CLASS  "threading._LockClass"

atomic_int lg_lockorder_on;

/* Registry keys: the classes by name, and the violations so far. */
static const char CLASSES, VIOLATIONS;


typedef struct Edge {
  lg_DepClass *to;
  char *tb;               /* the traceback of the first time; may be NULL */
} Edge;

struct lg_DepClass {
  char name[64];          /* "Lock@x.lua:3" */
  int n, size;            /* edges out of it */
  Edge *e;
};

/* The class of the locks that are never checked (lg_lockorder_exclude). */
static lg_DepClass noclass;


/*
** {======================================================
** Classes and edges
** =======================================================
*/

static int class_gc (lua_State *L) {
  lg_DepClass *c = luaL_checkudata(L, 1, CLASS);
  for (int i = 0; i < c->n; i++)
    free(c->e[i].tb);
  free(c->e);
  c->e = NULL;
  c->n = c->size = 0;
  return 0;
}


/* The registry's table at 'key' (made on first use), pushed. */
static void pushtable (lua_State *L, const void *key) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  }
}


/* The class named as 'site' (made if new); may raise (memory). */
static lg_DepClass *classof (lua_State *L, const lg_Site *site) {
  lg_DepClass *c;
  pushtable(L, &CLASSES);
  lg_site_push(L, site);  /* stack: classes name */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TUSERDATA)
    c = lua_touserdata(L, -1);
  else {
    lua_pop(L, 1);
    c = lua_newuserdatauv(L, sizeof *c, 0);
    c->n = c->size = 0;
    c->e = NULL;
    snprintf(c->name, sizeof c->name, "%s", lua_tostring(L, -2));
    if (luaL_newmetatable(L, CLASS)) {
      lua_pushcfunction(L, class_gc);
      lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);  /* stack: classes name class name class */
    lua_rawset(L, -5);
  }
  lua_pop(L, 3);
  return c;
}


static Edge *edge (lg_DepClass *from, const lg_DepClass *to) {
  for (int i = 0; i < from->n; i++)
    if (from->e[i].to == to)
      return &from->e[i];
  return NULL;
}


/* Add the edge from -> to with traceback 'tb' (copied); false if out of
** memory. */
static int addedge (lg_DepClass *from, lg_DepClass *to, const char *tb) {
  if (from->n == from->size) {
    int size = from->size ? 2 * from->size : 4;
    Edge *e = realloc(from->e, (size_t)size * sizeof *e);
    if (e == NULL)
      return 0;
    from->e = e;
    from->size = size;
  }
  from->e[from->n].to = to;
  from->e[from->n].tb = tb != NULL ? strdup(tb) : NULL;
  from->n++;
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Learning the order (protected)
** =======================================================
*/

/* Write 's' to stderr without the GIL. */
static void writeerr (const char *s, size_t len) {
  char *copy = malloc(len);
  if (copy == NULL)
    return;
  memcpy(copy, s, len);
  LG_BEGIN_BLOCKING
  fwrite(copy, 1, len, stderr);
  fflush(stderr);
  LG_END_BLOCKING
  free(copy);
}


/* Record the violation "'taken' while holding 'held'" (tracebacks 'here'
** and 'there') and write it to stderr. */
static void report (lua_State *L, const lg_DepClass *taken,
                    const lg_DepClass *held, const char *here,
                    const char *there) {
  size_t len;
  const char *msg;
  pushtable(L, &VIOLATIONS);
  lua_createtable(L, 0, 5);  /* stack: violations v */
  lua_pushstring(L, taken->name);
  lua_setfield(L, -2, "taken");
  lua_pushstring(L, held->name);
  lua_setfield(L, -2, "held");
  lua_pushstring(L, here);
  lua_setfield(L, -2, "here");
  lua_pushstring(L, there != NULL ? there : "?");
  lua_setfield(L, -2, "there");
  msg = lua_pushfstring(L, "potential deadlock: %s taken while holding %s "
                        "here: %s; the opposite order was taken there: "
                        "%s\n", taken->name, held->name, here,
                        there != NULL ? there : "?");
  len = lua_rawlen(L, -1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "message");
  lua_insert(L, -2);  /* stack: violations msg v */
  lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
  writeerr(msg, len);
  lua_pop(L, 2);
}


/*
** learn(dep, held...): lua_pcall'd with the lock's lg_Dep (its class
** resolved already) and the classes held before it as light userdata;
** adds the edges that are new, with this traceback, and reports the
** pairs they reverse.
*/
static int learn (lua_State *L) {
  lg_DepClass *c = lua_touserdata(L, 1);
  int n = lua_gettop(L);
  const char *tb = NULL;
  for (int i = 2; i <= n; i++) {
    lg_DepClass *h = lua_touserdata(L, i);
    Edge *back;
    if (h == c || edge(h, c) != NULL)
      continue;
    if (tb == NULL) {  /* from level 1: the acquire (or with, wait) */
      luaL_traceback(L, L, NULL, 1);
      tb = lua_tostring(L, -1);
    }
    if (!addedge(h, c, tb))
      return 0;
    if ((back = edge(c, h)) != NULL)
      report(L, c, h, tb, back->tb);
  }
  return 0;
}


/* resolve(dep, site), protected: the class of the lock at 1. */
static int resolve (lua_State *L) {
  lg_Dep *d = lua_touserdata(L, 1);
  const lg_Site *site = lua_touserdata(L, 2);
  d->cls = classof(L, site);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** The hooks that locks call
** =======================================================
*/

void lg_lockorder_taken (lua_State *L, lg_Dep *d, const lg_Site *site) {
  lg_Waiter *w = lg_waiter_self();
  lg_DepClass *held[LG_HELD_MAX];
  int n, nnew = 0;
  if (w == NULL || d->cls == &noclass)
    return;
  if (d->cls == NULL) {
    if (!lua_checkstack(L, 3))
      return;
    lua_pushcfunction(L, resolve);
    lua_pushlightuserdata(L, d);
    lua_pushlightuserdata(L, (void *)site);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
      lua_pop(L, 1);
      return;
    }
  }
  n = w->nheld;
  for (int i = 0; i < n; i++) {  /* copied: learn() may run finalisers */
    lg_DepClass *h = ((lg_Dep *)w->held[i])->cls;
    if (h != d->cls && edge(h, d->cls) == NULL)
      held[nnew++] = h;
  }
  if (w->nheld < LG_HELD_MAX) {  /* deeper locks are not checked */
    w->held[w->nheld++] = d;
    d->w = w;
  }
  if (nnew > 0 && lua_checkstack(L, nnew + 2)) {
    lua_pushcfunction(L, learn);
    lua_pushlightuserdata(L, d->cls);
    for (int i = 0; i < nnew; i++)
      lua_pushlightuserdata(L, held[i]);
    if (lua_pcall(L, nnew + 1, 0, 0) != LUA_OK)
      lua_pop(L, 1);
  }
}


/*
** The lock 'd' leaves the stack of the thread that took it, if it is
** still there (a host thread's state may have been cleared for another
** since).
*/
void lg_lockorder_given (lg_Dep *d) {
  lg_Waiter *w = d->w;
  int n = w->nheld;
  for (int i = n - 1; i >= 0; i--)
    if (w->held[i] == d) {
      memmove(&w->held[i], &w->held[i + 1],
              (size_t)(n - i - 1) * sizeof w->held[0]);
      w->nheld--;
      break;
    }
  d->w = NULL;
}


void lg_lockorder_forget (lg_Waiter *w) {
  for (int i = 0; i < w->nheld; i++)
    ((lg_Dep *)w->held[i])->w = NULL;
  w->nheld = 0;
}


void lg_lockorder_exclude (lg_Dep *d) {
  d->cls = &noclass;
}

/* }====================================================== */


/*
** {======================================================
** Lua functions
** =======================================================
*/

/* _thread.setchecklocks(on) -> was it on */
static int lockorder_setchecklocks (lua_State *L) {
  int old;
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  old = atomic_exchange(&lg_lockorder_on, lua_toboolean(L, 1));
  lua_pushboolean(L, old);
  return 1;
}


/* _thread.lockorder_violations() -> {{taken=, held=, here=, there=,
** message=}, ...}, a new sequence, oldest first */
static int lockorder_violations (lua_State *L) {
  lua_Integer n;
  pushtable(L, &VIOLATIONS);
  n = (lua_Integer)lua_rawlen(L, -1);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    lua_rawseti(L, -2, i);
  }
  return 1;
}


static const luaL_Reg lockorder_funcs[] = {
  {"setchecklocks", lockorder_setchecklocks},
  {"lockorder_violations", lockorder_violations},
  {NULL, NULL}
};


void lg_open_lockorder (lua_State *L) {
  luaL_setfuncs(L, lockorder_funcs, 0);
}

/* }====================================================== */
