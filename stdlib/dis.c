/*
** stdlib/dis.c -- the 'dis' module: bytecode listings of Lua functions.
** See LICENSE for copyright and licence (MIT).
**
** Lua's public API does not show a function's bytecode, but string.dump
** writes it out: this module reads that binary chunk itself (Lua 5.4.4's
** format) and lists it the way Debian's 'luac5.4 -l' does, so the listing
** can be checked line for line against luac. Nothing here trusts the
** chunk: every read is bounds-checked, every count is checked against the
** bytes left before anything is allocated, nesting is capped, and every
** index an instruction holds is checked before it is followed. A bad chunk
** raises "bad binary chunk: <why>", never crashes.
**
** All memory is Lua's: the decoded arrays are userdata anchored in one
** table on the stack, and strings point into the chunk itself (also on the
** stack), so an error anywhere leaks nothing.
*/

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lglib.h"


/* {====================================================================
** Facts of Lua 5.4.4: instruction layout, opcodes, chunk header
** =====================================================================*/

/*
** An instruction is 32 bits: opcode (7), A (8), k (1), B (8), C (8);
** or A and Bx (17); or Ax (25); or sJ (25). Signed fields are stored
** with an offset of half their range.
*/
#define OPCODE(i)   ((int)((i) & 0x7f))
#define ARG_A(i)    ((int)(((i) >> 7) & 0xff))
#define ARG_K(i)    ((int)(((i) >> 15) & 1))
#define ARG_B(i)    ((int)(((i) >> 16) & 0xff))
#define ARG_C(i)    ((int)(((i) >> 24) & 0xff))
#define ARG_BX(i)   ((int)(((i) >> 15) & 0x1ffff))
#define ARG_AX(i)   ((int)(((i) >> 7) & 0x1ffffff))
#define OFFSET_SC   127
#define OFFSET_SBX  65535
#define OFFSET_SJ   16777215
#define MAXARG_C    255

#define ABSLINEINFO (-0x80)  /* a lineinfo delta meaning "see abslineinfo" */

enum Format { iABC, iABx, iAsBx, iAx, isJ };

/* How luac prints the operands and comment of each opcode. */
enum Show {
  S_A, S_AB, S_ABC, S_ABCK, S_ASBX, S_ABX, S_AKX, S_AC, S_ABSC, S_ABSBK,
  S_ABKC, S_NONE, S_SJ, S_AX, S_ABK, S_AKB
};

typedef struct OpInfo {
  const char *name;
  unsigned char format;
  unsigned char sb, sc;  /* B or C is read as a signed immediate */
} OpInfo;

/* Opcodes in Lua 5.4.4's order: the index is the opcode. */
static const OpInfo opinfo[] = {
  {"MOVE", iABC, 0, 0}, {"LOADI", iAsBx, 0, 0}, {"LOADF", iAsBx, 0, 0},
  {"LOADK", iABx, 0, 0}, {"LOADKX", iABx, 0, 0}, {"LOADFALSE", iABC, 0, 0},
  {"LFALSESKIP", iABC, 0, 0}, {"LOADTRUE", iABC, 0, 0},
  {"LOADNIL", iABC, 0, 0}, {"GETUPVAL", iABC, 0, 0},
  {"SETUPVAL", iABC, 0, 0}, {"GETTABUP", iABC, 0, 0},
  {"GETTABLE", iABC, 0, 0}, {"GETI", iABC, 0, 0}, {"GETFIELD", iABC, 0, 0},
  {"SETTABUP", iABC, 0, 0}, {"SETTABLE", iABC, 0, 0}, {"SETI", iABC, 0, 0},
  {"SETFIELD", iABC, 0, 0}, {"NEWTABLE", iABC, 0, 0}, {"SELF", iABC, 0, 0},
  {"ADDI", iABC, 0, 1}, {"ADDK", iABC, 0, 0}, {"SUBK", iABC, 0, 0},
  {"MULK", iABC, 0, 0}, {"MODK", iABC, 0, 0}, {"POWK", iABC, 0, 0},
  {"DIVK", iABC, 0, 0}, {"IDIVK", iABC, 0, 0}, {"BANDK", iABC, 0, 0},
  {"BORK", iABC, 0, 0}, {"BXORK", iABC, 0, 0}, {"SHRI", iABC, 0, 1},
  {"SHLI", iABC, 0, 1}, {"ADD", iABC, 0, 0}, {"SUB", iABC, 0, 0},
  {"MUL", iABC, 0, 0}, {"MOD", iABC, 0, 0}, {"POW", iABC, 0, 0},
  {"DIV", iABC, 0, 0}, {"IDIV", iABC, 0, 0}, {"BAND", iABC, 0, 0},
  {"BOR", iABC, 0, 0}, {"BXOR", iABC, 0, 0}, {"SHL", iABC, 0, 0},
  {"SHR", iABC, 0, 0}, {"MMBIN", iABC, 0, 0}, {"MMBINI", iABC, 1, 0},
  {"MMBINK", iABC, 0, 0}, {"UNM", iABC, 0, 0}, {"BNOT", iABC, 0, 0},
  {"NOT", iABC, 0, 0}, {"LEN", iABC, 0, 0}, {"CONCAT", iABC, 0, 0},
  {"CLOSE", iABC, 0, 0}, {"TBC", iABC, 0, 0}, {"JMP", isJ, 0, 0},
  {"EQ", iABC, 0, 0}, {"LT", iABC, 0, 0}, {"LE", iABC, 0, 0},
  {"EQK", iABC, 0, 0}, {"EQI", iABC, 1, 0}, {"LTI", iABC, 1, 0},
  {"LEI", iABC, 1, 0}, {"GTI", iABC, 1, 0}, {"GEI", iABC, 1, 0},
  {"TEST", iABC, 0, 0}, {"TESTSET", iABC, 0, 0}, {"CALL", iABC, 0, 0},
  {"TAILCALL", iABC, 0, 0}, {"RETURN", iABC, 0, 0}, {"RETURN0", iABC, 0, 0},
  {"RETURN1", iABC, 0, 0}, {"FORLOOP", iABx, 0, 0}, {"FORPREP", iABx, 0, 0},
  {"TFORPREP", iABx, 0, 0}, {"TFORCALL", iABC, 0, 0},
  {"TFORLOOP", iABx, 0, 0}, {"SETLIST", iABC, 0, 0},
  {"CLOSURE", iABx, 0, 0}, {"VARARG", iABC, 0, 0},
  {"VARARGPREP", iABC, 0, 0}, {"EXTRAARG", iAx, 0, 0}
};

