/*
** interp/embed.c -- host threads calling into Lua (luagil_ensure,
** luagil_ensure_in and luagil_release), and the hosts' GIL event hooks.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Every interpreter has an lg_Embed: what host threads entering it share.
** A thread that luagil did not create, or that runs in another
** interpreter, is registered in an interpreter on its first entry there:
** it gets a Host record, with an lg_TState of that interpreter (so it can
** queue for its GIL and be asked to let it go), a statistics record, and
** a Lua thread of its own, made from the interpreter's 'anchor' -- an idle
** state kept for that, since the main thread's stack belongs to whatever
** the main thread is doing -- and anchored in the registry. All of that
** lives until the OS thread exits: a pthread key's destructor then
** unregisters it and puts the record on the interpreter's 'zombies' list,
** and the next thread that holds that GIL in here releases the Lua thread
** and tells 'threading' to forget its dummy. The destructor never takes a
** GIL: at thread exit the interpreter may be closing, and a thread that
** asks for the GIL then parks for ever.
**
** Nesting: the calling thread's Visitor keeps one Level per luagil_ensure
** not yet released, innermost last: whether it took a GIL, the thread
** state it made current, and the one to go back to. An ensure inside the
** allow-threads pair takes the GIL again and its release lets it go
** again; one made holding the interpreter's GIL only counts. Entering
** another interpreter while holding one's GIL lets that GIL go first, as
** around a blocking call, and its release takes it back: a thread never
** waits for one GIL while it holds another (interp/interpreters.c does the
** same), so two interpreters' host threads cannot deadlock on their GILs.
**
** Shutdown: 'closing' is set before the GIL is finalized. A thread checks
** it after counting itself in 'entering' and the closer reads 'entering'
** after setting 'closing' (both sequentially consistent), so either the
** thread sees 'closing' and fails, or the closer sees it and lets it have
** the GIL before finalizing; no thread that passed the check parks for
** ever. 'inside' counts host threads between their outermost ensure and
** its release: while it is not zero, luagil_close does not free the state.
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
#include "waitq.h"


typedef struct Hook {
  luagil_EventHook fn;
  void *ud;
  struct Hook *older;  /* kept for good: a late call may still read one */
} Hook;


struct lg_Embed {
  lua_State *anchor;               /* GIL: an idle state, to make threads */
  atomic_int closing;              /* luagil_close began */
  atomic_int entering;             /* past the 'closing' check, no GIL yet */
  atomic_int inside;               /* host threads between ensure/release */
  pthread_mutex_t mutex;
  struct Host *zombies;            /* mutex: host threads that exited */
  long id;                         /* the interpreter's (lg_IState.id) */
  Hook *_Atomic hook;              /* its host's event hook, or NULL */
  int listed;                      /* hookmutex: in the 'hooked' list */
  struct lg_Embed *_Atomic hooked; /* next in that list */
};


/* A host thread's registration in one interpreter. */
typedef struct Host {
  lg_Interp *p;        /* the interpreter (never freed) */
  lg_TState *ts;       /* registered there */
  lua_State *L;        /* its own Lua thread there */
  int ref;             /* registry ref anchoring L */
  int named;           /* owner thread only: its dummy is named */
  int uses;            /* owner thread only: open levels entered with it */
  unsigned long ident; /* the OS thread's, as threading knows it */
  struct Host *next;   /* owner: the thread's others; then e->mutex: the
                          zombie list */
} Host;


/* One luagil_ensure, until its luagil_release. */
typedef struct Level {
  lg_TState *ts;       /* the state it runs with (its GIL if 'took') */
  lg_TState *outer;    /* the current state before, made current again */
  Host *h;             /* the registration it used, or NULL */
  lg_Embed *e;         /* h's interpreter's, or NULL */
  unsigned char took;  /* it took ts's GIL */
  unsigned char retake;  /* it let outer's GIL go: take it back */
} Level;


/* The calling thread's entries, made at its first luagil_ensure. */
typedef struct Visitor {
  Host *hosts;         /* one per interpreter entered, newest first */
  int depth;           /* levels open */
  Level level[LUAGIL_MAXDEPTH];
} Visitor;


static __thread Visitor *me;       /* the calling thread's, or NULL */
static pthread_key_t exitkey;      /* its destructor: onexit */
static pthread_once_t keyonce = PTHREAD_ONCE_INIT;


/*
** {======================================================
** Registration
** =======================================================
*/

