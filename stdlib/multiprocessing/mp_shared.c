/*
** stdlib/multiprocessing/mp_shared.c -- multiprocessing's shared memory:
** Lock, RLock, Value and Array, visible to every process forked after they
** were made and to every interpreter of this process they are passed to.
** See LICENSE for copyright and licence (MIT).
**
** Notes about the implementation
**
** Each object is one anonymous shared mapping (mmap MAP_SHARED), which a
** fork shares instead of copying: a header with a process-shared mutex,
** then the elements. The mutex is robust: when a process dies holding it
** (killed in the middle of an update), the next locker gets EOWNERDEAD,
** marks it consistent and goes on, as Python's semaphore-based locks do
** when their holder dies; the data may be half updated, but no one hangs.
** Value's and Array's lock is recursive (Python gives them an RLock), so
** v.value can be read inside v:get_lock():guard().
**
** A wait for a lock releases the GIL. A process-shared mutex cannot watch
** the Ctrl-C descriptor, so the main thread waits in slices of 50 ms and
** looks for a pending Ctrl-C between them; other threads wait in one go.
** Every process unmaps its own view when the object is collected, except
** while a thread of this process holds its mutex: a robust mutex is on
** its owner thread's robust list, which glibc walks (through the mutexes
** themselves) at the thread's next robust lock or unlock, so unmapping it
** then crashes that thread later (issue 19, case 5). A mutex the
** collecting thread holds is unlocked first (no one else can unlock it
** any more); one another thread of ours holds keeps its page for good.
** A destroyed object (its __gc called, by the collector or by hand) raises
** "attempt to use a destroyed ..." when used.
**
** Interpreters: an object passed to another interpreter of this process
** (interpreters' messages, LG_MP_SHARE) is the same object there. This
** process's view of a mapping is a Map, with a reference count: each
** userdata of it, in any interpreter, and each message on its way holds
** one, and the last to let go unmaps it. Each interpreter keeps one
** userdata per Map and type (a weak cache), so an object that comes back
** is the userdata that left.
*/

#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "breaker.h"
#include "clock.h"
#include "lglib.h"
#include "mp.h"
#include "park.h"
#include "sigint.h"
#include "tstate.h"
#include "waitq.h"

#define LOCK    "multiprocessing.Lock"
#define RLOCK   "multiprocessing.RLock"
#define VALUE   "multiprocessing.Value"
#define ARRAY   "multiprocessing.Array"

#define SLICE  0.05  /* a thread's wait slice, in seconds: a Ctrl-C or a
                        cancel is seen within it */

static const char LOCKTAG;  /* type tag of Lock and RLock */


/*
** {======================================================
** Robust process-shared mutexes
** =======================================================
*/

