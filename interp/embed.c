/*
** interp/embed.c -- host threads calling into Lua (luagil_ensure and
** luagil_release), and the host's GIL event hook.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** A thread that luagil did not create is registered on its first
** luagil_ensure: it gets an lg_TState (so it can queue for the GIL and be
** asked to let it go), a statistics record, and a Lua thread of its own,
** made from 'anchor' -- an idle state kept for that, since the main
** thread's stack belongs to whatever the main thread is doing -- and
** anchored in the registry. All of that lives until the OS thread exits:
** a pthread key's destructor then unregisters it and puts its record on
** the 'zombies' list, and the next thread that holds the GIL in here
** releases the Lua thread and tells 'threading' to forget its dummy. The
** destructor never takes the GIL: at thread exit the interpreter may be
** closing, and a thread that asks for the GIL then parks for ever.
**
** Nesting: each level remembers whether it took the GIL (a bit in
** 'took'), so an ensure inside the allow-threads pair takes it again and
** its release lets it go again, and one made holding the GIL only counts.
**
** Shutdown: 'closing' is set before the GIL is finalized. A thread checks
** it after counting itself in 'entering' and the closer reads 'entering'
** after setting 'closing' (both sequentially consistent), so either the
** thread sees 'closing' and fails, or the closer sees it and lets it have
** the GIL before finalizing; no thread that passed the check parks for
** ever. 'inside' counts host threads between ensure and release: while it
** is not zero, luagil_close does not free the state.
*/

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "embed.h"
#include "gil.h"
#include "luagil.h"
#include "stats.h"
#include "tstate.h"


typedef struct Host {
  lg_TState *ts;       /* registered here (a host thread), else NULL */
  lua_State *L;        /* its own Lua thread (host thread only) */
  int ref;             /* registry ref anchoring L */
  int named;           /* owner thread only: its dummy is named */
  int depth;           /* owner thread only: luagil_ensure nesting */
  uint64_t took;       /* owner thread only: bit d, level d+1 took the GIL */
  unsigned long ident; /* the OS thread's, as threading knows it */
  struct Host *next;   /* zombies.mutex: link in the zombie list */
} Host;


static __thread Host *host;        /* the calling thread's, or NULL */
static pthread_key_t exitkey;      /* its destructor: onexit */
static pthread_once_t keyonce = PTHREAD_ONCE_INIT;

static lua_State *anchor;          /* GIL: an idle state, to make threads */
static atomic_int ready;           /* luagil installed */
static atomic_int closing;         /* luagil_close began */
static atomic_int entering;        /* past the 'closing' check, no GIL yet */
static atomic_int inside;          /* host threads between ensure/release */

static struct {
  pthread_mutex_t mutex;
  Host *list;                      /* mutex: host threads that exited */
} zombies = {PTHREAD_MUTEX_INITIALIZER, NULL};


/*
** {======================================================
** Registration
** =======================================================
*/

/* Thread exit: see the notes. Runs without the GIL. */
static void onexit (void *p) {
  Host *h = p;
  lg_TState *ts = h->ts;
  host = NULL;
  if (ts != NULL) {
    if (h->depth > 0 && lg_gil_held(ts)) {  /* exited holding the GIL */
      lg_tstate_setrunning(ts, NULL);
      lg_gil_drop(ts, LG_DROP_PLAIN);
    }
    if (h->depth > 0)
      atomic_fetch_sub(&inside, 1);
    lg_event(ts, LG_EV_EXITED, 0);
    ts->stats = NULL;
    lg_tstate_unregister(ts);
    if (h->L != NULL) {
      lg_check(pthread_mutex_lock(&zombies.mutex));
      {
        int keep = !atomic_load(&closing);  /* else lg_embed_closed frees */
        if (keep) {
          h->next = zombies.list;
          zombies.list = h;
        }
        h = keep ? NULL : h;
      }
      lg_check(pthread_mutex_unlock(&zombies.mutex));
    }
  }
  free(h);
}


static void makekey (void) {
  lg_check(pthread_key_create(&exitkey, onexit));
}


static Host *newhost (void) {
  Host *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->ref = LUA_NOREF;
  h->ident = (unsigned long)pthread_self();
  lg_check(pthread_once(&keyonce, makekey));
  lg_check(pthread_setspecific(exitkey, h));
  host = h;
  return h;
}


/* Empty the zombie list; returns what it held, now the caller's. */
static Host *takezombies (void) {
  Host *list;
  lg_check(pthread_mutex_lock(&zombies.mutex));
  {
    list = zombies.list;
    zombies.list = NULL;
  }
  lg_check(pthread_mutex_unlock(&zombies.mutex));
  return list;
}


