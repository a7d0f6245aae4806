/*
** stdlib/multiprocessing/mp_pickle.c -- multiprocessing's serializer: Lua
** values to bytes and back, for Queue, Pipe and the Pool's tasks.
** See LICENSE for copyright and licence (MIT).
**
** The format is private to one program and its forks (the two ends are
** always the same binary on the same machine), so numbers and lengths are
** in native byte order. A value is a tag byte and its payload:
**
**   'n' nil   'f' false   't' true   'i' int64   'd' double
**   's' size_t length, bytes
**   'T' uint32 array-size hint, then (key, value)* and 'e'
**   'U' the same, for a table that an 'R' refers to
**   'R' size_t offset    the table, function or shared object whose tag
**                        is at this offset in the message
** and, for the Pool's tasks only (LG_MP_FUNCS):
**   'F' size_t length, string.dump bytes, uint32 nups, upvalues
**   'C' lua_CFunction    a C function without upvalues, by address
**   'c' lua_CFunction, uint32 n, upvalues
**   'G'                  the globals table (so _ENV means the worker's)
**   'M' a string         package.loaded[name] (a module, by name)
** and, in a copy within this process only (LG_MP_SHARE):
**   'P' uint32 type, pointer   a shareable C object (lg_mp_share_type)
**
** A table, Lua function or shared object reached again is sent as 'R'
** and the offset of its first tag: a table reached twice comes back as
** one table reached twice, a table inside itself (or a recursive local
** function, its own upvalue) as itself, as Python's pickle does, and a
** shared object reached twice holds one reference. The encoder remembers
** where each table began, and turns its 'T' into 'U' when it first sends
** an 'R' to it, so that the decoder keeps (offset -> table) only for the
** tables that need it: plain values cost it nothing. It keeps every
** function and shared object (they are rare). The decoder records a
** table when it makes it, before its contents, so a cycle closes, and
** takes an 'R' only to an offset it recorded. Metatables are not sent.
** The encoder writes into a userdata buffer, so an error halfway frees it,
** and drops the references it took, with the rest of the garbage.
*/

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lglib.h"
#include "mp.h"

#define BUFFER    "multiprocessing.Buffer"
#define MAXDEPTH  100


/*
** {======================================================
** Output buffer
** =======================================================
*/

/* A shared object's reference that a message holds. */
typedef struct Ref {
  uint32_t type;
  void *p;
} Ref;

/* The encoder's buffer is a userdata with this __gc, so that an error (a
** value it cannot encode, say) leaks neither the bytes nor the references
** taken on shared objects so far ('refs', a list of Ref). */
typedef struct Out {
  lg_Buf b;
  lg_Buf refs;
} Out;


static void droprefs (const Ref *r, size_t n);


static int buffer_gc (lua_State *L) {
  Out *o = luaL_checkudata(L, 1, BUFFER);
  droprefs((const Ref *)o->refs.b, o->refs.n / sizeof(Ref));
  lg_buf_free(&o->refs);
  lg_buf_free(&o->b);
  return 0;
}


static void reserve (lua_State *L, lg_Buf *b, size_t more) {
  if (!lg_buf_reserve(b, more))
    luaL_error(L, "not enough memory");
}


static void put (lua_State *L, lg_Buf *b, const void *x, size_t len) {
  if (!lg_buf_add(b, x, len))
    luaL_error(L, "not enough memory");
}


static void putc_ (lua_State *L, lg_Buf *b, char c) {
  put(L, b, &c, 1);
}


static void putu32 (lua_State *L, lg_Buf *b, uint32_t u) {
  put(L, b, &u, sizeof u);
}


