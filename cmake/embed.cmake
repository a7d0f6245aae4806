# cmake/embed.cmake -- writes the Lua source IN as a C string array NAME in OUT.
# Usage: cmake -DIN=file.lua -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR size "${len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
get_filename_component(base ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${base} by cmake/embed.cmake. */\n"
  "#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${bytes}0};\n"
  "const size_t ${NAME}_size = ${size};\n")