/* Unregister h's state, whichever state is current (that stays so). */
static void unregister (Host *h) {
  lg_TState *cur = lg_tstate_current();
  lg_event(h->ts, LG_EV_EXITED, 0);
  h->ts->stats = NULL;
  lg_tstate_unregister(h->ts);  /* makes none current */
  lg_tstate_swap(cur != h->ts ? cur : NULL);
}


/*
** h's OS thread is done with it: h goes on the zombie list, for a thread
** holding the GIL to release its Lua thread, or is freed if the
** interpreter is closing (lg_embed_closed frees the list).
*/
static void retire (Host *h) {
  lg_Embed *e = h->p->embed;
  unregister(h);
  lg_check(pthread_mutex_lock(&e->mutex));
  {
    int keep = !atomic_load(&e->closing);
    if (keep) {
      h->next = e->zombies;
      e->zombies = h;
    }
    h = keep ? NULL : h;
  }
  lg_check(pthread_mutex_unlock(&e->mutex));
  free(h);
}


/* Thread exit: see the notes. Runs without the GIL. */
static void onexit (void *arg) {
  Visitor *v = arg;
  me = NULL;
  while (v->depth > 0) {  /* exited between ensure and release */
    Level *lv = &v->level[--v->depth];
    if (lv->took && lg_gil_held(lv->ts)) {
      lg_tstate_setrunning(lv->ts, NULL);
      lg_gil_drop(lv->ts, LG_DROP_PLAIN);
    }
    if (lv->h != NULL && --lv->h->uses == 0)
      atomic_fetch_sub(&lv->e->inside, 1);
  }
  while (v->hosts != NULL) {
    Host *h = v->hosts;
    v->hosts = h->next;
    retire(h);
  }
  free(v);
}


static void makekey (void) {
  lg_check(pthread_key_create(&exitkey, onexit));
}


static Visitor *newvisitor (void) {
  Visitor *v = calloc(1, sizeof *v);
  if (v == NULL)
    return NULL;
  lg_check(pthread_once(&keyonce, makekey));
  lg_check(pthread_setspecific(exitkey, v));
  me = v;
  return v;
}


/*
** The calling thread's registration in 'p', or NULL. Those of closed
** interpreters are dropped on the way (a thread may visit many that come
** and go).
*/
static Host *hostin (Visitor *v, lg_Interp *p) {
  Host **hp = &v->hosts, *h;
  while ((h = *hp) != NULL) {
    if (h->p == p)
      return h;
    if (atomic_load(&h->p->closed) && h->uses == 0) {
      *hp = h->next;
      retire(h);
    }
    else
      hp = &h->next;
  }
  return NULL;
}


/*
** Register the calling thread in 'p' and make that state current: the
** parts without the GIL. NULL if memory runs out (nothing changed).
*/
static Host *enroll (Visitor *v, lg_Interp *p) {
  Host *h = calloc(1, sizeof *h);
  lg_TState *ts = h != NULL ? lg_tstate_new() : NULL;
  unsigned long ident = (unsigned long)pthread_self();
  lg_Stats *st = ts != NULL ? lg_stats_new(p->I, "Dummy", ident) : NULL;
  if (st == NULL) {
    if (ts != NULL)
      lg_tstate_discard(ts);
    free(h);
    return NULL;
  }
  lg_tstate_adopt(ts, p->I, NULL, 0);  /* now current */
  ts->stats = st;
  h->p = p;
  h->ts = ts;
  h->ref = LUA_NOREF;
  h->ident = ident;
  h->next = v->hosts;
  v->hosts = h;
  lg_event(ts, LG_EV_STARTED, 0);
  return h;
}


/* Empty e's zombie list; returns what it held, now the caller's. */
static Host *takezombies (lg_Embed *e) {
  Host *list;
  lg_check(pthread_mutex_lock(&e->mutex));
  {
    list = e->zombies;
    e->zombies = NULL;
  }
  lg_check(pthread_mutex_unlock(&e->mutex));
  return list;
}