void lg_mp_mutex_init (pthread_mutex_t *m, int recursive) {
  pthread_mutexattr_t a;
  lg_check(pthread_mutexattr_init(&a));
  lg_check(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
  lg_check(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
  lg_check(pthread_mutexattr_settype(&a, recursive ? PTHREAD_MUTEX_RECURSIVE
                                                   : PTHREAD_MUTEX_NORMAL));
  lg_check(pthread_mutex_init(m, &a));
  pthread_mutexattr_destroy(&a);
}


/* 0 when 'r' (a lock result) means "held now"; repairs a dead owner's. */
static int held (pthread_mutex_t *m, int r) {
  if (r == EOWNERDEAD) {
    pthread_mutex_consistent(m);
    return 1;
  }
  return r == 0;
}


/*
** Lock 'm' for at most a slice, or until 'deadline' if that comes first.
** pthread_mutex_timedlock takes a CLOCK_REALTIME time: the slice is
** short and the caller keeps 'deadline' on the monotonic clock, so a
** clock jump only stretches one slice. (Not pthread_mutex_clocklock:
** ThreadSanitizer does not intercept it and then takes the unlock of a
** mutex so locked for an error.)
*/
static int slicelock (pthread_mutex_t *m, const struct timespec *deadline) {
  struct timespec mono, left, until;
  lg_deadline_within(SLICE, deadline, &mono);
  lg_timeleft(&mono, &left);
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += left.tv_sec;
  until.tv_nsec += left.tv_nsec;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  return pthread_mutex_timedlock(m, &until);
}


int lg_mp_mutex_lock (pthread_mutex_t *m, const struct timespec *deadline) {
  int intr = lg_tstate_current() != NULL;  /* Ctrl-C, or a cancel */
  int r = pthread_mutex_trylock(m), res = LG_WOKEN;
  struct timespec left;
  if (held(m, r))
    return LG_WOKEN;
  if (r != EBUSY)
    lg_fatal("pthread_mutex_trylock", r);
  LG_BEGIN_BLOCKING
  for (;;) {
    if (intr && ((lg_tstate_is_main() && lg_sigint_pending()) ||
                 lg_waiter_interrupted(lg_waiter_self()))) {
      res = LG_INTERRUPTED;
      break;
    }
    r = slicelock(m, deadline);
    if (r == EOWNERDEAD || r == 0)
      break;
    if (r != ETIMEDOUT && r != EINTR)
      lg_fatal("pthread_mutex_timedlock", r);
    if (deadline != NULL && !lg_timeleft(deadline, &left)) {
      res = LG_TIMEDOUT;
      break;
    }
  }
  LG_END_BLOCKING
  if (res == LG_WOKEN)
    held(m, r);
  return res;
}


/*
** Undo the calling thread's hold of robust mutex 'm', if any (every level
** of a recursive one): its object is being destroyed, and no one else
** could unlock it. glibc keeps the owner's thread id in a robust mutex
** while it is held.
*/
static void unhold (pthread_mutex_t *m) {
  pid_t me = gettid();
  while (m->__data.__owner == me && pthread_mutex_unlock(m) == 0)
    ;
}


/*
** May the mapping that holds robust mutex 'm' be unmapped now (after
** unhold)? Only if no thread of this process holds 'm'.
*/
static int unmappable (pthread_mutex_t *m) {
  pid_t owner;
  unhold(m);
  owner = m->__data.__owner;
  /* 0, another process's thread (not on our lists), or one of ours */
  return owner == 0 || syscall(SYS_tgkill, getpid(), owner, 0) != 0;
}


/* Unmap 'len' bytes at 'map', where mutex 'm' lives, unless unmappable
** says no (then the pages stay, unused). */
static void unmap (void *map, size_t len, pthread_mutex_t *m) {
  if (m == NULL || unmappable(m))
    munmap(map, len);
}


/* This process's view of one object's mapping (see the notes). */
typedef struct Map {
  atomic_int refs;
  void *base;
  size_t len;
  pthread_mutex_t *mu;  /* the object's mutex in it, or NULL */
  /* What a new userdata of it needs (read-only) */
  const char *tname;    /* LOCK, RLOCK, VALUE or ARRAY */
  size_t n, size;       /* Value and Array: elements, bytes per element */
  char code;            /* their typecode */
} Map;


/* A Map of a new mapping of 'len' bytes, one reference held; raises. */
static Map *newobject (lua_State *L, const char *tname, size_t len) {
  Map *m = malloc(sizeof *m);
  if (m == NULL)
    luaL_error(L, "not enough memory");
  memset(m, 0, sizeof *m);
  m->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m->base == MAP_FAILED) {
    int err = errno;
    free(m);
    luaL_error(L, "cannot allocate shared memory: %s", strerror(err));
  }
  atomic_init(&m->refs, 1);
  m->len = len;
  m->tname = tname;
  return m;
}


static void mapref (Map *m) {
  atomic_fetch_add(&m->refs, 1);
}


/* Let a reference go; the last unmaps (unless unmap says no). */
static void mapunref (Map *m) {
  if (atomic_fetch_sub(&m->refs, 1) == 1) {
    unmap(m->base, m->len, m->mu);
    free(m);
  }
}


/* Is 'm' held by one reference only, the caller's? */
static int maplast (Map *m) {
  return atomic_load(&m->refs) == 1;
}


/* The caches of this interpreter's userdata by Map (weak values): of
** locks, and of Values and Arrays. */
static const char LOCKS, SHAREDS;

static void pushcache (lua_State *L, const void *key) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  }
}