static int dumpwriter (lua_State *L, const void *p, size_t sz, void *ud) {
  put(L, ud, p, sz);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Shareable C objects
** =======================================================
*/

#define MAXTYPES  32

/* Registered types, never removed: a reader that sees 'ntypes' at n sees
** types[0 .. n-1] filled (release/acquire). */
static const lg_MpShareType *types[MAXTYPES];
static atomic_uint ntypes;
static pthread_mutex_t typeslock = PTHREAD_MUTEX_INITIALIZER;


int lg_mp_share_type (const lg_MpShareType *t) {
  unsigned n;
  int r = -1;
  pthread_mutex_lock(&typeslock);
  n = atomic_load_explicit(&ntypes, memory_order_relaxed);
  for (unsigned i = 0; i < n; i++)
    if (strcmp(types[i]->tname, t->tname) == 0)
      r = (int)i;  /* registered already (another interpreter's opener) */
  if (r < 0 && n < MAXTYPES) {
    types[n] = t;
    atomic_store_explicit(&ntypes, n + 1, memory_order_release);
    r = (int)n;
  }
  pthread_mutex_unlock(&typeslock);
  return r;
}


/* The index of the type named 'tname', or -1. */
static int findtype (const char *tname) {
  unsigned n = atomic_load_explicit(&ntypes, memory_order_acquire);
  for (unsigned i = 0; i < n; i++)
    if (strcmp(types[i]->tname, tname) == 0)
      return (int)i;
  return -1;
}


static void droprefs (const Ref *r, size_t n) {
  for (size_t i = 0; i < n; i++)
    types[r[i].type]->drop(r[i].p);
}


/*
** Drop the references of a message's 'P' values but the first 'skip' (the
** ones a decoder has taken over). A message this process made is read
** tag by tag, without recursion: every payload has a fixed size or its
** length in front, and nesting needs no bookkeeping.
*/
static void dropfrom (const char *p, const char *end, size_t skip) {
  while (p < end) {
    char tag = *p++;
    size_t n = 0, len;
    switch (tag) {
      case 'n': case 'f': case 't': case 'e': case 'G': case 'M': break;
      case 'i': case 'd': n = 8; break;
      case 'T': case 'U': n = sizeof(uint32_t); break;
      case 'R': n = sizeof(size_t); break;
      case 'C': n = sizeof(lua_CFunction); break;
      case 'c': n = sizeof(lua_CFunction) + sizeof(uint32_t); break;
      case 's': case 'F':
        if ((size_t)(end - p) < sizeof len)
          return;
        memcpy(&len, p, sizeof len);
        p += sizeof len;
        n = len + (tag == 'F' ? sizeof(uint32_t) : 0);
        break;
      case 'P': {
        Ref r;
        if ((size_t)(end - p) < sizeof r.type + sizeof r.p)
          return;
        memcpy(&r.type, p, sizeof r.type);
        memcpy(&r.p, p + sizeof r.type, sizeof r.p);
        n = sizeof r.type + sizeof r.p;
        if (skip > 0)
          skip--;
        else if (r.type < atomic_load(&ntypes))
          types[r.type]->drop(r.p);
        break;
      }
      default:
        return;
    }
    if ((size_t)(end - p) < n)
      return;
    p += n;
  }
}


void lg_mp_drop (const char *data, size_t len) {
  dropfrom(data, data + len, 0);
}

/* }====================================================== */


/*
** {======================================================
** Encoder
** =======================================================
*/

/* One step of the path to the value being encoded, for error messages. */
typedef struct Step {
  int at;               /* stack index of the key; an upvalue's number */
  int kind;             /* one of the below */
  const char *upname;   /* the upvalue's name, or NULL */
} Step;

enum { STEP_VALUE, STEP_KEY, STEP_UPVALUE };  /* t[k], k itself, upvalue */

typedef struct Enc {
  lua_State *L;
  lg_Buf *b;
  Out *out;             /* b is &out->b */
  int funcs;            /* functions allowed */
  int share;            /* shareable C objects allowed (LG_MP_SHARE) */
  int seen;             /* stack index: value -> offset of its tag */
  int mods;             /* stack index: module table -> name, or 0 */
  int depth;
  const char *root;     /* what the caller calls the value */
  const char *what;     /* how a refusal ends ("cannot be sent ...") */
  Step path[MAXDEPTH + 1];
} Enc;


/* Is 's' a name Lua would accept after a dot? */
static int isname (const char *s, size_t len) {
  static const char *const reserved[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for",
    "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while", NULL
  };
  if (len == 0 || len > 40 || strlen(s) != len ||
      !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return 0;
  for (size_t i = 1; i < len; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
      return 0;
  for (int i = 0; reserved[i] != NULL; i++)
    if (strcmp(s, reserved[i]) == 0)
      return 0;
  return 1;
}


/* A string key Lua could read back in ["..."] without escapes? */
static int isplain (const char *s, size_t len) {
  if (len > 40)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isprint((unsigned char)s[i]) || s[i] == '"' || s[i] == '\\')
      return 0;
  return 1;
}


static void addstep (Enc *e, luaL_Buffer *B, const Step *s) {
  lua_State *L = e->L;
  if (s->kind == STEP_UPVALUE) {
    /* "" for a C function's, "(no name)" for a stripped function's */
    if (s->upname != NULL && *s->upname != '\0' && *s->upname != '(')
      lua_pushfstring(L, "<upvalue %d '%s'>", s->at, s->upname);
    else
      lua_pushfstring(L, "<upvalue %d>", s->at);
  }
  else if (s->kind == STEP_KEY)
    lua_pushliteral(L, "<key>");
  else if (lua_type(L, s->at) == LUA_TSTRING) {
    size_t len;
    const char *k = lua_tolstring(L, s->at, &len);
    if (isname(k, len))
      lua_pushfstring(L, ".%s", k);
    else if (isplain(k, len))
      lua_pushfstring(L, "[\"%s\"]", k);
    else
      lua_pushliteral(L, "[?]");
  }
  else if (lua_isinteger(L, s->at))
    lua_pushfstring(L, "[%I]", (LUAI_UACINT)lua_tointeger(L, s->at));
  else
    lua_pushliteral(L, "[?]");
  luaL_addvalue(B);
}


/* Push the path to the value at the current depth: the root, then a step
** per table key or upvalue; a long one loses its middle. */
static void pushpath (Enc *e) {
  luaL_Buffer B;
  luaL_buffinit(e->L, &B);
  luaL_addstring(&B, e->root);
  for (int d = 0; d < e->depth; d++) {
    if (e->depth > 12 && d == 6) {
      luaL_addstring(&B, "...");
      d = e->depth - 6;
    }
    addstep(e, &B, &e->path[d]);
  }
  luaL_pushresult(&B);
}


/* Raise "bad value at <path>: <why>". */
static int encerror (Enc *e, const char *why) {
  lua_State *L = e->L;
  pushpath(e);
  return luaL_error(L, "bad value at %s: %s", lua_tostring(L, -1), why);
}


/* Raise "bad value at <path>: <type> <what>" for the value at 'idx'. */
static int typeerror (Enc *e, int idx) {
  lua_State *L = e->L;
  const char *tname = luaL_typename(L, idx);
  if (lua_type(L, idx) == LUA_TUSERDATA &&
      luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
    tname = lua_pushfstring(L, "userdata (%s)", lua_tostring(L, -1));
  return encerror(e, lua_pushfstring(L, "%s %s", tname, e->what));
}


static void encode (Enc *e, int idx);


/* Was the table, function or shared object at 'idx' sent already? Then
** send 'R' and the offset of its tag (a table's becomes 'U'); else
** remember where its tag goes. */
static int encseen (Enc *e, int idx) {
  lua_State *L = e->L;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->seen) != LUA_TNIL) {
    size_t at = (size_t)lua_tointeger(L, -1);
    if (e->b->b[at] == 'T')
      e->b->b[at] = 'U';
    putc_(L, e->b, 'R');
    put(L, e->b, &at, sizeof at);
    lua_pop(L, 1);
    return 1;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, (lua_Integer)e->b->n);
  lua_rawset(L, e->seen);
  return 0;
}


static void enctable (Enc *e, int idx) {
  lua_State *L = e->L;
  if (encseen(e, idx))
    return;
  if (e->depth >= MAXDEPTH)
    encerror(e, "table nested too deeply");
  putc_(L, e->b, 'T');
  putu32(L, e->b, (uint32_t)lua_rawlen(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {  /* stack: key value */
    int top = lua_gettop(L);
    e->path[e->depth] = (Step){top - 1, STEP_KEY, NULL};
    e->depth++;
    encode(e, top - 1);
    e->path[e->depth - 1].kind = STEP_VALUE;
    encode(e, top);
    e->depth--;
    lua_pop(L, 1);
  }
  putc_(L, e->b, 'e');
}


/* Encode the upvalues of the function at 'idx' (count first). */
static void encupvalues (Enc *e, int idx) {
  lua_State *L = e->L;
  uint32_t n = 0;
  while (lua_getupvalue(L, idx, (int)n + 1) != NULL) {
    lua_pop(L, 1);
    n++;
  }
  putu32(L, e->b, n);
  if (e->depth >= MAXDEPTH)
    encerror(e, "functions nested too deeply");
  for (uint32_t i = 1; i <= n; i++) {
    const char *name = lua_getupvalue(L, idx, (int)i);
    e->path[e->depth++] = (Step){(int)i, STEP_UPVALUE, name};
    encode(e, lua_gettop(L));
    e->depth--;
    lua_pop(L, 1);
  }
}


static void encfunction (Enc *e, int idx) {
  lua_State *L = e->L;
  if (!e->funcs)
    typeerror(e, idx);
  if (lua_iscfunction(L, idx)) {
    lua_CFunction f = lua_tocfunction(L, idx);
    if (lua_getupvalue(L, idx, 1) == NULL) {
      putc_(L, e->b, 'C');
      put(L, e->b, &f, sizeof f);
      return;
    }
    lua_pop(L, 1);
    putc_(L, e->b, 'c');
    put(L, e->b, &f, sizeof f);
    encupvalues(e, idx);
    return;
  }
  if (encseen(e, idx))
    return;
  putc_(L, e->b, 'F');
  {
    size_t at, len;
    reserve(L, e->b, sizeof len);
    at = e->b->n;
    e->b->n += sizeof len;  /* the length, patched below */
    lua_pushvalue(L, idx);
    lua_dump(L, dumpwriter, e->b, 0);
    lua_pop(L, 1);
    len = e->b->n - at - sizeof len;
    memcpy(e->b->b + at, &len, sizeof len);
  }
  encupvalues(e, idx);
}


/* Is the table at 'idx' the globals or a module? Then encode a reference. */
static int encref (Enc *e, int idx) {
  lua_State *L = e->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  if (lua_rawequal(L, -1, idx)) {
    lua_pop(L, 1);
    putc_(L, e->b, 'G');
    return 1;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->mods) == LUA_TSTRING) {
    putc_(L, e->b, 'M');
    encode(e, lua_gettop(L));  /* the name, an 's' value */
    lua_pop(L, 1);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}


/* A userdata of a registered type, in a copy within this process: its
** type's share takes a reference, which the message then holds. */
static void encshared (Enc *e, int idx) {
  lua_State *L = e->L;
  int type = -1;
  Ref r;
  if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
    type = findtype(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (type < 0)
    typeerror(e, idx);
  if (encseen(e, idx))
    return;
  /* room first: nothing may raise between share and the record of it */
  reserve(L, e->b, 1 + sizeof r.type + sizeof r.p);
  if (!lg_buf_reserve(&e->out->refs, sizeof r))
    luaL_error(L, "not enough memory");
  r.type = (uint32_t)type;
  r.p = types[type]->share(L, idx);
  if (r.p == NULL)
    typeerror(e, idx);
  lg_buf_add(&e->out->refs, &r, sizeof r);
  putc_(L, e->b, 'P');
  putu32(L, e->b, r.type);
  put(L, e->b, &r.p, sizeof r.p);
}


static void encode (Enc *e, int idx) {
  lua_State *L = e->L;
  luaL_checkstack(L, 8, "value nested too deeply");
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      putc_(L, e->b, 'n');
      break;
    case LUA_TBOOLEAN:
      putc_(L, e->b, lua_toboolean(L, idx) ? 't' : 'f');
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        int64_t i = lua_tointeger(L, idx);
        putc_(L, e->b, 'i');
        put(L, e->b, &i, sizeof i);
      }
      else {
        double d = lua_tonumber(L, idx);
        putc_(L, e->b, 'd');
        put(L, e->b, &d, sizeof d);
      }
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      putc_(L, e->b, 's');
      put(L, e->b, &len, sizeof len);
      put(L, e->b, s, len);
      break;
    }
    case LUA_TTABLE:
      if (!e->funcs || !encref(e, idx))
        enctable(e, idx);
      break;
    case LUA_TFUNCTION:
      encfunction(e, idx);
      break;
    case LUA_TUSERDATA:
      if (e->share) {
        encshared(e, idx);
        break;
      }
      /* FALLTHROUGH */
    default:  /* light userdata, threads */
      typeerror(e, idx);
  }
}


/* Push package.loaded inverted (table -> name), without _G. */
static void pushmodules (lua_State *L) {
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  while (lua_next(L, -2)) {  /* stack: inv loaded name module */
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1) &&
        strcmp(lua_tostring(L, -2), "_G") != 0) {
      lua_pushvalue(L, -2);
      lua_rawset(L, -5);
    }
    else
      lua_pop(L, 1);
  }
  lua_pop(L, 1);
}