#define NUM_OPCODES ((int)(sizeof(opinfo) / sizeof(opinfo[0])))

/* Opcodes the listing treats specially, by number. */
enum {
  OP_MOVE, OP_LOADI, OP_LOADF, OP_LOADK, OP_LOADKX, OP_LOADFALSE,
  OP_LFALSESKIP, OP_LOADTRUE, OP_LOADNIL, OP_GETUPVAL, OP_SETUPVAL,
  OP_GETTABUP, OP_GETTABLE, OP_GETI, OP_GETFIELD, OP_SETTABUP, OP_SETTABLE,
  OP_SETI, OP_SETFIELD, OP_NEWTABLE, OP_SELF, OP_ADDI, OP_ADDK, OP_SUBK,
  OP_MULK, OP_MODK, OP_POWK, OP_DIVK, OP_IDIVK, OP_BANDK, OP_BORK,
  OP_BXORK, OP_SHRI, OP_SHLI, OP_ADD, OP_SUB, OP_MUL, OP_MOD, OP_POW,
  OP_DIV, OP_IDIV, OP_BAND, OP_BOR, OP_BXOR, OP_SHL, OP_SHR, OP_MMBIN,
  OP_MMBINI, OP_MMBINK, OP_UNM, OP_BNOT, OP_NOT, OP_LEN, OP_CONCAT,
  OP_CLOSE, OP_TBC, OP_JMP, OP_EQ, OP_LT, OP_LE, OP_EQK, OP_EQI, OP_LTI,
  OP_LEI, OP_GTI, OP_GEI, OP_TEST, OP_TESTSET, OP_CALL, OP_TAILCALL,
  OP_RETURN, OP_RETURN0, OP_RETURN1, OP_FORLOOP, OP_FORPREP, OP_TFORPREP,
  OP_TFORCALL, OP_TFORLOOP, OP_SETLIST, OP_CLOSURE, OP_VARARG,
  OP_VARARGPREP, OP_EXTRAARG
};

/* Metamethod events, in Lua 5.4.4's order (MMBIN's C operand). */
static const char *const eventnames[] = {
  "__index", "__newindex", "__gc", "__mode", "__len", "__eq", "__add",
  "__sub", "__mul", "__mod", "__pow", "__div", "__idiv", "__band", "__bor",
  "__bxor", "__shl", "__shr", "__unm", "__bnot", "__lt", "__le",
  "__concat", "__call", "__close"
};

/* Constant type tags in a chunk: type | variant << 4. */
#define TAG_NIL     0x00
#define TAG_FALSE   0x01
#define TAG_TRUE    0x11
#define TAG_INT     0x03
#define TAG_FLOAT   0x13
#define TAG_SHRSTR  0x04
#define TAG_LNGSTR  0x14

/* Header fields after "\x1bLua". */
#define LUAC_VERSION  0x54
#define LUAC_FORMAT   0
#define LUAC_DATA     "\x19\x93\r\n\x1a\n"
#define LUAC_INT      0x5678
#define LUAC_NUM      ((lua_Number)370.5)

#define MAXDEPTH      200  /* nested functions, as Lua's own C-level limit */

/* }==================================================================== */


/* {====================================================================
** The decoded chunk
** =====================================================================*/

typedef struct Str {
  const char *s;  /* into the chunk; NULL: absent */
  size_t len;
} Str;

typedef struct Const {
  int tag;
  lua_Integer i;
  lua_Number n;
  Str s;
} Const;