/* Push the userdata of 'm' in cache 'key' and return it, or push nil
** and return NULL. */
static void *cached (lua_State *L, const void *key, Map *m) {
  pushcache(L, key);
  lua_rawgetp(L, -1, m);
  lua_remove(L, -2);
  return lua_touserdata(L, -1);
}


/* Make the userdata at the top this interpreter's of 'm' in 'key'. */
static void setcached (lua_State *L, const void *key, Map *m) {
  pushcache(L, key);
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, m);
  lua_pop(L, 1);
}

/* }====================================================== */


/*
** {======================================================
** Lock and RLock
** =======================================================
*/

typedef struct Lock {
  const void *tag;      /* &LOCKTAG */
  pthread_mutex_t *mu;  /* in shared memory; NULL: destroyed */
  Map *m;               /* its mapping (a reference), or NULL */
  int recursive;
  int users;            /* GIL: threads waiting for it, GIL released */
} Lock;


static Lock *checklock (lua_State *L) {
  return lg_sync_checkself(L, &LOCKTAG, sizeof(Lock), LOCK);
}


/* A lock not destroyed yet. */
static Lock *tolock (lua_State *L) {
  Lock *lk = checklock(L);
  if (lk->mu == NULL)
    luaL_error(L, "attempt to use a destroyed %s",
               lk->recursive ? RLOCK : LOCK);
  return lk;
}


static void ensuremetas (lua_State *L);

/*
** Push this interpreter's lock on m's mutex (a Lock's, or a Value's or
** Array's), made if it has none; it takes over reference 'taken' (1) or
** takes one of its own (0). Raises only before it takes over.
*/
static Lock *pushlock (lua_State *L, Map *m, int recursive, int taken) {
  Lock *lk = cached(L, &LOCKS, m);
  if (lk != NULL && lk->m == m) {  /* not one destroyed by hand */
    if (taken)
      mapunref(m);
    return lk;
  }
  lua_pop(L, 1);
  ensuremetas(L);
  lk = lua_newuserdatauv(L, sizeof *lk, 2);
  memset(lk, 0, sizeof *lk);
  luaL_setmetatable(L, recursive ? RLOCK : LOCK);
  lk->tag = &LOCKTAG;
  lk->recursive = recursive;
  setcached(L, &LOCKS, m);  /* may raise: nothing taken yet */
  if (!taken)
    mapref(m);
  lk->m = m;
  lk->mu = m->mu;
  return lk;
}


static int newlock (lua_State *L, int recursive) {
  Map *m = newobject(L, recursive ? RLOCK : LOCK, sizeof(pthread_mutex_t));
  m->mu = m->base;
  lg_mp_mutex_init(m->mu, recursive);
  pushlock(L, m, recursive, 1);  /* if it raises, m is lost: too small
                                   to matter, and memory ran out */
  return 1;
}


/* Lock() -> a lock shared with the processes forked after it */
static int mp_lock (lua_State *L) {
  return newlock(L, 0);
}


/* RLock() -> a recursive lock shared with later processes */
static int mp_rlock (lua_State *L) {
  return newlock(L, 1);
}


/* lock:acquire([blocking [, timeout]]) -> boolean */
static int lock_acquire (lua_State *L) {
  Lock *lk = tolock(L);
  double timeout = lg_sync_acquireargs(L, "can't specify a timeout for a "
                                          "non-blocking call");
  struct timespec ts, *deadline;
  int r;
  deadline = lg_deadline(timeout, &ts);
  if (timeout == 0)
    r = held(lk->mu, pthread_mutex_trylock(lk->mu)) ? LG_WOKEN : LG_TIMEDOUT;
  else {
    lk->users++;
    r = lg_mp_mutex_lock(lk->mu, deadline);
    lk->users--;
  }
  if (r == LG_INTERRUPTED)
    return lg_breaker_raise_interrupt(L);
  lua_pushboolean(L, r == LG_WOKEN);
  return 1;
}


/* lock:release() */
static int lock_release (lua_State *L) {
  Lock *lk = tolock(L);
  if (pthread_mutex_unlock(lk->mu) != 0)
    return luaL_error(L, "cannot release un-acquired lock");
  return 0;
}