/*
** A value that is a single nil, boolean, number or string (most queue
** items) needs none of the encoder's Lua objects (its buffer userdata,
** the table of tables seen, the inverted package.loaded that functions
** need): its few bytes go straight into the message, the same bytes
** encode writes. Returns false for any other value.
*/
static int dumpscalar (lua_State *L, int idx, lg_MpMsg *m) {
  lg_Buf b;
  char tag;
  int ok;
  lg_buf_init(&b);
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      ok = lg_buf_add(&b, "n", 1);
      break;
    case LUA_TBOOLEAN:
      ok = lg_buf_add(&b, lua_toboolean(L, idx) ? "t" : "f", 1);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        int64_t i = lua_tointeger(L, idx);
        tag = 'i';
        ok = lg_buf_add(&b, &tag, 1) && lg_buf_add(&b, &i, sizeof i);
      }
      else {
        double d = lua_tonumber(L, idx);
        tag = 'd';
        ok = lg_buf_add(&b, &tag, 1) && lg_buf_add(&b, &d, sizeof d);
      }
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *str = lua_tolstring(L, idx, &len);
      tag = 's';
      ok = lg_buf_add(&b, &tag, 1) && lg_buf_add(&b, &len, sizeof len) &&
           lg_buf_add(&b, str, len);
      break;
    }
    default:
      return 0;
  }
  if (!ok) {
    lg_buf_free(&b);
    luaL_error(L, "not enough memory");
  }
  m->data = b.b;
  m->len = b.n;
  return 1;
}