/* Release the Lua threads of exited host threads; forget their dummies.
** GIL held. */
static void bury (lua_State *A) {
  Host *list = takezombies();
  while (list != NULL) {
    Host *h = list;
    list = h->next;
    luaL_unref(A, LUA_REGISTRYINDEX, h->ref);
    lua_getfield(A, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(A, -1, "threading") == LUA_TTABLE &&
        lua_getfield(A, -1, "_forget_dummy") == LUA_TFUNCTION) {
      lua_pushinteger(A, (lua_Integer)h->ident);
      if (lua_pcall(A, 1, 0, 0) != LUA_OK)
        lua_pop(A, 1);  /* nothing to report to: it only cleans up */
    }
    lua_settop(A, 0);
    free(h);
  }
}


/* Name the dummy thread: threading.current_thread().name, if it works. */
static const char *const NAMECODE =
  "local ok, threading = pcall(require, 'threading')\n"
  "if ok and type(threading) == 'table' then\n"
  "  return threading.current_thread().name\n"
  "end";


/* adopt(host): the host thread's new Lua thread, on 'anchor'. */
static int adopt (lua_State *A) {
  Host *h = lua_touserdata(A, 1);
  lua_State *L = lua_newthread(A);
  h->ref = luaL_ref(A, LUA_REGISTRYINDEX);
  h->L = L;
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Ensure and release
** =======================================================
*/

/*
** The first registration of a host thread: the parts without the GIL.
** NULL if memory runs out (the thread stays unregistered).
*/
static lg_TState *enroll (Host *h) {
  lg_IState *I = lg_interp_first();
  lg_TState *ts = lg_tstate_register(I, NULL, 0);
  lg_Stats *st = ts != NULL ? lg_stats_new(I, "Dummy", h->ident) : NULL;
  if (st == NULL) {
    if (ts != NULL)
      lg_tstate_unregister(ts);
    return NULL;
  }
  ts->stats = st;
  h->ts = ts;
  lg_event(ts, LG_EV_STARTED, 0);
  return ts;
}


/*
** With the GIL: bury the exited, and make the host thread's own state on
** first use. Nothing here may let the GIL go while a frame sits on
** 'anchor', which every host thread shares: so no Lua code runs on it but
** threading's _forget_dummy (table writes), and the collector is stopped,
** as a finalizer it ran could block.
*/
static int ownstate (Host *h) {
  int status = LUA_OK;
  int gc = lua_gc(anchor, LUA_GCISRUNNING);
  if (gc)
    lua_gc(anchor, LUA_GCSTOP);
  bury(anchor);
  if (h->L == NULL) {
    lua_pushcfunction(anchor, adopt);
    lua_pushlightuserdata(anchor, h);
    status = lua_pcall(anchor, 1, 0, 0);
    lua_settop(anchor, 0);
  }
  if (gc)
    lua_gc(anchor, LUA_GCRESTART);
  if (status != LUA_OK) {
    h->L = NULL;
    return LUAGIL_ENOMEM;
  }
  lg_tstate_setrunning(h->ts, h->L);
  if (h->ref != LUA_NOREF && !h->named) {
    lua_State *L = h->L;  /* its own state: this code may let the GIL go */
    h->named = 1;
    if (luaL_loadstring(L, NAMECODE) == LUA_OK &&
        lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
      lg_stats_setname(h->ts->stats, lua_tostring(L, -1));
    lua_settop(L, 0);
  }
  return LUAGIL_OK;
}


int luagil_ensure (lua_State **Lp) {
  Host *h = host;
  lg_TState *ts = lg_tstate_current();
  if (Lp == NULL)
    return LUAGIL_EINVAL;
  *Lp = NULL;
  if (!atomic_load(&ready))
    return LUAGIL_ENOTREADY;
  if (atomic_load(&closing))
    return LUAGIL_ECLOSED;
  if (h == NULL && (h = newhost()) == NULL)
    return LUAGIL_ENOMEM;
  if (h->depth >= LUAGIL_MAXDEPTH)
    return LUAGIL_EDEPTH;
  if (ts != NULL && lg_gil_held(ts)) {  /* nested, or a C function's call */
    *Lp = (ts == h->ts) ? h->L : atomic_load(&ts->running);
    h->depth++;
    return LUAGIL_OK;
  }
  atomic_fetch_add(&entering, 1);
  if (atomic_load(&closing)) {  /* see the notes: Shutdown */
    atomic_fetch_sub(&entering, 1);
    return LUAGIL_ECLOSED;
  }
  if (ts == NULL && (ts = enroll(h)) == NULL) {
    atomic_fetch_sub(&entering, 1);
    return LUAGIL_ENOMEM;
  }
  if (ts == h->ts && h->depth == 0)
    atomic_fetch_add(&inside, 1);
  lg_gil_take(ts);
  atomic_fetch_sub(&entering, 1);
  if (ts == h->ts) {
    int status = ownstate(h);
    if (status != LUAGIL_OK) {
      lg_gil_drop(ts, LG_DROP_PLAIN);
      if (h->depth == 0)
        atomic_fetch_sub(&inside, 1);
      return status;
    }
    *Lp = h->L;
  }
  else
    *Lp = atomic_load(&ts->running);
  h->took |= (uint64_t)1 << h->depth;
  h->depth++;
  return LUAGIL_OK;
}


int luagil_release (void) {
  Host *h = host;
  lg_TState *ts = lg_tstate_current();
  uint64_t bit;
  if (h == NULL || h->depth == 0)
    return LUAGIL_EINVAL;  /* no luagil_ensure to match */
  h->depth--;
  bit = (uint64_t)1 << h->depth;
  if (!(h->took & bit))
    return LUAGIL_OK;  /* this level found the GIL held: keep it */
  h->took &= ~bit;
  if (ts == h->ts && h->depth == 0) {
    lua_settop(h->L, 0);
    lg_tstate_setrunning(ts, NULL);
  }
  lg_gil_drop(ts, LG_DROP_PLAIN);
  if (ts == h->ts && h->depth == 0)
    atomic_fetch_sub(&inside, 1);
  return LUAGIL_OK;
}

/* }====================================================== */


/*
** {======================================================
** Lifecycle
** =======================================================
*/

static int makeanchor (lua_State *L) {
  anchor = lua_newthread(L);
  luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}


int lg_embed_init (lua_State *L) {
  int status;
  lua_pushcfunction(L, makeanchor);
  status = lua_pcall(L, 0, 0, 0);
  if (status == LUA_OK)
    atomic_store(&ready, 1);
  return status;
}


void lg_embed_closing (lg_TState *ts) {
  atomic_store(&closing, 1);
  while (atomic_load(&entering) > 0) {  /* let them in, and out again */
    lg_gil_drop(ts, LG_DROP_PLAIN);
    sched_yield();
    lg_gil_take(ts);
  }
}


int lg_embed_inside (void) {
  return atomic_load(&inside);
}


void lg_embed_closed (void) {
  Host *list = takezombies();
  while (list != NULL) {
    Host *h = list;
    list = h->next;
    free(h);
  }
}

/* }====================================================== */


/*
** {======================================================
** The host's event hook
** =======================================================
*/

typedef struct Hook {
  luagil_EventHook fn;
  void *ud;
  struct Hook *older;  /* kept for good: a late call may still read one */
} Hook;

static Hook *_Atomic hook;         /* the current one, or NULL */
static pthread_mutex_t hookmutex = PTHREAD_MUTEX_INITIALIZER;
static Hook *hooks;                /* hookmutex: every one ever set */
static int listening;              /* hookmutex */


static void dispatch (int ev, int reason, const lg_Stats *st, long t_ns,
                      void *ud) {
  Hook *hk = atomic_load(&hook);
  luagil_Event e;
  (void)ud;
  if (hk == NULL || hk->fn == NULL)
    return;
  e.event = ev;
  e.reason = ev == LG_EV_SUSPENDED ? reason : 0;
  e.ident = atomic_load(&st->ident);  /* the thread it is about */
  e.name = st->name;
  e.t_ns = t_ns;
  hk->fn(&e, hk->ud);
}


int luagil_set_event_hook (luagil_EventHook fn, void *ud) {
  int ok = 1;
  lg_check(pthread_mutex_lock(&hookmutex));
  {
    Hook *hk = NULL;
    if (fn != NULL && (hk = malloc(sizeof *hk)) != NULL) {
      hk->fn = fn;
      hk->ud = ud;
      hk->older = hooks;
      hooks = hk;
    }
    if (fn != NULL && hk == NULL)
      ok = 0;
    else if (fn != NULL && !listening)
      ok = listening = lg_listen_passing(dispatch, NULL);
    if (ok)
      atomic_store(&hook, hk);
  }
  lg_check(pthread_mutex_unlock(&hookmutex));
  return ok;
}

/* }====================================================== */