/*
** A wait (GIL released) may be on 'mu' while another thread calls this by
** hand: 'users' counts them, and their mapping then stays.
*/
static void destroylock (Lock *lk) {
  if (lk->m != NULL) {
    if (lk->users == 0)
      mapunref(lk->m);
    else if (maplast(lk->m))  /* the waiters keep the page (our */
      unhold(lk->mu);          /* reference); let them in */
    lk->m = NULL;
  }
  lk->mu = NULL;
}


static int lock_gc (lua_State *L) {
  destroylock(checklock(L));
  return 0;
}


static int lock_tostring (lua_State *L) {
  Lock *lk = checklock(L);
  const char *tname = lk->recursive ? RLOCK : LOCK;
  if (lk->mu == NULL)
    lua_pushfstring(L, "<%s (destroyed)>", tname);
  else
    lua_pushfstring(L, "<%s at %p>", tname, (void *)lk->mu);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Value and Array
** =======================================================
*/

typedef struct Header {
  pthread_mutex_t mu;   /* if 'locked' */
  alignas(16) char data[];
} Header;

typedef struct Shared {
  Header *h;            /* NULL: destroyed */
  Map *m;               /* its mapping (a reference), or NULL */
  size_t n;             /* elements */
  size_t size;          /* bytes per element */
  char code;            /* typecode */
  int locked;           /* has a lock */
  int users;            /* GIL: threads waiting for its lock, GIL released */
  const char *tname;    /* VALUE or ARRAY */
} Shared;


/* The Value or Array at 1, or a type error naming 'tname'. */
static Shared *checkshared (lua_State *L, const char *tname) {
  Shared *s = luaL_testudata(L, 1, VALUE);
  if (s == NULL && (s = luaL_testudata(L, 1, ARRAY)) == NULL)
    luaL_typeerror(L, 1, tname);
  return s;
}


/* The 'tname' (VALUE or ARRAY) at 1, not destroyed yet. */
static Shared *toshared (lua_State *L, const char *tname) {
  Shared *s = luaL_checkudata(L, 1, tname);
  if (s->h == NULL)
    luaL_error(L, "attempt to use a destroyed %s", tname);
  return s;
}


/* Bytes per element of typecode 'c', or 0 if unknown. */
static size_t elemsize (char c) {
  switch (c) {
    case 'b': case 'B': return 1;
    case 'h': case 'H': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'q': case 'Q': case 'd': return 8;
    default: return 0;
  }
}


/* Push the element of typecode 'code' at 'p'. */
static void pushraw (lua_State *L, char code, const void *p) {
  switch (code) {
    case 'b': lua_pushinteger(L, *(const int8_t *)p); break;
    case 'B': lua_pushinteger(L, *(const uint8_t *)p); break;
    case 'h': lua_pushinteger(L, *(const int16_t *)p); break;
    case 'H': lua_pushinteger(L, *(const uint16_t *)p); break;
    case 'i': lua_pushinteger(L, *(const int32_t *)p); break;
    case 'I': lua_pushinteger(L, *(const uint32_t *)p); break;
    case 'l': case 'q': lua_pushinteger(L, *(const int64_t *)p); break;
    case 'L': case 'Q':
      lua_pushinteger(L, (lua_Integer)*(const uint64_t *)p);
      break;
    case 'f': lua_pushnumber(L, *(const float *)p); break;
    default: lua_pushnumber(L, *(const double *)p); break;
  }
}


static void pushelem (lua_State *L, Shared *s, size_t i) {
  pushraw(L, s->code, s->h->data + i * s->size);
}


/* Store the number at 'arg' into element 'i' (C conversions, as ctypes). */
static void setelem (lua_State *L, Shared *s, size_t i, int arg) {
  void *p = s->h->data + i * s->size;
  if (s->code == 'f' || s->code == 'd') {
    lua_Number x = luaL_checknumber(L, arg);
    if (s->code == 'f')
      *(float *)p = (float)x;
    else
      *(double *)p = x;
    return;
  }
  lua_Integer v = luaL_checkinteger(L, arg);
  switch (s->code) {
    case 'b': case 'B': *(uint8_t *)p = (uint8_t)v; break;
    case 'h': case 'H': *(uint16_t *)p = (uint16_t)v; break;
    case 'i': case 'I': *(uint32_t *)p = (uint32_t)v; break;
    default: *(uint64_t *)p = (uint64_t)v; break;
  }
}


static void slock (lua_State *L, Shared *s) {
  if (s->locked) {
    Header *h = s->h;
    int r;
    s->users++;
    r = lg_mp_mutex_lock(&h->mu, NULL);
    s->users--;
    if (r == LG_INTERRUPTED)
      lg_breaker_raise_interrupt(L);
    if (s->h == NULL) {  /* destroyed by hand while we waited: its */
      pthread_mutex_unlock(&h->mu);  /* pages stay (shared_gc) */
      luaL_error(L, "attempt to use a destroyed %s", s->tname);
    }
  }
}


static void sunlock (Shared *s) {
  if (s->locked)
    pthread_mutex_unlock(&s->h->mu);
}


/* The 'lock' option at 'arg': a boolean, or a table with field 'lock'. */
static int lockopt (lua_State *L, int arg) {
  if (lua_istable(L, arg)) {
    int r;
    lua_getfield(L, arg, "lock");
    r = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
  }
  return lua_isnoneornil(L, arg) || lua_toboolean(L, arg);
}


/* Fill in 's' from its Map 'm'. */
static void setfrom (Shared *s, Map *m) {
  s->tname = m->tname;
  s->n = m->n;
  s->size = m->size;
  s->code = m->code;
  s->locked = m->mu != NULL;
  s->h = m->base;
  s->m = m;
}


/* Make a shared object of 'n' elements of the typecode at 1. */
static Shared *newshared (lua_State *L, const char *tname, size_t n,
                          int locked) {
  size_t len;
  const char *code = luaL_checklstring(L, 1, &len);
  size_t size = len == 1 ? elemsize(code[0]) : 0;
  Shared *s;
  if (size == 0)
    luaL_argerror(L, 1, lua_pushfstring(L, "unknown typecode '%s' (b, B, h, "
                  "H, i, I, l, L, q, Q, f or d expected)", code));
  if (n > ((size_t)1 << 40) / size)
    luaL_argerror(L, 2, "array too large");
  s = lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);  /* valid-but-empty for __gc */
  luaL_setmetatable(L, tname);
  s->m = newobject(L, tname, sizeof(Header) + n * size);  /* zero-filled */
  s->m->n = n;
  s->m->size = size;
  s->m->code = code[0];
  if (locked) {
    s->m->mu = &((Header *)s->m->base)->mu;
    lg_mp_mutex_init(s->m->mu, 1);
  }
  setfrom(s, s->m);
  setcached(L, &SHAREDS, s->m);
  return s;
}