lg_MpMsg lg_mp_dumpx (lua_State *L, int idx, int flags, const char *root,
                      const char *what) {
  Enc e;
  lg_MpMsg m;
  int top = lua_gettop(L);
  idx = lua_absindex(L, idx);
  if (dumpscalar(L, idx, &m))
    return m;
  e.L = L;
  e.funcs = (flags & LG_MP_FUNCS) != 0;
  e.share = (flags & LG_MP_SHARE) != 0;
  e.depth = 0;
  e.root = root;
  e.what = what;
  e.out = lua_newuserdatauv(L, sizeof(Out), 0);
  e.b = &e.out->b;
  lg_buf_init(e.b);
  lg_buf_init(&e.out->refs);
  if (luaL_newmetatable(L, BUFFER)) {  /* a state that never opened the
                                          module (interpreters) */
    lua_pushcfunction(L, buffer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_newtable(L);
  e.seen = lua_gettop(L);
  if (e.funcs) {
    pushmodules(L);
    e.mods = lua_gettop(L);
  }
  else
    e.mods = 0;
  encode(&e, idx);
  m.data = e.b->b;  /* the caller owns it now */
  m.len = e.b->n;
  lg_buf_init(e.b);
  lg_buf_free(&e.out->refs);  /* and the references too */
  lua_settop(L, top);
  return m;
}


lg_MpMsg lg_mp_dump (lua_State *L, int idx, int funcs) {
  return lg_mp_dumpx(L, idx, funcs, "value", LG_MP_TOPROCESS);
}

/* }====================================================== */


/*
** {======================================================
** Decoder
** =======================================================
*/

typedef struct Dec {
  lua_State *L;
  const char *p, *end;
  const char *start;    /* of the message */
  int ids;              /* stack index: offset of a tag -> value */
  int depth;
  int funcs;            /* functions allowed (the Pool's messages) */
  int share;            /* 'P' allowed (a copy within this process) */
  size_t taken;         /* 'P' values decoded: their references taken */
} Dec;


static void corrupt (Dec *d) {
  luaL_error(d->L, "cannot receive: corrupt message");
}


static void get (Dec *d, void *x, size_t len) {
  if ((size_t)(d->end - d->p) < len)
    corrupt(d);
  memcpy(x, d->p, len);
  d->p += len;
}


static uint32_t getu32 (Dec *d) {
  uint32_t u;
  get(d, &u, sizeof u);
  return u;
}


/* A length-prefixed run of bytes, returned in place. */
static const char *getbytes (Dec *d, size_t *len) {
  const char *s;
  get(d, len, sizeof *len);
  if ((size_t)(d->end - d->p) < *len)
    corrupt(d);
  s = d->p;
  d->p += *len;
  return s;
}


static void decode (Dec *d);


static void decupvalues (Dec *d, int f) {
  uint32_t n = getu32(d);
  for (uint32_t i = 1; i <= n; i++) {
    decode(d);
    if (lua_setupvalue(d->L, f, (int)i) == NULL)
      corrupt(d);
  }
}


static void decmodule (Dec *d) {
  lua_State *L = d->L;
  size_t len;
  const char *name;
  if (d->p >= d->end || *d->p++ != 's')
    corrupt(d);
  name = getbytes(d, &len);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushlstring(L, name, len);
  if (lua_rawget(L, -2) == LUA_TNIL) {  /* not loaded here: require it */
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushlstring(L, name, len);
    lua_call(L, 1, 1);
  }
  lua_remove(L, -2);
}


/* Record the value on top as the one whose tag is at 'at'. */
static void record (Dec *d, lua_Integer at) {
  lua_pushvalue(d->L, -1);
  lua_rawseti(d->L, d->ids, at);
}


static void decode (Dec *d) {
  lua_State *L = d->L;
  lua_Integer at = (lua_Integer)(d->p - d->start);
  char tag;
  luaL_checkstack(L, 8, "value nested too deeply");
  get(d, &tag, 1);
  /* A function, and C ones come by address: only in a message that may
     carry them (Queue and Pipe messages never do). */
  if (!d->funcs && strchr("FCcGM", tag) != NULL)
    corrupt(d);
  switch (tag) {
    case 'n': lua_pushnil(L); break;
    case 'f': lua_pushboolean(L, 0); break;
    case 't': lua_pushboolean(L, 1); break;
    case 'i': {
      int64_t i;
      get(d, &i, sizeof i);
      lua_pushinteger(L, (lua_Integer)i);
      break;
    }
    case 'd': {
      double x;
      get(d, &x, sizeof x);
      lua_pushnumber(L, x);
      break;
    }
    case 's': {
      size_t len;
      const char *s = getbytes(d, &len);
      lua_pushlstring(L, s, len);
      break;
    }
    case 'T': case 'U': {
      uint32_t narr = getu32(d);
      /* a hint, trusted only as far as the bytes left could fill it (an
         item takes 10 at least): a corrupt one must not allocate GBs */
      size_t most = (size_t)(d->end - d->p) / 10;
      if (++d->depth > MAXDEPTH)
        corrupt(d);
      lua_createtable(L, narr > (1u << 24) || narr > most ? 0 : (int)narr,
                      0);
      if (tag == 'U')
        record(d, at);  /* before its contents: cycles */
      while (d->p < d->end && *d->p != 'e') {
        decode(d);
        decode(d);
        if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER &&
                                 lua_tonumber(L, -2) != lua_tonumber(L, -2)))
          corrupt(d);
        lua_rawset(L, -3);
      }
      if (d->p++ >= d->end)
        corrupt(d);
      d->depth--;
      break;
    }
    case 'F': {
      size_t len;
      const char *code = getbytes(d, &len);
      if (++d->depth > MAXDEPTH)
        corrupt(d);
      if (luaL_loadbufferx(L, code, len, "=?", "b") != LUA_OK)
        lua_error(L);
      record(d, at);
      decupvalues(d, lua_gettop(L));
      d->depth--;
      break;
    }
    case 'R': {  /* only to a value recorded already */
      size_t to;
      get(d, &to, sizeof to);
      if (to >= (size_t)at || lua_rawgeti(L, d->ids, (lua_Integer)to)
                              == LUA_TNIL)
        corrupt(d);
      break;
    }
    case 'C': case 'c': {
      lua_CFunction f;
      get(d, &f, sizeof f);
      if (tag == 'C')
        lua_pushcfunction(L, f);
      else {
        uint32_t n = getu32(d);
        if (n > 255)  /* Lua's limit of upvalues */
          corrupt(d);
        for (uint32_t i = 0; i < n; i++)
          decode(d);
        lua_pushcclosure(L, f, (int)n);
      }
      break;
    }
    case 'G':
      lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
      break;
    case 'P': {  /* a pointer: never from bytes another program wrote */
      uint32_t type;
      void *p;
      if (!d->share)
        corrupt(d);
      type = getu32(d);
      get(d, &p, sizeof p);
      if (type >= atomic_load(&ntypes))
        corrupt(d);
      types[type]->unshare(L, p);
      d->taken++;
      record(d, at);
      break;
    }
    case 'M':
      decmodule(d);
      break;
    default:
      corrupt(d);
  }
}