typedef struct Upval {
  int instack, idx, kind;
  Str name;
} Upval;

typedef struct LocVar {
  Str name;
  int startpc, endpc;
} LocVar;

typedef struct AbsLine {
  int pc, line;
} AbsLine;

typedef struct Proto {
  Str source;  /* inherited from the parent when the chunk omits it */
  int linedefined, lastlinedefined;
  int numparams, is_vararg, maxstacksize;
  int sizecode;
  const unsigned char *code;  /* into the chunk: read with getcode */
  int *lines;  /* line of each instruction; NULL without debug info */
  int sizek;
  Const *k;
  int sizeupvalues;
  Upval *upvalues;
  int sizep;
  struct Proto *p;
  int sizelocvars;
  LocVar *locvars;
  int label;  /* position in the listing: main is F0 */
} Proto;


static uint32_t getcode (const Proto *f, int pc) {
  uint32_t i;
  memcpy(&i, f->code + (size_t)pc * sizeof i, sizeof i);  /* unaligned */
  return i;
}

/* }==================================================================== */


/* {====================================================================
** Reading a binary chunk
** =====================================================================*/

typedef struct Reader {
  lua_State *L;
  const unsigned char *p, *end;
  int anchor;   /* stack index of the table that keeps the arrays alive */
  int nanchor;
} Reader;


/* Raise "bad binary chunk: why"; does not return. */
static void bad (Reader *R, const char *why) {
  luaL_error(R->L, "bad binary chunk: %s", why);
}


static size_t left (Reader *R) {
  return (size_t)(R->end - R->p);
}


static const unsigned char *readblock (Reader *R, size_t n) {
  const unsigned char *b = R->p;
  if (n > left(R))
    bad(R, "truncated");
  R->p += n;
  return b;
}


static int readbyte (Reader *R) {
  return *readblock(R, 1);
}


/* An unsigned number, 7 bits a byte, most significant first; the last
** byte has its high bit set. */
static size_t readunsigned (Reader *R, size_t limit) {
  size_t x = 0;
  int b;
  limit >>= 7;
  do {
    b = readbyte(R);
    if (x >= limit)
      bad(R, "integer overflow");
    x = (x << 7) | (size_t)(b & 0x7f);
  } while ((b & 0x80) == 0);
  return x;
}


static int readint (Reader *R) {
  return (int)readunsigned(R, INT_MAX);
}


/* A count of items of at least 'minsize' bytes each: more than the bytes
** left can hold means the chunk is cut short (or lies). */
static int readcount (Reader *R, size_t minsize) {
  int n = readint(R);
  if ((size_t)n > left(R) / minsize)
    bad(R, "truncated");
  return n;
}


static Str readstring (Reader *R) {
  Str s = {NULL, 0};
  size_t size = readunsigned(R, SIZE_MAX);
  if (size > 0) {
    s.len = size - 1;
    s.s = (const char *)readblock(R, s.len);
  }
  return s;
}


/* A zeroed array of n items, owned by the anchor table. */
static void *newarray (Reader *R, int n, size_t size) {
  void *a;
  if (n == 0)
    return NULL;
  a = lua_newuserdatauv(R->L, (size_t)n * size, 0);
  memset(a, 0, (size_t)n * size);
  lua_rawseti(R->L, R->anchor, ++R->nanchor);
  return a;
}


static void checkheader (Reader *R) {
  lua_Integer i;
  lua_Number n;
  if (left(R) < 4 || memcmp(R->p, LUA_SIGNATURE, 4) != 0)
    bad(R, "not a binary chunk");
  R->p += 4;
  if (readbyte(R) != LUAC_VERSION)
    bad(R, "version mismatch");
  if (readbyte(R) != LUAC_FORMAT)
    bad(R, "format mismatch");
  if (memcmp(readblock(R, sizeof LUAC_DATA - 1), LUAC_DATA,
             sizeof LUAC_DATA - 1) != 0)
    bad(R, "corrupted chunk");
  if (readbyte(R) != (int)sizeof(uint32_t))
    bad(R, "Instruction size mismatch");
  if (readbyte(R) != (int)sizeof(lua_Integer))
    bad(R, "lua_Integer size mismatch");
  if (readbyte(R) != (int)sizeof(lua_Number))
    bad(R, "lua_Number size mismatch");
  memcpy(&i, readblock(R, sizeof i), sizeof i);
  if (i != LUAC_INT)
    bad(R, "integer format mismatch");
  memcpy(&n, readblock(R, sizeof n), sizeof n);
  if (n != LUAC_NUM)
    bad(R, "float format mismatch");
}


static void readcode (Reader *R, Proto *f) {
  int pc;
  f->sizecode = readcount(R, sizeof(uint32_t));
  f->code = readblock(R, (size_t)f->sizecode * sizeof(uint32_t));
  for (pc = 0; pc < f->sizecode; pc++) {
    int op = OPCODE(getcode(f, pc));
    if (op >= NUM_OPCODES)
      luaL_error(R->L, "bad binary chunk: bad opcode %d at instruction %d",
                 op, pc + 1);
  }
}