/* Release the Lua threads of exited host threads; forget their dummies.
** GIL held. */
static void bury (lg_Embed *e) {
  lua_State *A = e->anchor;
  Host *list = takezombies(e);
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
** With the GIL: bury the exited, and make the host thread's own state on
** first use. Nothing here may let the GIL go while a frame sits on
** 'anchor', which every host thread shares: so no Lua code runs on it but
** threading's _forget_dummy (table writes), and the collector is stopped,
** as a finalizer it ran could block.
*/
static int ownstate (lg_Embed *e, Host *h) {
  lua_State *A = e->anchor;
  int status = LUA_OK;
  int gc = lua_gc(A, LUA_GCISRUNNING);
  if (gc)
    lua_gc(A, LUA_GCSTOP);
  bury(e);
  if (h->L == NULL) {
    lua_pushcfunction(A, adopt);
    lua_pushlightuserdata(A, h);
    status = lua_pcall(A, 1, 0, 0);
    lua_settop(A, 0);
  }
  if (gc)
    lua_gc(A, LUA_GCRESTART);
  if (status != LUA_OK) {
    h->L = NULL;
    return LUAGIL_ENOMEM;
  }
  lg_tstate_setrunning(h->ts, h->L);
  if (!h->named) {
    lua_State *L = h->L;  /* its own state: this code may let the GIL go */
    h->named = 1;
    if (luaL_loadstring(L, NAMECODE) == LUA_OK &&
        lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
      lg_stats_setname(h->ts->stats, lua_tostring(L, -1));
    lua_settop(L, 0);
  }
  return LUAGIL_OK;
}


/* Undo what ensure did for level 'lv' before it had the GIL. */
static void unenter (Level *lv) {
  if (lv->h != NULL && --lv->h->uses == 0)
    atomic_fetch_sub(&lv->e->inside, 1);
  lg_tstate_swap(lv->outer);
  if (lv->retake)
    lg_blocking_end(lv->outer);
}


static int ensure (lg_Interp *p, lua_State **Lp) {
  Visitor *v = me;
  lg_Embed *e;
  lg_TState *cur = lg_tstate_current();
  Level *lv;
  int status;
  if (Lp == NULL)
    return LUAGIL_EINVAL;
  *Lp = NULL;
  if (p == NULL)
    return LUAGIL_ENOTREADY;
  e = p->embed;
  if (atomic_load(&p->closed) || atomic_load(&e->closing))
    return LUAGIL_ECLOSED;
  if (v == NULL && (v = newvisitor()) == NULL)
    return LUAGIL_ENOMEM;
  if (v->depth >= LUAGIL_MAXDEPTH)
    return LUAGIL_EDEPTH;
  lv = &v->level[v->depth];
  *lv = (Level){cur, cur, NULL, NULL, 0, 0};
  if (cur != NULL && cur->interp == p->I) {  /* in p already */
    Host *h = hostin(v, p);
    if (h != NULL && h->ts == cur) {
      lv->h = h;
      lv->e = e;
    }
    if (lg_gil_held(cur)) {  /* nested, or a C function's call: count */
      if (lv->h != NULL && h->uses++ == 0)
        atomic_fetch_add(&e->inside, 1);
      *Lp = lv->h != NULL ? h->L : atomic_load(&cur->running);
      v->depth++;
      return LUAGIL_OK;
    }
  }
  else {  /* a visit: p gets a state of this thread's */
    Host *h = hostin(v, p);
    if (h == NULL && (h = enroll(v, p)) == NULL) {
      lg_tstate_swap(cur);
      return LUAGIL_ENOMEM;
    }
    if (cur != NULL && lg_gil_held(cur)) {  /* another's GIL: let it go */
      lg_tstate_swap(cur);
      lg_blocking_begin();
      lv->retake = 1;
    }
    lg_tstate_swap(h->ts);
    lv->ts = h->ts;
    lv->h = h;
    lv->e = e;
  }
  if (lv->h != NULL && lv->h->uses++ == 0)
    atomic_fetch_add(&e->inside, 1);
  atomic_fetch_add(&e->entering, 1);
  if (atomic_load(&e->closing)) {  /* see the notes: Shutdown */
    atomic_fetch_sub(&e->entering, 1);
    unenter(lv);
    return LUAGIL_ECLOSED;
  }
  lg_gil_take(lv->ts);
  atomic_fetch_sub(&e->entering, 1);
  if (lv->h != NULL) {
    if ((status = ownstate(e, lv->h)) != LUAGIL_OK) {
      lg_gil_drop(lv->ts, LG_DROP_PLAIN);
      unenter(lv);
      return status;
    }
    *Lp = lv->h->L;
  }
  else
    *Lp = atomic_load(&lv->ts->running);
  lv->took = 1;
  v->depth++;
  return LUAGIL_OK;
}


int luagil_ensure (lua_State **Lp) {
  return ensure(lg_interp_firstone(), Lp);
}


int luagil_ensure_in (lua_State *interp, lua_State **Lp) {
  lg_Interp *p = interp != NULL ? lg_interp_bystate(interp) : NULL;
  if (p == NULL && Lp != NULL)
    *Lp = NULL;
  return p != NULL ? ensure(p, Lp) : LUAGIL_EINVAL;
}


int luagil_release (void) {
  Visitor *v = me;
  Level *lv;
  if (v == NULL || v->depth == 0)
    return LUAGIL_EINVAL;  /* no luagil_ensure to match */
  lv = &v->level[--v->depth];
  if (lv->took) {
    if (lv->h != NULL && lv->h->uses == 1) {  /* its outermost */
      lua_settop(lv->h->L, 0);
      lg_tstate_setrunning(lv->ts, NULL);
    }
    lg_gil_drop(lv->ts, LG_DROP_PLAIN);
  }
  unenter(lv);
  return LUAGIL_OK;
}

/* }====================================================== */


/*
** {======================================================
** Lifecycle
** =======================================================
*/

static int makeanchor (lua_State *L) {
  lg_Embed *e = lua_touserdata(L, 1);
  e->anchor = lua_newthread(L);
  luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}


int lg_embed_init (lg_Interp *p, lg_IState *I, lua_State *L) {
  lg_Embed *e = calloc(1, sizeof *e);
  if (e == NULL)
    return -1;
  lua_pushcfunction(L, makeanchor);
  lua_pushlightuserdata(L, e);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    free(e);
    return -1;
  }
  lg_mutex_init(&e->mutex);
  e->id = I->id;
  p->embed = e;
  return 0;
}


void lg_embed_closing (lg_Interp *p, lg_TState *ts) {
  lg_Embed *e = p->embed;
  atomic_store(&e->closing, 1);
  while (atomic_load(&e->entering) > 0) {  /* let them in, and out again */
    lg_gil_drop(ts, LG_DROP_PLAIN);
    sched_yield();
    lg_gil_take(ts);
  }
}


int lg_embed_inside (lg_Interp *p) {
  return atomic_load(&p->embed->inside);
}


void lg_embed_closed (lg_Interp *p) {
  Host *list = takezombies(p->embed);
  while (list != NULL) {
    Host *h = list;
    list = h->next;
    free(h);
  }
}

/* }====================================================== */


/*
** {======================================================
** The hosts' event hooks
** =======================================================
*/

static lg_Embed *_Atomic hooked;   /* every interpreter ever hooked */
static pthread_mutex_t hookmutex = PTHREAD_MUTEX_INITIALIZER;
static Hook *hooks;                /* hookmutex: every one ever set */
static int listening;              /* hookmutex */


static void dispatch (int ev, int reason, const lg_Stats *st, long t_ns,
                      void *ud) {
  long id = lg_stats_interp(st);
  lg_Embed *e = atomic_load(&hooked);
  Hook *hk;
  luagil_Event event;
  (void)ud;
  while (e != NULL && e->id != id)
    e = atomic_load(&e->hooked);
  if (e == NULL || (hk = atomic_load(&e->hook)) == NULL)
    return;
  event.event = ev;
  event.reason = ev == LG_EV_SUSPENDED ? reason : 0;
  event.ident = atomic_load(&st->ident);  /* the thread it is about */
  event.name = st->name;
  event.t_ns = t_ns;
  hk->fn(&event, hk->ud);
}


static int sethook (lg_Interp *p, luagil_EventHook fn, void *ud) {
  lg_Embed *e = p->embed;
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
    if (ok && fn != NULL && !e->listed) {
      e->listed = 1;
      atomic_store(&e->hooked, atomic_load(&hooked));
      atomic_store(&hooked, e);  /* only added: readers need no lock */
    }
    if (ok)
      atomic_store(&e->hook, hk);
  }
  lg_check(pthread_mutex_unlock(&hookmutex));
  return ok;
}


int luagil_set_event_hook (luagil_EventHook fn, void *ud) {
  lg_Interp *p = lg_interp_here();
  return p != NULL ? sethook(p, fn, ud) : 0;
}


int luagil_set_event_hook_in (lua_State *interp, luagil_EventHook fn,
                              void *ud) {
  lg_Interp *p = interp != NULL ? lg_interp_bystate(interp) : NULL;
  return p != NULL ? sethook(p, fn, ud) : 0;
}

/* }====================================================== */
