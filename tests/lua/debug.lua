-- tests/lua/debug.lua -- debug.sethook/gethook kept where stock Lua keeps
-- them (the registry's _HOOKKEY, weak keys, one entry per thread), while
-- luagil's threads keep hooks of their own.
print("testing debug")

local threading = require "threading"

local registry = debug.getregistry()

-- The hook table is the registry's _HOOKKEY, with weak keys, keyed by
-- the thread whose hook it is (Lua's testes/db.lua reads it so).
do
  local function hook () end
  debug.sethook(hook, "l")
  local hooks = registry._HOOKKEY
  assert(type(hooks) == "table")
  assert(getmetatable(hooks).__mode == "k")
  assert(hooks[coroutine.running()] == hook)
  debug.sethook()
  assert(hooks[coroutine.running()] == nil)
  assert(debug.gethook() == nil)
end

-- A coroutine's hook is its own entry; the setter's stays unset.
do
  local co = coroutine.create(function () return 1 end)
  local function hook () end
  debug.sethook(co, hook, "c", 5)
  assert(registry._HOOKKEY[co] == hook)
  assert(registry._HOOKKEY[coroutine.running()] == nil)
  local f, mask, count = debug.gethook(co)
  assert(f == hook and mask == "c" and count == 5)
  assert(debug.gethook() == nil)
  debug.sethook(co)
  assert(registry._HOOKKEY[co] == nil and debug.gethook(co) == nil)
end

-- Each luagil thread has its own hook, under its own key, and it runs
-- there only; the main thread's hook is left alone.
do
  local mainhook = function () end
  debug.sethook(mainhook, "r")
  local ready, go = threading.Event(), threading.Event()
  local seen, key, got = 0, nil, nil
  local t = threading.Thread{target = function ()
    local function hook (ev)
      assert(ev == "line")
      seen = seen + 1
    end
    debug.sethook(hook, "l")
    key = coroutine.running()
    got = registry._HOOKKEY[key] == hook and debug.gethook() == hook
    ready:set()
    go:wait()
    for i = 1, 3 do local _ = i end
    debug.sethook()
  end}
  t:start()
  ready:wait()
  assert(got, "the thread's hook is not under its own key")
  assert(registry._HOOKKEY[coroutine.running()] == mainhook)
  local f, mask = debug.gethook()
  assert(f == mainhook and mask == "r")
  go:set()
  t:join()
  assert(seen >= 3, "the thread's line hook ran " .. seen .. " times")
  assert(registry._HOOKKEY[key] == nil)
  assert(debug.gethook() == mainhook)
  debug.sethook()
end

-- A hook function taken out of _HOOKKEY by hand is no longer called, and
-- nothing breaks (stock Lua's hook finds no function and returns).
do
  local calls = 0
  debug.sethook(function () calls = calls + 1 end, "l")
  registry._HOOKKEY[coroutine.running()] = nil
  for i = 1, 3 do local _ = i end
  debug.sethook()
  assert(calls == 1)  -- the line that took it out, as in stock Lua
end

print("OK")