static void readconstants (Reader *R, Proto *f) {
  int i;
  f->sizek = readcount(R, 1);
  f->k = newarray(R, f->sizek, sizeof(Const));
  for (i = 0; i < f->sizek; i++) {
    Const *k = &f->k[i];
    k->tag = readbyte(R);
    switch (k->tag) {
      case TAG_NIL: case TAG_FALSE: case TAG_TRUE:
        break;
      case TAG_INT:
        memcpy(&k->i, readblock(R, sizeof k->i), sizeof k->i);
        break;
      case TAG_FLOAT:
        memcpy(&k->n, readblock(R, sizeof k->n), sizeof k->n);
        break;
      case TAG_SHRSTR: case TAG_LNGSTR:
        k->s = readstring(R);
        if (k->s.s == NULL)
          bad(R, "missing string constant");
        break;
      default:
        luaL_error(R->L, "bad binary chunk: bad constant type %d", k->tag);
    }
  }
}


static void readupvalues (Reader *R, Proto *f) {
  int i;
  f->sizeupvalues = readcount(R, 3);
  f->upvalues = newarray(R, f->sizeupvalues, sizeof(Upval));
  for (i = 0; i < f->sizeupvalues; i++) {
    f->upvalues[i].instack = readbyte(R);
    f->upvalues[i].idx = readbyte(R);
    f->upvalues[i].kind = readbyte(R);
  }
}


/*
** Line of each instruction. lineinfo holds one signed delta per
** instruction from the line before (the function's first line before the
** first one); a delta of ABSLINEINFO says the line is given whole, in the
** abslineinfo entry for that pc.
*/
static void readlines (Reader *R, Proto *f) {
  int n, nabs, pc, i = 0;
  unsigned line = (unsigned)f->linedefined;
  const signed char *delta;
  AbsLine *abs;
  n = readcount(R, 1);
  if (n != 0 && n != f->sizecode)
    bad(R, "bad line info");
  delta = (const signed char *)readblock(R, (size_t)n);
  nabs = readcount(R, 2);
  abs = newarray(R, nabs, sizeof(AbsLine));
  for (i = 0; i < nabs; i++) {
    abs[i].pc = readint(R);
    abs[i].line = readint(R);
  }
  f->lines = newarray(R, n, sizeof(int));
  for (pc = 0, i = 0; pc < n; pc++) {
    while (i < nabs && abs[i].pc < pc)  /* entries are in pc order */
      i++;
    if (i < nabs && abs[i].pc == pc)
      line = (unsigned)abs[i].line;
    else  /* a bad chunk may wrap around: no signed overflow */
      line += (unsigned)(int)delta[pc];
    f->lines[pc] = (int)line;
  }
}


static void readdebug (Reader *R, Proto *f) {
  int i, n;
  readlines(R, f);
  f->sizelocvars = readcount(R, 3);
  f->locvars = newarray(R, f->sizelocvars, sizeof(LocVar));
  for (i = 0; i < f->sizelocvars; i++) {
    f->locvars[i].name = readstring(R);
    f->locvars[i].startpc = readint(R);
    f->locvars[i].endpc = readint(R);
  }
  n = readcount(R, 1);
  if (n > f->sizeupvalues)
    bad(R, "more upvalue names than upvalues");
  for (i = 0; i < n; i++)
    f->upvalues[i].name = readstring(R);
}


static void readfunction (Reader *R, Proto *f, Str psource, int depth) {
  int i;
  if (depth > MAXDEPTH)
    bad(R, "functions nested too deeply");
  f->source = readstring(R);
  if (f->source.s == NULL)
    f->source = psource;
  f->linedefined = readint(R);
  f->lastlinedefined = readint(R);
  f->numparams = readbyte(R);
  f->is_vararg = readbyte(R);
  f->maxstacksize = readbyte(R);
  readcode(R, f);
  readconstants(R, f);
  readupvalues(R, f);
  f->sizep = readcount(R, 8);  /* a function takes at least 8 bytes */
  f->p = newarray(R, f->sizep, sizeof(Proto));
  for (i = 0; i < f->sizep; i++)
    readfunction(R, &f->p[i], f->source, depth + 1);
  readdebug(R, f);
}


/* Number the functions in listing order (depth first, parent first). */
static void setlabels (Proto *f, int *next) {
  int i;
  f->label = (*next)++;
  for (i = 0; i < f->sizep; i++)
    setlabels(&f->p[i], next);
}


/*
** Decode the chunk at stack index 'chunk'. Pushes the anchor table,
** which keeps the result alive: the caller pops it when done.
*/
static Proto *undump (lua_State *L, int chunk) {
  Reader R;
  Proto *top;
  Str nosource = {NULL, 0};
  size_t len;
  int next = 0;
  const char *s = lua_tolstring(L, chunk, &len);
  R.L = L;
  R.p = (const unsigned char *)s;
  R.end = R.p + len;
  lua_newtable(L);
  R.anchor = lua_gettop(L);
  R.nanchor = 0;
  checkheader(&R);
  readbyte(&R);  /* the main function's upvalue count, repeated below */
  top = newarray(&R, 1, sizeof(Proto));
  readfunction(&R, top, nosource, 0);
  setlabels(top, &next);
  return top;
}

