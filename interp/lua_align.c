/*
** interp/lua_align.c -- where the luagil program's copy of Lua's code
** starts. The program links Debian's liblua5.4.a after luagil's own code,
** so without this Lua's interpreter loop and call path would begin wherever
** luagil's code happens to end: every change to luagil would move them
** across cache lines and instruction-fetch windows, and with them Lua's
** speed (fib(30) measured 0.98-1.09x of stock lua5.4 at the four offsets
** modulo 64, with identical instruction counts; scripts/bench/single.lua).
** The link puts this object between libluagil.a and liblua5.4.a
** (CMakeLists.txt), so Lua's code starts at a 64-byte boundary, the offset
** that measured fastest, whatever luagil's size.
** See LICENSE for copyright and licence (MIT).
*/

/* Ends on a 64-byte boundary: Lua's first function (16-byte aligned) comes
   right after. Never called; filled with int3 in case something jumps in. */
__asm__(".text\n"
        ".globl lg_lua_align\n"
        ".p2align 6\n"
        "lg_lua_align:\n"
        ".skip 64, 0xcc\n");
