#!/bin/sh
# tests/cli/lua_align_test.sh LUAGIL -- the program's copy of Lua's code
# starts at a 64-byte boundary, right after interp/lua_align.c's pad (that
# file says why), with none of luagil's own code among Lua's.
# See LICENSE for copyright and licence (MIT).
set -eu
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
nm -n "$1" | awk '$2 ~ /^[tTW]$/ { print $1, $3 }' > "$syms"
addr () { awk -v s="$1" '$2 == s { print $1; exit }' "$syms"; }
pad=$(addr lg_lua_align)
exec=$(addr luaV_execute)
[ -n "$pad" ] && [ -n "$exec" ] ||
  { echo "no lg_lua_align or luaV_execute"; exit 1; }
[ $((0x$pad % 64)) -eq 0 ] ||
  { echo "lg_lua_align at $pad: not 64-byte aligned"; exit 1; }
# nm prints addresses at one width: they compare as strings (the "" makes
# awk do so; as a number 0000000000182e00 would read as 182)
set -- $(awk -v p="$pad" '($1 "") > (p "") { print $1, $2; exit }' "$syms")
[ $((0x$1 - 0x$pad)) -eq 64 ] ||
  { echo "Lua does not start right after the pad: $2 at $1"; exit 1; }
ours=$(awk -v p="$pad" -v e="$exec" '($1 "") > (p "") && ($1 "") <= (e "") &&
  $2 ~ /^(lg_|luagil_)/' "$syms")
[ -z "$ours" ] || { echo "luagil's code among Lua's: $ours"; exit 1; }
echo "Lua starts at 0x$1 ($2), 64-byte aligned"