/* }==================================================================== */


/* {====================================================================
** Getting a chunk from the argument
** =====================================================================*/

static int isbinary (lua_State *L, int idx) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  return len >= 4 && memcmp(s, LUA_SIGNATURE, 4) == 0;
}


/*
** Replace argument 1 by a binary chunk: a binary-chunk string as is; any
** other string is source, compiled (not run) as load() would, with
** argument 2 as its chunk name; a Lua function is dumped with its debug
** information.
*/
static void tochunk (lua_State *L) {
  int t = lua_type(L, 1);
  if (t == LUA_TSTRING) {
    size_t len;
    const char *s;
    if (isbinary(L, 1))
      return;
    s = lua_tolstring(L, 1, &len);
    if (luaL_loadbufferx(L, s, len, luaL_optstring(L, 2, s), "t") != LUA_OK)
      lua_error(L);
    lua_replace(L, 1);
  }
  else if (t != LUA_TFUNCTION)
    luaL_typeerror(L, 1, "function or string");
  else if (lua_iscfunction(L, 1))
    luaL_argerror(L, 1, "Lua function expected, got C function");
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_STRLIBNAME);
  lua_getfield(L, -1, "dump");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_replace(L, 1);
  lua_pop(L, 2);  /* the string and loaded tables */
}

/* }==================================================================== */


/* {====================================================================
** The listing, as luac -l (and -l -l) prints it
** =====================================================================*/

static void addf (luaL_Buffer *b, const char *fmt, ...) {
  char buf[128];  /* enough for every numeric format used here */
  int n;
  va_list ap;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0)
    luaL_addlstring(b, buf, (size_t)n < sizeof buf ? (size_t)n
                                                   : sizeof buf - 1);
}


static void addstr (luaL_Buffer *b, Str s, const char *absent) {
  if (s.s == NULL)
    luaL_addstring(b, absent);
  else
    luaL_addlstring(b, s.s, s.len);
}


/* A string constant, quoted and escaped as luac does. */
static void addquoted (luaL_Buffer *b, Str s) {
  size_t i;
  luaL_addchar(b, '"');
  for (i = 0; i < s.len; i++) {
    int c = (unsigned char)s.s[i];
    switch (c) {
      case '"': luaL_addstring(b, "\\\""); break;
      case '\\': luaL_addstring(b, "\\\\"); break;
      case '\a': luaL_addstring(b, "\\a"); break;
      case '\b': luaL_addstring(b, "\\b"); break;
      case '\f': luaL_addstring(b, "\\f"); break;
      case '\n': luaL_addstring(b, "\\n"); break;
      case '\r': luaL_addstring(b, "\\r"); break;
      case '\t': luaL_addstring(b, "\\t"); break;
      case '\v': luaL_addstring(b, "\\v"); break;
      default:
        if (c >= 32 && c < 127)  /* isprint in the C locale */
          luaL_addchar(b, (char)c);
        else
          addf(b, "\\%03d", c);
    }
  }
  luaL_addchar(b, '"');
}


static void addconstant (luaL_Buffer *b, const Proto *f, int i) {
  const Const *k;
  if (i < 0 || i >= f->sizek) {  /* only a bad chunk points outside */
    luaL_addstring(b, "?");
    return;
  }
  k = &f->k[i];
  switch (k->tag) {
    case TAG_NIL: luaL_addstring(b, "nil"); break;
    case TAG_FALSE: luaL_addstring(b, "false"); break;
    case TAG_TRUE: luaL_addstring(b, "true"); break;
    case TAG_INT: addf(b, LUA_INTEGER_FMT, (LUAI_UACINT)k->i); break;
    case TAG_FLOAT: {
      char buf[64];
      snprintf(buf, sizeof buf, "%.14g", (double)k->n);
      luaL_addstring(b, buf);
      if (buf[strspn(buf, "-0123456789")] == '\0')
        luaL_addstring(b, ".0");  /* looks like an integer: say it is not */
      break;
    }
    default: addquoted(b, k->s); break;
  }
}


static void addupvalname (luaL_Buffer *b, const Proto *f, int i) {
  if (i < 0 || i >= f->sizeupvalues)
    luaL_addstring(b, "?");
  else
    addstr(b, f->upvalues[i].name, "-");
}


static void addevent (luaL_Buffer *b, int c) {
  int n = (int)(sizeof eventnames / sizeof eventnames[0]);
  luaL_addstring(b, (c >= 0 && c < n) ? eventnames[c] : "?");
}


/* The Ax of the EXTRAARG after pc, as luac reads it; 0 if there is none. */
static int extraarg (const Proto *f, int pc) {
  if (pc + 1 < f->sizecode && OPCODE(getcode(f, pc + 1)) == OP_EXTRAARG)
    return ARG_AX(getcode(f, pc + 1));
  return 0;
}


