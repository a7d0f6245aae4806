/*
** stdlib/dis/dis.c -- the 'dis' module: bytecode listings of Lua functions.
** See LICENSE for copyright and licence (MIT).
**
** Lua's public API does not show a function's bytecode, but string.dump
** writes it out: this module reads that binary chunk
** (stdlib/dis/dis_chunk.c) and lists it the way Debian's 'luac5.4 -l'
** does, so the listing can be checked line for line against luac.
** Functions are named by their place in the listing (F0 is the main one)
** where luac prints addresses. The chunk may be anything a user passed
** in: every index an instruction holds is checked before it is followed.
*/

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "dis_chunk.h"
#include "lglib.h"


/* Metamethod events, in Lua 5.4.4's order (MMBIN's C operand). */
static const char *const eventnames[] = {
  "__index", "__newindex", "__gc", "__mode", "__len", "__eq", "__add",
  "__sub", "__mul", "__mod", "__pow", "__div", "__idiv", "__band", "__bor",
  "__bxor", "__shl", "__shr", "__unm", "__bnot", "__lt", "__le",
  "__concat", "__call", "__close"
};


/* {====================================================================
** Getting a chunk from the argument
** =====================================================================*/

/*
** Replace argument 1 by a binary chunk: a binary-chunk string as is; any
** other string is source, compiled (not run) as load() would, with
** argument 2 as its chunk name; a Lua function is dumped with its debug
** information. A string is binary when it starts with the signature's
** first byte, as Lua's own load decides, so a damaged signature ("\27Lux")
** is a bad binary chunk, not source that mode "t" refuses.
*/
static void tochunk (lua_State *L) {
  int t = lua_type(L, 1);
  if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (len >= 1 && s[0] == LUA_SIGNATURE[0])
      return;  /* a binary chunk, good or bad: lg_dis_undump tells */
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
    addf(b, "%-9s\t", lg_dis_opinfo[OPCODE(getcode(f, pc))].name);
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
  f = lg_dis_undump(L, 1);
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
  const OpInfo *o = &lg_dis_opinfo[op];
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
  f = lg_dis_undump(L, 1);
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
    lua_pushstring(L, lg_dis_opinfo[op].name);
    lua_rawseti(L, -2, op + 1);
  }
  lua_setfield(L, -2, "opname");
  return 1;
}

/* }==================================================================== */
