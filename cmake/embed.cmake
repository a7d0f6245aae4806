# cmake/embed.cmake -- turns the Lua module IN into the C file OUT: the
# source as an array, and luaopen_NAME, which runs it (stdlib/lglib.c).
# Usage: cmake -DIN=file.lua -DOUT=file.c -DNAME=name -P embed.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR size "${len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
get_filename_component(base ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${base} by cmake/embed.cmake. */\n"
  "#include \"lglib.h\"\n\n"
  "static const char source[] = {\n${bytes}0};\n\n"
  "int luaopen_${NAME} (lua_State *L) {\n"
  "  return lg_openchunk(L, source, ${size}, \"=${base}\");\n"
  "}\n")