static int line_at (const Proto *f, int pc) {
  return (f->lines != NULL) ? f->lines[pc] : -1;
}


/* "N in" / "N out" counts, where 0 means "all". */
static void addcount (luaL_Buffer *b, int n, const char *what) {
  if (n == 0)
    addf(b, "all %s", what);
  else
    addf(b, "%d %s", n - 1, what);
}


/* Operands and comment of the instruction at pc. */
static void addoperands (luaL_Buffer *b, const Proto *f, int pc) {
  uint32_t i = getcode(f, pc);
  int op = OPCODE(i);
  int a = ARG_A(i), bb = ARG_B(i), c = ARG_C(i), k = ARG_K(i);
  int bx = ARG_BX(i), sbx = bx - OFFSET_SBX;
  int sb = bb - OFFSET_SC, sc = c - OFFSET_SC;
  long long pcl = pc;  /* jump targets of a bad chunk must not overflow */
  const char *isk = k ? "k" : "";
  switch (op) {
    case OP_MOVE: case OP_UNM: case OP_BNOT: case OP_NOT: case OP_LEN:
    case OP_CONCAT:
      addf(b, "%d %d", a, bb);
      break;
    case OP_LOADI: case OP_LOADF:
      addf(b, "%d %d", a, sbx);
      break;
    case OP_LOADK:
      addf(b, "%d %d\t; ", a, bx);
      addconstant(b, f, bx);
      break;
    case OP_LOADKX:
      addf(b, "%d\t; ", a);
      addconstant(b, f, extraarg(f, pc));
      break;
    case OP_LOADFALSE: case OP_LFALSESKIP: case OP_LOADTRUE: case OP_CLOSE:
    case OP_TBC: case OP_RETURN1: case OP_VARARGPREP:
      addf(b, "%d", a);
      break;
    case OP_LOADNIL:
      addf(b, "%d %d\t; %d out", a, bb, bb + 1);
      break;
    case OP_GETUPVAL: case OP_SETUPVAL:
      addf(b, "%d %d\t; ", a, bb);
      addupvalname(b, f, bb);
      break;
    case OP_GETTABUP:
      addf(b, "%d %d %d\t; ", a, bb, c);
      addupvalname(b, f, bb);
      luaL_addchar(b, ' ');
      addconstant(b, f, c);
      break;
    case OP_GETTABLE: case OP_GETI: case OP_ADD: case OP_SUB: case OP_MUL:
    case OP_MOD: case OP_POW: case OP_DIV: case OP_IDIV: case OP_BAND:
    case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR:
      addf(b, "%d %d %d", a, bb, c);
      break;
    case OP_GETFIELD: case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_MODK:
    case OP_POWK: case OP_DIVK: case OP_IDIVK: case OP_BANDK: case OP_BORK:
    case OP_BXORK:
      addf(b, "%d %d %d\t; ", a, bb, c);
      addconstant(b, f, c);
      break;
    case OP_SETTABUP:
      addf(b, "%d %d %d%s\t; ", a, bb, c, isk);
      addupvalname(b, f, a);
      luaL_addchar(b, ' ');
      addconstant(b, f, bb);
      if (k) {
        luaL_addchar(b, ' ');
        addconstant(b, f, c);
      }
      break;
    case OP_SETTABLE: case OP_SETI: case OP_SELF:
      addf(b, "%d %d %d%s", a, bb, c, isk);
      if (k) {
        luaL_addstring(b, "\t; ");
        addconstant(b, f, c);
      }
      break;
    case OP_SETFIELD:
      addf(b, "%d %d %d%s\t; ", a, bb, c, isk);
      addconstant(b, f, bb);
      if (k) {
        luaL_addchar(b, ' ');
        addconstant(b, f, c);
      }
      break;
    case OP_NEWTABLE:
      addf(b, "%d %d %d\t; %lld", a, bb, c,
           c + (long long)extraarg(f, pc) * (MAXARG_C + 1));
      break;
    case OP_ADDI: case OP_SHRI: case OP_SHLI:
      addf(b, "%d %d %d", a, bb, sc);
      break;
    case OP_MMBIN:
      addf(b, "%d %d %d\t; ", a, bb, c);
      addevent(b, c);
      break;
    case OP_MMBINI:
      addf(b, "%d %d %d %d\t; ", a, sb, c, k);
      addevent(b, c);
      if (k)
        luaL_addstring(b, " flip");
      break;
    case OP_MMBINK:
      addf(b, "%d %d %d %d\t; ", a, bb, c, k);
      addevent(b, c);
      luaL_addchar(b, ' ');
      addconstant(b, f, bb);
      if (k)
        luaL_addstring(b, " flip");
      break;
    case OP_JMP: {
      int sj = ARG_AX(i) - OFFSET_SJ;
      addf(b, "%d\t; to %lld", sj, sj + pcl + 2);
      break;
    }
    case OP_EQ: case OP_LT: case OP_LE: case OP_TESTSET:
      addf(b, "%d %d %d", a, bb, k);
      break;
    case OP_EQK:
      addf(b, "%d %d %d\t; ", a, bb, k);
      addconstant(b, f, bb);
      break;
    case OP_EQI: case OP_LTI: case OP_LEI: case OP_GTI: case OP_GEI:
      addf(b, "%d %d %d", a, sb, k);
      break;
    case OP_TEST:
      addf(b, "%d %d", a, k);
      break;
    case OP_CALL:
      addf(b, "%d %d %d\t; ", a, bb, c);
      addcount(b, bb, "in ");
      addcount(b, c, "out");
      break;
    case OP_TAILCALL:
      addf(b, "%d %d %d%s\t; %d in", a, bb, c, isk, bb - 1);
      break;
    case OP_RETURN:
      addf(b, "%d %d %d%s\t; ", a, bb, c, isk);
      addcount(b, bb, "out");
      break;
    case OP_RETURN0:
      break;
    case OP_FORLOOP: case OP_TFORLOOP:
      addf(b, "%d %d\t; to %lld", a, bx, pcl - bx + 2);
      break;
    case OP_FORPREP:
      addf(b, "%d %d\t; exit to %lld", a, bx, pcl + bx + 3);
      break;
    case OP_TFORPREP:
      addf(b, "%d %d\t; to %lld", a, bx, pcl + bx + 2);
      break;
    case OP_TFORCALL:
      addf(b, "%d %d", a, c);
      break;
    case OP_SETLIST:
      addf(b, "%d %d %d", a, bb, c);
      if (k)
        addf(b, "\t; %lld", c + (long long)extraarg(f, pc) * (MAXARG_C + 1));
      break;
    case OP_CLOSURE:
      addf(b, "%d %d\t; ", a, bx);
      if (bx < f->sizep)
        addf(b, "F%d", f->p[bx].label);
      else
        luaL_addstring(b, "?");
      break;
    case OP_VARARG:
      addf(b, "%d %d\t; ", a, c);
      addcount(b, c, "out");
      break;
    case OP_EXTRAARG:
      addf(b, "%d", ARG_AX(i));
      break;
  }
}