static void decodeall (Dec *d) {
  lua_State *L = d->L;
  lua_newtable(L);
  d->ids = lua_gettop(L);
  decode(d);
  if (d->p != d->end)
    corrupt(d);
  lua_remove(L, d->ids);
}


static int pdecodeall (lua_State *L) {
  decodeall(lua_touserdata(L, 1));
  return 1;
}


/*
** The decoder's side of dumpscalar: a message of a single nil, boolean,
** number or string is pushed without the table of recorded values, and
** without the protected call (it holds no references). Returns false for
** any other message, which decode reads (and checks) as before.
*/
static int loadscalar (lua_State *L, const char *data, size_t len) {
  if (len == 0)
    return 0;
  switch (data[0]) {
    case 'n': case 'f': case 't':
      if (len != 1)
        return 0;
      if (data[0] == 'n')
        lua_pushnil(L);
      else
        lua_pushboolean(L, data[0] == 't');
      return 1;
    case 'i': {
      int64_t i;
      if (len != 1 + sizeof i)
        return 0;
      memcpy(&i, data + 1, sizeof i);
      lua_pushinteger(L, (lua_Integer)i);
      return 1;
    }
    case 'd': {
      double x;
      if (len != 1 + sizeof x)
        return 0;
      memcpy(&x, data + 1, sizeof x);
      lua_pushnumber(L, x);
      return 1;
    }
    case 's': {
      size_t n;
      if (len < 1 + sizeof n)
        return 0;
      memcpy(&n, data + 1, sizeof n);
      if (n != len - 1 - sizeof n)
        return 0;
      lua_pushlstring(L, data + 1 + sizeof n, n);
      return 1;
    }
    default:
      return 0;
  }
}


