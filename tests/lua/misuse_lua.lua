print("testing misuse of the library layers written in Lua")
-- issue 19: cases 8, 9, 15, 18, 21, 23 and 25 for threading.lua,
-- concurrent_futures.lua and logging.lua
local threading = require "threading"
local _thread = require "_thread"
local testlib = require "testlib"
local checkerror = testlib.checkerror

local LUAGIL = assert(os.getenv("LUAGIL"), "run me from ctest")
local TMP = os.tmpname()

-- Run 'code' in a child luagil (stdin from /dev/null, 20 s at most);
-- returns its exit status and what it wrote to stdout and stderr.
local function child (code)
  local f = assert(io.open(TMP .. ".lua", "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(("cd %q && timeout 20 %q %q < /dev/null "
                             .. "2> %q"):format(
    os.getenv("PWD") or ".", LUAGIL, TMP .. ".lua", TMP .. ".err")))
  local out = p:read("a")
  local _, _, status = p:close()
  local e = assert(io.open(TMP .. ".err"))
  local err = e:read("a")
  e:close()
  return status, out, err
end

-- {======================================================
-- 25: a method called with a wrong self names itself and its class
-- =======================================================
do
  local function wrongself (fname, cname, got, f, ...)
    checkerror(("bad argument #1 to '%s' (%s expected, got %s)")
               :format(fname, cname, got), f, ...)
  end
  local t = threading.Thread{}
  local b = threading.Barrier(2)
  local tm = threading.Timer(1, print)
  local l = threading["local"]()
  local mt = getmetatable(t)
  wrongself("start", "threading.Thread", "nil", t.start)
  wrongself("join", "threading.Thread", "number", t.join, 5)
  wrongself("is_alive", "threading.Thread", "table", t.is_alive, {})
  wrongself("value", "threading.Thread", "threading.Barrier", t.value, b)
  wrongself("__tostring", "threading.Thread", "nil", mt.__tostring)
  wrongself("__index", "threading.Thread", "nil", mt.__index, nil, "name")
  wrongself("__index", "threading.Thread", "table", mt.__index, {}, "name")
  wrongself("__newindex", "threading.Thread", "nil", mt.__newindex, nil,
            "x", 1)
  wrongself("extend", "threading.Thread class", "nil", threading.Thread.extend)
  wrongself("__tostring", "threading.Barrier", "nil", b.__tostring)
  wrongself("wait", "threading.Barrier", "nil", b.wait)
  wrongself("wait", "threading.Barrier", "threading.Thread", b.wait, t)
  wrongself("reset", "threading.Barrier", "string", b.reset, "x")
  wrongself("abort", "threading.Barrier", "nil", b.abort)
  wrongself("cancel", "threading.Timer", "nil", tm.cancel)
  wrongself("cancel", "threading.Timer", "threading.Thread", tm.cancel, t)
  wrongself("join", "threading.Thread", "nil",
            getmetatable(threading.current_thread()).join)
  local lmt = getmetatable(l)
  wrongself("__index", "threading.local", "nil", lmt.__index, nil, "x")
  wrongself("__newindex", "threading.local", "table", lmt.__newindex, {},
            "x", 1)
  wrongself("__pairs", "threading.local", "nil", lmt.__pairs)
  wrongself("__tostring", "threading.local", "nil", lmt.__tostring)
  -- the error points at the caller, as Lua's own do
  local ok, err = pcall(function () b.wait(nil) end)
  assert(not ok and err:find("misuse_lua.lua:%d+: bad argument"), err)
  -- right selves still work, subclasses too
  local W = threading.Thread:extend()
  function W:new (n) W.super.new(self, {name = "w" .. n}); self.n = n end
  function W:run () return self.n * 2 end
  local w = W(21)
  w:start()
  assert(w:value() == 42 and w.name == "w21" and not w:is_alive())
  assert(tostring(b) == "<threading.Barrier: waiters=0/2>")
  l.x = 1
  assert(l.x == 1 and tostring(l):find("threading.local"))
end
-- }======================================================