static const char *plural (int n) {
  return (n == 1) ? "" : "s";
}


static void addheader (luaL_Buffer *b, const Proto *f) {
  Str src = f->source;
  luaL_addstring(b, f->linedefined == 0 ? "\nmain <" : "\nfunction <");
  if (src.s == NULL)  /* stripped */
    luaL_addchar(b, '?');
  else if (src.len > 0 && (src.s[0] == '@' || src.s[0] == '='))
    luaL_addlstring(b, src.s + 1, src.len - 1);
  else if (src.len > 0 && src.s[0] == LUA_SIGNATURE[0])
    luaL_addstring(b, "(bstring)");
  else
    luaL_addstring(b, "(string)");
  addf(b, ":%d,%d> (%d instruction%s at F%d)\n", f->linedefined,
       f->lastlinedefined, f->sizecode, plural(f->sizecode), f->label);
  addf(b, "%d%s param%s, %d slot%s, %d upvalue%s, ", f->numparams,
       f->is_vararg ? "+" : "", plural(f->numparams), f->maxstacksize,
       plural(f->maxstacksize), f->sizeupvalues, plural(f->sizeupvalues));
  addf(b, "%d local%s, %d constant%s, %d function%s\n", f->sizelocvars,
       plural(f->sizelocvars), f->sizek, plural(f->sizek), f->sizep,
       plural(f->sizep));
}


static void addcode (luaL_Buffer *b, const Proto *f) {
  int pc;
  for (pc = 0; pc < f->sizecode; pc++) {
    int line = line_at(f, pc);
    addf(b, "\t%d\t", pc + 1);
    if (line > 0)
      addf(b, "[%d]\t", line);
    else
      luaL_addstring(b, "[-]\t");
    addf(b, "%-9s\t", opinfo[OPCODE(getcode(f, pc))].name);
    addoperands(b, f, pc);
    luaL_addchar(b, '\n');
  }
}


/* What luac -l -l adds: constants, locals and upvalues. */
static void adddebug (luaL_Buffer *b, const Proto *f) {
  int i;
  static const char *const ktype[] = {"N", "B", "B", "I", "F", "S", "S"};
  addf(b, "constants (%d) for F%d:\n", f->sizek, f->label);
  for (i = 0; i < f->sizek; i++) {
    int t = f->k[i].tag;
    addf(b, "\t%d\t%s\t", i, ktype[t == TAG_NIL ? 0 : t == TAG_FALSE ? 1
                                  : t == TAG_TRUE ? 2 : t == TAG_INT ? 3
                                  : t == TAG_FLOAT ? 4 : 5]);
    addconstant(b, f, i);
    luaL_addchar(b, '\n');
  }
  addf(b, "locals (%d) for F%d:\n", f->sizelocvars, f->label);
  for (i = 0; i < f->sizelocvars; i++) {
    const LocVar *v = &f->locvars[i];
    addf(b, "\t%d\t", i);
    addstr(b, v->name, "?");
    addf(b, "\t%lld\t%lld\n", v->startpc + 1LL, v->endpc + 1LL);
  }
  addf(b, "upvalues (%d) for F%d:\n", f->sizeupvalues, f->label);
  for (i = 0; i < f->sizeupvalues; i++) {
    addf(b, "\t%d\t", i);
    addupvalname(b, f, i);
    addf(b, "\t%d\t%d\n", f->upvalues[i].instack, f->upvalues[i].idx);
  }
}


