-- luagil-scm-1.rockspec -- luagil as a LuaRocks module of stock Lua 5.4:
-- `luarocks --lua-version 5.4 make` in a checkout builds and installs
-- luagil.so, which carries the whole interpreter (CMakeLists.txt's
-- LUAGIL_ROCK), so `lua5.4 -l luagil` and require "luagil" work with
-- nothing else to install.
-- See LICENSE for copyright and licence (MIT).
rockspec_format = "3.0"
package = "luagil"
version = "scm-1"

-- `luarocks make` builds the checkout it runs in and never reads
-- source.url, which the format requires: luagil has no published
-- repository to name yet, so the url says "this checkout", and
-- `luarocks build` (which clones the url) is not supported.
source = {
  url = "git+file://.",
}

description = {
  summary = "Lua 5.4 with OS threads, a Python-style threading "
            .. "library and a GIL",
  detailed = [[
luagil adds real OS threads to stock Lua 5.4 with a global interpreter
lock that is released periodically and around every blocking call, as
CPython's is, and Python's threading library in Lua's idioms: threading
(Thread, Lock, RLock, Condition, Semaphore, Event, Barrier, Timer, local),
queue, concurrent.futures, time, a GIL-aware io and os, socket, logging,
multiprocessing, interpreters, dis and gil. Loaded into lua5.4 with
`lua5.4 -l luagil`, it registers these modules under their own names and
as luagil.<name> (socket and logging only as luagil.socket and
luagil.logging, so that LuaSocket and lualogging stay reachable).
]],
  license = "MIT",
  labels = {"threads", "concurrency", "gil"},
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "RelWithDebInfo",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LUAGIL_ROCK = "ON",
    LUAGIL_LUA_CMOD_DIR = "$(LIBDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
}