void lg_mp_loadx (lua_State *L, const char *data, size_t len, int flags) {
  Dec d;
  if (loadscalar(L, data, len))
    return;
  d.L = L;
  d.p = data;
  d.end = data + len;
  d.start = data;
  d.depth = 0;
  d.funcs = (flags & LG_MP_FUNCS) != 0;
  d.share = (flags & LG_MP_SHARE) != 0;
  d.taken = 0;
  if (!d.share) {
    decodeall(&d);
    return;
  }
  /* Protected, so that an error halfway drops the references the decoder
     has not taken over yet: the message's are gone either way. */
  luaL_checkstack(L, 2, "value nested too deeply");
  lua_pushcfunction(L, pdecodeall);
  lua_pushlightuserdata(L, &d);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    dropfrom(data, data + len, d.taken);
    lua_error(L);
  }
}


void lg_mp_load (lua_State *L, const char *data, size_t len) {
  lg_mp_loadx(L, data, len, 0);
}

/* }====================================================== */


/*
** {======================================================
** Lua functions
** =======================================================
*/

/* _multiprocessing.dumps(v [, funcs [, root [, what]]]) -> string; 'root'
** and 'what' name the value and end a refusal, as for lg_mp_dumpx. */
static int mp_dumps (lua_State *L) {
  lg_MpMsg m;
  const char *root = luaL_optstring(L, 3, "value");
  const char *what = luaL_optstring(L, 4, LG_MP_TOPROCESS);
  luaL_checkany(L, 1);
  m = lg_mp_dumpx(L, 1, lua_toboolean(L, 2), root, what);
  lua_pushlstring(L, m.data, m.len);  /* may fail: then m leaks, rarely */
  free(m.data);
  return 1;
}


/* _multiprocessing.loads(s [, funcs]) -> v */
static int mp_loads (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int funcs = lua_toboolean(L, 2);
  lua_settop(L, 1);  /* keeps 's' alive */
  lg_mp_loadx(L, s, len, funcs);
  return 1;
}


static const luaL_Reg pickle_funcs[] = {
  {"dumps", mp_dumps},
  {"loads", mp_loads},
  {NULL, NULL}
};


void lg_mp_open_pickle (lua_State *L) {
  luaL_newmetatable(L, BUFFER);
  lua_pushcfunction(L, buffer_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_setfuncs(L, pickle_funcs, 0);
}

/* }====================================================== */