static void addfunction (luaL_Buffer *b, const Proto *f, int full) {
  int i;
  addheader(b, f);
  addcode(b, f);
  if (full)
    adddebug(b, f);
  for (i = 0; i < f->sizep; i++)
    addfunction(b, &f->p[i], full);
}


/* Push the listing of argument 1 (a function or a chunk). */
static void pushlisting (lua_State *L, int full) {
  luaL_Buffer b;
  const Proto *f;
  tochunk(L);
  f = undump(L, 1);
  luaL_buffinit(L, &b);
  addfunction(&b, f, full);
  luaL_pushresult(&b);
  lua_remove(L, -2);  /* the anchor table */
}


/* Write the string on top with io.write (the GIL-aware one) and pop it. */
static void writeout (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_IOLIBNAME);
  lua_getfield(L, -1, "write");
  lua_pushvalue(L, -4);
  lua_call(L, 1, 0);
  lua_pop(L, 3);  /* the io and loaded tables, the string */
}

/* }==================================================================== */


/* {====================================================================
** The module
** =====================================================================*/

/* dis.dis(f_or_chunk [, chunkname]): prints the luac -l listing */
static int dis_dis (lua_State *L) {
  pushlisting(L, 0);
  writeout(L);
  return 0;
}


/* dis.show_code(f_or_chunk [, chunkname]): prints the luac -l -l listing */
static int dis_show_code (lua_State *L) {
  pushlisting(L, 1);
  writeout(L);
  return 0;
}


/* dis.code_info(f_or_chunk [, chunkname]) -> string (luac -l -l) */
static int dis_code_info (lua_State *L) {
  pushlisting(L, 1);
  return 1;
}


static void setint (lua_State *L, const char *field, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, field);
}


/* Push one instruction as a table of its fields. */
static void pushinstruction (lua_State *L, const Proto *f, int pc) {
  uint32_t i = getcode(f, pc);
  int op = OPCODE(i);
  const OpInfo *o = &opinfo[op];
  lua_createtable(L, 0, 8);
  setint(L, "offset", pc + 1);
  setint(L, "line", line_at(f, pc));
  lua_pushstring(L, o->name);
  lua_setfield(L, -2, "opname");
  setint(L, "opcode", op);
  switch (o->format) {
    case iABC:
      setint(L, "a", ARG_A(i));
      setint(L, "b", ARG_B(i));
      setint(L, "c", ARG_C(i));
      lua_pushboolean(L, ARG_K(i));
      lua_setfield(L, -2, "k");
      if (o->sb)
        setint(L, "sb", ARG_B(i) - OFFSET_SC);
      if (o->sc)
        setint(L, "sc", ARG_C(i) - OFFSET_SC);
      break;
    case iABx:
      setint(L, "a", ARG_A(i));
      setint(L, "bx", ARG_BX(i));
      break;
    case iAsBx:
      setint(L, "a", ARG_A(i));
      setint(L, "sbx", ARG_BX(i) - OFFSET_SBX);
      break;
    case iAx:
      setint(L, "ax", ARG_AX(i));
      break;
    case isJ:
      setint(L, "sj", ARG_AX(i) - OFFSET_SJ);
      break;
  }
}


/* dis.get_instructions(f_or_chunk [, chunkname]) -> {instruction, ...} */
static int dis_get_instructions (lua_State *L) {
  const Proto *f;
  int pc;
  tochunk(L);
  f = undump(L, 1);
  lua_createtable(L, f->sizecode, 0);
  for (pc = 0; pc < f->sizecode; pc++) {
    pushinstruction(L, f, pc);
    lua_rawseti(L, -2, pc + 1);
  }
  return 1;
}


static const luaL_Reg dis_funcs[] = {
  {"dis", dis_dis},
  {"show_code", dis_show_code},
  {"code_info", dis_code_info},
  {"get_instructions", dis_get_instructions},
  {NULL, NULL}
};


int luaopen_dis (lua_State *L) {
  int op;
  luaL_newlib(L, dis_funcs);
  lua_createtable(L, NUM_OPCODES, 0);  /* dis.opname[opcode + 1] */
  for (op = 0; op < NUM_OPCODES; op++) {
    lua_pushstring(L, opinfo[op].name);
    lua_rawseti(L, -2, op + 1);
  }
  lua_setfield(L, -2, "opname");
  return 1;
}

/* }==================================================================== */
