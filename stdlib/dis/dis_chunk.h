/*
** stdlib/dis/dis_chunk.h -- Lua 5.4.4's bytecode and binary chunks, as the
** 'dis' module reads them (stdlib/dis/dis_chunk.c reads, stdlib/dis/dis.c
** lists).
** See LICENSE for copyright and licence (MIT).
*/

#ifndef dis_chunk_h
#define dis_chunk_h

#include <stdint.h>
#include <string.h>

#include <lua.h>

#include "base.h"


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

enum Format { iABC, iABx, iAsBx, iAx, isJ };

typedef struct OpInfo {
  const char *name;
  unsigned char format;
  unsigned char sb, sc;  /* B or C is read as a signed immediate */
} OpInfo;

/* Indexed by opcode. */
LG_FUNC const OpInfo lg_dis_opinfo[];
#define NUM_OPCODES 83

/* Opcodes by number. */
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

/* Constant type tags in a chunk: type | variant << 4. */
#define TAG_NIL     0x00
#define TAG_FALSE   0x01
#define TAG_TRUE    0x11
#define TAG_INT     0x03
#define TAG_FLOAT   0x13
#define TAG_SHRSTR  0x04
#define TAG_LNGSTR  0x14


/*
** A decoded function. Arrays belong to the anchor table lg_dis_undump
** leaves on the stack; strings and code point into the chunk string, which
** the caller keeps on the stack too.
*/
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


static inline uint32_t getcode (const Proto *f, int pc) {
  uint32_t i;
  memcpy(&i, f->code + (size_t)pc * sizeof i, sizeof i);  /* unaligned */
  return i;
}


/*
** Decode the binary chunk at stack index 'chunk' (a string), checking
** everything; raises "bad binary chunk: ..." on bad input. Pushes the
** anchor table, which keeps the result alive until the caller pops it.
*/
LG_FUNC Proto *lg_dis_undump (lua_State *L, int chunk);

#endif
