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
  -- the internals shared with the other Lua modules check theirs too
  checkerror("bad argument #1 to '_checkmethods' (class expected, got table)",
             threading._checkmethods, threading, "x")
  checkerror("bad argument #1 to '_register_atexit' (function expected, "
             .. "got nil)", threading._register_atexit)
  assert(threading.current_thread().name == "MainThread")
  local ok, err = pcall(function () local r = t:value() return r end)
  assert(not ok and err:find("^[^:]*misuse_lua.lua:%d+: cannot join thread "
                             .. "before it is started"), err)
  -- the error points at the caller, as Lua's own do
  ok, err = pcall(function () b.wait(nil) end)
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

-- {======================================================
-- 8: concurrent.futures' lock is released on every error path: a wrong
-- self, and an interrupt landing anywhere in a Future method
-- =======================================================
do
  local status, out, err = child [[
local futures = require "concurrent.futures"
local f = futures.Future()
local ex = futures.ThreadPoolExecutor(2)
local calls = {}
for _, m in ipairs{"set_result", "set_exception", "cancel", "result",
    "exception", "add_done_callback", "set_running_or_notify_cancel",
    "done", "running", "cancelled", "__tostring"} do
  calls[#calls + 1] = {m, "concurrent.futures.Future", "nil", pcall(f[m])}
  calls[#calls + 1] = {m, "concurrent.futures.Future", "table",
                       pcall(f[m], {})}
end
for _, m in ipairs{"submit", "map", "shutdown", "__close", "__gc",
    "__tostring"} do
  calls[#calls + 1] = {m, "concurrent.futures.ThreadPoolExecutor",
                       "concurrent.futures.Future", pcall(ex[m], f)}
end
-- before the fix, these hung: the lock was still held
f:set_result(7)
assert(f:result() == 7)
assert(ex:submit(math.abs, -3):result() == 3)
ex:shutdown()
for _, c in ipairs(calls) do
  local m, cname, got, ok, e = table.unpack(c)
  local msg = ("bad argument #1 to '%s' (%s expected, got %s)")
              :format(m, cname, got)
  assert(not ok and e:find(msg, 1, true), e)
end
print("done")
]]
  assert(status == 0 and out == "done\n", err)

  -- One interrupt per round lands at a random moment of a loop of Future
  -- operations in the main thread, while a pool's worker uses the same
  -- lock; each round then checks that the lock is free. A leaked lock
  -- hangs the child.
  status, out, err = child [[
local futures = require "concurrent.futures"
local threading = require "threading"
local _thread = require "_thread"
threading.setswitchinterval(1e-6)
math.randomseed(19)
local ROUNDS = 400
local go, quit = threading.Event(), false
local interrupter = threading.Thread{target = function ()
  while true do
    go:wait()
    go:clear()
    if quit then return end
    local x = 0
    for _ = 1, math.random(0, 3000) do x = x + 1 end
    _thread.interrupt_main()
  end
end}
interrupter:start()
local ex = futures.ThreadPoolExecutor(1)
local Future = futures.Future
local function ops (i)
  local f = Future()
  f:add_done_callback(type)
  f:set_result(i)
  assert(f:result(0) == i and f:done() and f:exception() == nil)
  local g = Future()
  g:cancel()
  assert(g:cancelled())
  local h = Future()
  h:set_running_or_notify_cancel()
  h:set_exception("e")
  assert(h:exception(-1) == "e")
  local s = ex:submit(math.abs, -i)
  futures.wait({f, g, h, s}, 0)
  for _ in futures.as_completed({f, g, h}) do end
  assert(s:result() == i)
end
local function round ()
  go:set()
  local i = 0
  while true do
    i = i + 1
    ops(i)
  end
end
for r = 1, ROUNDS do
  local ok, e = pcall(round)
  assert(not ok and tostring(e):find("interrupted!"), e)
  local z = Future()
  z:set_result(r)
  assert(z:result() == r)
  assert(ex:submit(math.abs, -r):result() == r)
end
quit = true
go:set()
interrupter:join()
ex:shutdown()
print("done")
]]
  assert(status == 0 and out == "done\n", ("status %s, stderr:\n%s")
                                          :format(status, err))
end
-- }======================================================

-- {======================================================
-- 9: numeric arguments of concurrent.futures
-- =======================================================
do
  local futures = require "concurrent.futures"
  local TPE = futures.ThreadPoolExecutor
  for _, v in ipairs{0/0, math.huge, -math.huge, 2.5, 1e300} do
    checkerror("bad argument #1 to 'ThreadPoolExecutor' (max_workers must "
               .. "be an integer, got float)", TPE, v)
    checkerror("max_workers must be an integer", TPE, {max_workers = v})
  end
  checkerror("max_workers must be greater than 0", TPE, 0)
  checkerror("max_workers must be greater than 0", TPE, math.mininteger)
  checkerror("bad argument #1 to 'ThreadPoolExecutor' (initargs: table "
             .. "expected, got number)", TPE, {initargs = 5})
  -- an initializer whose arguments cannot be unpacked breaks the pool,
  -- as a failing initializer does, instead of killing its worker
  do
    local logging = require "logging"
    local hs = logging.getLogger("concurrent.futures").handlers
    hs[1] = {handle = function () end}  -- quiet
    local bp <close> = TPE{max_workers = 1, initializer = print,
                           initargs = {n = 10000000}}
    local g = bp:submit(print)
    checkerror("concurrent.futures.BrokenThreadPool", g.result, g)
    hs[1] = nil
  end
  local ex <close> = TPE(2)
  local f = ex:submit(function () return 1 end)
  local pending = futures.Future()
  for _, bad in ipairs{0/0, math.huge, 1e300} do
    local why = bad ~= bad and "Invalid value NaN (not a number)"
                or "timeout value is too large"
    checkerror(("bad argument #1 to 'result' (%s)"):format(why),
               f.result, f, bad)
    checkerror(("bad argument #1 to 'result' (%s)"):format(why),
               pending.result, pending, bad)
    checkerror(("bad argument #1 to 'exception' (%s)"):format(why),
               pending.exception, pending, bad)
    checkerror(("bad argument #2 to 'wait' (%s)"):format(why),
               futures.wait, {pending}, bad)
    checkerror(("bad argument #2 to 'wait' (%s)"):format(why),
               futures.wait, {pending}, {timeout = bad})
    checkerror(("bad argument #2 to 'as_completed' (%s)"):format(why),
               futures.as_completed, {pending}, bad)
  end
  checkerror("bad argument #1 to 'result' (number expected, got string)",
             pending.result, pending, "1")
  -- negative timeouts poll, as in Python
  assert(f:result() == 1)
  for _, neg in ipairs{-1, -0.5, -math.huge} do
    checkerror("concurrent.futures.TimeoutError", pending.result, pending,
               neg)
    checkerror("concurrent.futures.TimeoutError", pending.exception,
               pending, neg)
    local done, not_done = futures.wait({pending, f}, neg)
    assert(#not_done == 1 and not_done[1] == pending)
    checkerror("concurrent.futures.TimeoutError", function ()
      for _ in futures.as_completed({pending}, neg) do end
    end)
  end
  assert(f:result(-1) == 1)
  -- a list's 'n' is a length: NaN, huge, negative or fractional n is an
  -- error, not a loop that never ends
  for _, n in ipairs{0/0, math.huge, -1, 2.5, math.maxinteger} do
    checkerror("bad argument #2 to 'map' (field 'n' must be an integer "
               .. "from 0 to", ex.map, ex, print, {n = n})
    checkerror("bad argument #3 to 'map' (field 'n'", ex.map, ex, print,
               {1}, {1, n = n})
  end
  checkerror("bad argument #3 to 'map' (table expected, got number)",
             ex.map, ex, print, {1, 2, 3}, 0/0)
  local sum = 0
  for _, v in ex:map(function (x) return x or 0 end, {1, nil, 3, n = 3}) do
    sum = sum + v
  end
  assert(sum == 4)
end
-- }======================================================

-- {======================================================
-- 23: a failing handler never fails the log call: Python's "--- Logging
-- error ---" on stderr, and the program goes on
-- =======================================================
do
  local status, out, err = child [[
local logging = require "logging"
local threading = require "threading"
logging.basicConfig{stream = 42}
logging.warning("to a number")
local f = assert(io.open(os.tmpname(), "w"))
local l = logging.getLogger("closed")
l.propagate = false
l:addHandler(logging.StreamHandler(f))
f:close()
l:warning("to a closed file")
local b = logging.getLogger("badfmt")
b.propagate = false
local h = logging.StreamHandler(io.stdout)
h:setFormatter(logging.Formatter("%(nosuch)s"))
b:addHandler(h)
b:error("bad format")
local e = logging.getLogger("emit")
e.propagate = false
local h2 = logging.StreamHandler(io.stdout)
h2.emit = function () error("emit failed") end
e:addHandler(h2)
e:error("emit")
local a = logging.getLogger("args")
a.propagate = false
a:addHandler(logging.StreamHandler(io.stdout))
a:error("%d items", "x")
local bad = setmetatable({}, {__tostring = function () error("ts") end})
a:error(bad)
a:addHandler(42)  -- not a handler at all
a:error("after %s", "42")
local t = threading.Thread{target = function ()
  e:error("in a thread")
  return "alive"
end}
t:start()
assert(t:value() == "alive")
logging.raiseExceptions = false
e:error("silent")
print("done")
]]
  assert(status == 0, err)
  assert(out == "after 42\ndone\n", out)
  local function has (s, n)
    local k = select(2, err:gsub(s:gsub("%p", "%%%0"), ""))
    assert(k == (n or 1), ("%d times '%s' in:\n%s"):format(k, s, err))
  end
  has("--- Logging error ---", 8)
  has("Call stack:", 8)
  has("attempt to index a number value", 2)
  has("Message: 'to a number'\nArguments: ()")
  has("attempt to use a closed file")
  has("Message: 'to a closed file'")
  has("logging format: no field 'nosuch'")
  has("Message: 'bad format'")
  has("emit failed", 2)
  has("Message: 'emit'")
  has("Message: 'in a thread'")
  has("Message: '%d items'\nArguments: ('x')")
  has("Message: (error object is a table value)")
  has("Message: 'after %s'\nArguments: ('42')")
  has("silent", 0)
end

-- and the logging classes' methods check their self (25)
do
  local logging = require "logging"
  local l = logging.getLogger("self")
  local h = logging.StreamHandler()
  local f = logging.Formatter()
  for _, m in ipairs{"setLevel", "info", "warning", "log", "addHandler",
                     "getEffectiveLevel", "__tostring"} do
    checkerror(("bad argument #1 to '%s' (logging.Logger expected, got nil)")
               :format(m), l[m])
  end
  for _, m in ipairs{"emit", "handle", "setFormatter", "close"} do
    checkerror(("bad argument #1 to '%s' (logging.StreamHandler expected, "
                .. "got logging.Logger)"):format(m), h[m], l)
  end
  checkerror("bad argument #1 to 'format' (logging.Formatter expected, "
             .. "got nil)", f.format)
  checkerror("bad argument #1 to 'Formatter' (string expected, got number)",
             logging.Formatter, 5)
  checkerror("bad argument #1 to 'setFormatter' (logging.Formatter "
             .. "expected, got string)", h.setFormatter, h, "%(message)s")
  checkerror("bad argument #1 to 'addLevelName' (integer expected, got nil)",
             logging.addLevelName)
  checkerror("bad argument #2 to 'addLevelName' (string expected, got nil)",
             logging.addLevelName, 25)
  checkerror("bad argument #1 to 'FileHandler' (string expected, got nil)",
             logging.FileHandler)
  checkerror("bad argument #1 to 'excepthook' (table expected, got nil)",
             threading.excepthook)
  checkerror("bad argument #1 to 'basicConfig' (Unknown level: 'LOUD')",
             logging.basicConfig, {level = "LOUD"})
  -- the configuration lock was released: another thread configures
  local t = testlib.go(function ()
    logging.basicConfig{force = true, stream = io.stdout,
                        format = "%(message)s"}
    return logging.getLogger("other").name
  end)
  assert(t:value() == "other")
end
-- }======================================================

-- {======================================================
-- The strict misuse fuzzer's findings: errors that named another
-- function ('floor', 'open', 'Thread') or were internal errors
-- =======================================================
do
  local logging = require "logging"
  local kind = threading.BrokenBarrierError
  local err = kind("broken")
  local kmt, emt = getmetatable(kind), getmetatable(err)
  for _, v in ipairs{false, 3, "x", {}, print, err} do
    checkerror("bad argument #1 to '__tostring' (luagil.ErrorKind expected",
               kmt.__tostring, v)
  end
  for _, v in ipairs{false, 3, "x", {}, print, kind} do
    checkerror("bad argument #1 to '__tostring' (luagil.Error expected",
               emt.__tostring, v)
  end
  assert(tostring(err) == "threading.BrokenBarrierError: broken")
  assert(tostring(kind) == "threading.BrokenBarrierError")
  local odd = setmetatable({kind = 42}, emt)  -- a kind changed by hand
  assert(tostring(odd) == "luagil.Error")

  local main = threading.main_thread()
  checkerror("bad argument #1 to '_MainThread' (table expected, got number)",
             function () main:new(1) end)
  checkerror("bad argument #1 to 'Thread' (table expected, got number)",
             threading.Thread, 1)

  local f = logging.Formatter()
  checkerror("bad argument #1 to 'formatTime' (record without a number " ..
             "'created' and 'msecs')", function () f:formatTime({}) end)
  checkerror("bad argument #2 to 'formatTime' (string expected, got " ..
             "boolean)", function ()
    f:formatTime({created = 1, msecs = 0}, true)
  end)
  assert(f:formatTime({created = 0, msecs = 5}, "%Y") ==
         os.date("%Y", 0))
  -- os.time wraps Lua's own (virtual time): its errors still name it
  checkerror("bad argument #1 to 'os.time' (table expected, got number)",
             os.time, 5)
  for _, mode in ipairs{"x", "rw", "r++", "ab+x", "", "+r"} do
    checkerror("bad argument #2 to 'FileHandler' (invalid mode)",
               logging.FileHandler, TMP .. ".log", mode)
  end
  local h = logging.FileHandler(TMP .. ".log", "wb")
  h:close()
  os.remove(TMP .. ".log")
end
-- }======================================================

os.remove(TMP)
os.remove(TMP .. ".lua")
os.remove(TMP .. ".err")
print("OK")