/* The __gc of Value and Array; also destroys the lock get_lock made. */
static int shared_gc (lua_State *L) {
  Shared *s = checkshared(L, "multiprocessing.Value or Array");
  if (s->m != NULL) {
    if (lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA)
      destroylock(lua_touserdata(L, -1));  /* its lock dies with it */
    if (s->users == 0)
      mapunref(s->m);
    else if (s->locked && maplast(s->m))
      unhold(&s->h->mu);
    s->m = NULL;
  }
  s->h = NULL;
  return 0;
}


/* x:get_lock() -> RLock */
static int shared_get_lock (lua_State *L) {
  Shared *s = checkshared(L, "multiprocessing.Value or Array");
  if (s->h == NULL)
    return luaL_error(L, "attempt to use a destroyed %s", s->tname);
  if (!s->locked)
    return luaL_error(L, "object has no lock (made with lock=false)");
  if (lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA)
    return 1;
  pushlock(L, s->m, 1, 0);
  lua_pushvalue(L, 1);  /* the lock keeps its object alive */
  lua_setiuservalue(L, -2, 2);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 1);
  return 1;
}


/* Value(typecode [, init [, lock]]) -> Value */
static int mp_value (lua_State *L) {
  Shared *s;
  lua_settop(L, 3);
  s = newshared(L, VALUE, 1, lockopt(L, 3));
  if (!lua_isnoneornil(L, 2))
    setelem(L, s, 0, 2);
  return 1;
}


