/*
** stdlib/dis/dis_chunk.c -- reads a binary chunk (Lua 5.4.4's string.dump
** format) for the 'dis' module, trusting nothing in it.
** See LICENSE for copyright and licence (MIT).
**
** Every read is bounds-checked, every count is checked against the bytes
** left before anything is allocated, nesting is capped, and every opcode
** is checked; a bad chunk raises "bad binary chunk: <why>". All memory is
** Lua's: the decoded arrays are userdata anchored in one table on the
** stack, and strings and code point into the chunk itself (also on the
** stack), so an error anywhere leaks nothing.
*/

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "dis_chunk.h"


/* {====================================================================
** Facts of Lua 5.4.4: opcodes and the chunk header
** =====================================================================*/

/* Opcodes in Lua 5.4.4's order: the index is the opcode. */
const OpInfo lg_dis_opinfo[NUM_OPCODES] = {
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

/* Header fields after "\x1bLua". */
#define LUAC_VERSION  0x54
#define LUAC_FORMAT   0
#define LUAC_DATA     "\x19\x93\r\n\x1a\n"
#define LUAC_INT      0x5678
#define LUAC_NUM      ((lua_Number)370.5)

#define MAXDEPTH      200  /* nested functions, as Lua's own C-level limit */

/* }==================================================================== */


/* {====================================================================
** Reading
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
** first one); a delta of -128 says the line is given whole, in the
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


Proto *lg_dis_undump (lua_State *L, int chunk) {
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