-- {======================================================
-- 18: negative timeouts poll; NaN and too large ones are errors
-- =======================================================
do
  -- Barrier.wait(-1) polls: it breaks the barrier at once (Python)
  for _, to in ipairs{-1, -0.5, -math.huge} do
    local b = threading.Barrier(2)
    checkerror("threading.BrokenBarrierError", b.wait, b, to)
    assert(b.broken)
    local b2 = threading.Barrier(2, nil, to)  -- the default timeout
    checkerror("threading.BrokenBarrierError", b2.wait, b2)
  end
  local b = threading.Barrier(1)
  assert(b:wait(-1) == 0)
  checkerror("bad argument #1 to 'wait' (Invalid value NaN (not a number))",
             b.wait, b, 0/0)
  checkerror("bad argument #1 to 'wait' (timeout value is too large)",
             b.wait, b, 1e300)
  checkerror("bad argument #3 to 'Barrier' (Invalid value NaN",
             threading.Barrier, 2, nil, 0/0)
  checkerror("bad argument #3 to 'Barrier' (timeout value is too large)",
             threading.Barrier, 2, nil, math.huge)
  -- Thread.join: negative polls
  local ev = threading.Event()
  local t = testlib.go(function () ev:wait() end)
  t:join(-1)
  t:join(-0.5)
  assert(t:is_alive())
  checkerror("bad argument #1 to 'join' (Invalid value NaN", t.join, t, 0/0)
  checkerror("bad argument #1 to 'join' (timeout value is too large)",
             t.join, t, 1e300)
  ev:set()
  t:join()
  -- Timer(-0.5, f) and Timer(-1, f) fire at once (Python)
  for _, interval in ipairs{-0.5, -1, 0} do
    local fired = threading.Event()
    local tm = threading.Timer(interval, function (x) fired:set() end, {1})
    tm:start()
    tm:join()
    assert(fired:is_set(), interval)
  end
  checkerror("bad argument #1 to 'Timer' (Invalid value NaN",
             threading.Timer, 0/0, print)
  checkerror("bad argument #1 to 'Timer' (timeout value is too large)",
             threading.Timer, math.huge, print)
  checkerror("bad argument #1 to 'Timer' (number expected, got nil)",
             threading.Timer, nil, print)
end
-- }======================================================

-- {======================================================
-- 21: Thread:value() re-raises the original error object, even one
-- whose __tostring raises
-- =======================================================
do
  local hook = threading.excepthook
  threading.excepthook = function () end
  local e = setmetatable({}, {__tostring = function () error("no text") end})
  local t = testlib.go(function () error(e) end)
  local ok, err = pcall(t.value, t)
  assert(not ok and rawequal(err, e))
  local t2 = testlib.go(function () error(42) end)
  ok, err = pcall(t2.value, t2)
  assert(not ok and err == 42)
  threading.excepthook = hook
end
-- }======================================================

-- {======================================================
-- 15: an excepthook that raises: both errors are printed and the thread
-- ends (it leaves threading.enumerate())
-- =======================================================
do
  local status, out, err = child [[
local threading = require "threading"
local bad = setmetatable({}, {__tostring = function () error("ts") end})
local hooks = {
  function () error("hook failed") end,
  function () error(bad) end,
  function (args) error(args.exc_value) end,
}
for i, hook in ipairs(hooks) do
  threading.excepthook = hook
  local t = threading.Thread{name = "T" .. i, target = function ()
    error(i == 3 and bad or "original " .. i)
  end}
  t:start()
  t:join()
  assert(not t:is_alive())
  assert(#threading.enumerate() == 1, "thread still registered")
end
print("done")
]]
  assert(status == 0 and out == "done\n", err)
  local function has (s) assert(err:find(s, 1, true), s .. " in:\n" .. err) end
  has("Exception in threading.excepthook:\n")
  has("hook failed")
  has("Exception in thread T1:\n")
  has("original 1")
  has("Exception in thread T2:\n")
  has("original 2")
  has("Exception in thread T3:\n(error object is a table value)")
  assert(select(2, err:gsub("Exception in threading.excepthook:", "")) == 3)
end
-- }======================================================

os.remove(TMP)
os.remove(TMP .. ".lua")
os.remove(TMP .. ".err")
print("OK")