/* v.value, and the methods */
static int value_index (lua_State *L) {
  Shared *s = luaL_checkudata(L, 1, VALUE);
  if (lua_type(L, 2) == LUA_TSTRING &&
      strcmp(lua_tostring(L, 2), "value") == 0) {
    toshared(L, VALUE);
    slock(L, s);
    pushelem(L, s, 0);
    sunlock(s);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}


/* v.value = x */
static int value_newindex (lua_State *L) {
  Shared *s = toshared(L, VALUE);
  const char *k = lua_tostring(L, 2);
  if (k == NULL || strcmp(k, "value") != 0)
    return luaL_error(L, "cannot set field '%s' of a Value",
                      k ? k : luaL_typename(L, 2));
  luaL_checknumber(L, 3);  /* no error while locked */
  if (s->code != 'f' && s->code != 'd')
    luaL_checkinteger(L, 3);
  slock(L, s);
  setelem(L, s, 0, 3);
  sunlock(s);
  return 0;
}


static int value_tostring (lua_State *L) {
  Shared *s = luaL_checkudata(L, 1, VALUE);
  if (s->h == NULL) {
    lua_pushfstring(L, "<%s (destroyed)>", VALUE);
    return 1;
  }
  pushelem(L, s, 0);
  lua_pushfstring(L, "<%s('%c', %s)>", VALUE, s->code, luaL_tolstring(L, -1,
                  NULL));
  return 1;
}


/* Array(typecode, size_or_list [, lock]) -> Array */
static int mp_array (lua_State *L) {
  int locked = lockopt(L, 3);
  Shared *s;
  lua_settop(L, 3);
  if (lua_istable(L, 2)) {
    lua_Integer n = luaL_len(L, 2);
    s = newshared(L, ARRAY, (size_t)n, locked);
    for (lua_Integer i = 0; i < n; i++) {
      lua_geti(L, 2, i + 1);
      if (!lua_isnumber(L, -1))
        return luaL_argerror(L, 2, lua_pushfstring(L, "number expected at "
                             "[%I], got %s", i + 1, luaL_typename(L, -1)));
      setelem(L, s, (size_t)i, -1);
      lua_pop(L, 1);
    }
  }
  else {
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0, 2, "negative array size");
    s = newshared(L, ARRAY, (size_t)n, locked);
  }
  return 1;
}


/* a[i] (1-based; nil outside, so ipairs works), and the methods */
static int array_index (lua_State *L) {
  Shared *s = luaL_checkudata(L, 1, ARRAY);
  if (lua_isinteger(L, 2)) {
    lua_Integer i = lua_tointeger(L, 2);
    toshared(L, ARRAY);
    if (i < 1 || (size_t)i > s->n)
      return 0;
    slock(L, s);
    pushelem(L, s, (size_t)i - 1);
    sunlock(s);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}


/* a[i] = x */
static int array_newindex (lua_State *L) {
  Shared *s = toshared(L, ARRAY);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && (size_t)i <= s->n, 2, "array index out of range");
  luaL_checknumber(L, 3);
  if (s->code != 'f' && s->code != 'd')
    luaL_checkinteger(L, 3);
  slock(L, s);
  setelem(L, s, (size_t)i - 1, 3);
  sunlock(s);
  return 0;
}


static int array_len (lua_State *L) {
  Shared *s = toshared(L, ARRAY);
  lua_pushinteger(L, (lua_Integer)s->n);
  return 1;
}


/* a:totable() -> table: a copy, taken under the lock */
static int array_totable (lua_State *L) {
  Shared *s = toshared(L, ARRAY);
  size_t len = s->n * s->size;
  /* copied under the lock, converted after: a memory error while the
     table grows must not leave the lock held */
  char *copy = lua_newuserdatauv(L, len ? len : 1, 0);  /* stack: copy */
  slock(L, s);
  memcpy(copy, s->h->data, len);
  sunlock(s);
  lua_createtable(L, s->n > INT32_MAX ? 0 : (int)s->n, 0);
  for (size_t i = 0; i < s->n; i++) {
    pushraw(L, s->code, copy + i * s->size);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}


static int array_tostring (lua_State *L) {
  Shared *s = luaL_checkudata(L, 1, ARRAY);
  if (s->h == NULL) {
    lua_pushfstring(L, "<%s (destroyed)>", ARRAY);
    return 1;
  }
  lua_pushfstring(L, "<%s('%c', %d items) at %p>", ARRAY, s->code, (int)s->n,
                  (void *)s->h);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Registration
** =======================================================
*/

static const luaL_Reg shared_funcs[] = {
  {"Lock", mp_lock},
  {"RLock", mp_rlock},
  {"Value", mp_value},
  {"Array", mp_array},
  {NULL, NULL}
};

static const luaL_Reg lock_methods[] = {
  {"acquire", lock_acquire},
  {"release", lock_release},
  {"guard", lg_sync_guard},
  {"with", lg_sync_with},
  {NULL, NULL}
};

static const luaL_Reg lock_meta[] = {
  {"__gc", lock_gc},
  {"__tostring", lock_tostring},
  {NULL, NULL}
};

static const luaL_Reg value_methods[] = {
  {"get_lock", shared_get_lock},
  {NULL, NULL}
};

static const luaL_Reg value_meta[] = {
  {"__newindex", value_newindex},
  {"__gc", shared_gc},
  {"__tostring", value_tostring},
  {NULL, NULL}
};

static const luaL_Reg array_methods[] = {
  {"get_lock", shared_get_lock},
  {"totable", array_totable},
  {NULL, NULL}
};

static const luaL_Reg array_meta[] = {
  {"__newindex", array_newindex},
  {"__len", array_len},
  {"__gc", shared_gc},
  {"__tostring", array_tostring},
  {NULL, NULL}
};


/* The metatables, made in this interpreter on first use (an object may
** arrive in one that never opened the module). */
static void ensuremetas (lua_State *L) {
  if (luaL_getmetatable(L, LOCK) == LUA_TNIL) {
    lg_createmeta(L, LOCK, lock_methods, lock_meta, NULL);
    lg_createmeta(L, RLOCK, lock_methods, lock_meta, NULL);
    lg_createmeta(L, VALUE, value_methods, value_meta, value_index);
    lg_createmeta(L, ARRAY, array_methods, array_meta, array_index);
  }
  lua_pop(L, 1);
}


/* Crossing interpreters: a message takes a reference (see mp.h); a
** destroyed object is refused. */
static void *lock_share (lua_State *L, int idx) {
  Lock *lk = lua_touserdata(L, idx);
  if (lk->m == NULL)
    return NULL;
  (void)L;
  mapref(lk->m);
  return lk->m;
}


static void lock_unshare (lua_State *L, void *p) {
  pushlock(L, p, 0, 1);
}


/* An RLock: its own, or a Value's or Array's lock */
static void rlock_unshare (lua_State *L, void *p) {
  pushlock(L, p, 1, 1);
}


static void *shared_share (lua_State *L, int idx) {
  Shared *s = lua_touserdata(L, idx);
  (void)L;
  if (s->m == NULL)
    return NULL;
  mapref(s->m);
  return s->m;
}


static void shared_unshare (lua_State *L, void *p) {
  Map *m = p;
  Shared *s = cached(L, &SHAREDS, m);
  if (s != NULL && s->m == m) {
    mapunref(m);
    return;
  }
  lua_pop(L, 1);
  ensuremetas(L);
  s = lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, m->tname);
  setcached(L, &SHAREDS, m);  /* may raise: nothing taken yet */
  setfrom(s, m);
}


static void drop (void *p) {
  mapunref(p);
}


static const lg_MpShareType sharetypes[] = {
  {LOCK, lock_share, lock_unshare, drop},
  {RLOCK, lock_share, rlock_unshare, drop},
  {VALUE, shared_share, shared_unshare, drop},
  {ARRAY, shared_share, shared_unshare, drop},
};


void lg_mp_open_shared (lua_State *L) {
  for (size_t i = 0; i < sizeof sharetypes / sizeof sharetypes[0]; i++)
    if (lg_mp_share_type(&sharetypes[i]) < 0)
      luaL_error(L, "too many shareable types");
  ensuremetas(L);
  luaL_setfuncs(L, shared_funcs, 0);
}


/* }====================================================== */
