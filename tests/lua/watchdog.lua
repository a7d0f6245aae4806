-- tests/lua/watchdog.lua -- dumps that come from outside Lua: Ctrl-\
-- (SIGQUIT) dumps and the program goes on; dump_tracebacks_later and
-- luagil --dump-after (with and without the GIL to be had); luagil
-- --faulthandler on a fatal signal.
print("testing Ctrl-\\, dump_tracebacks_later, --dump-after, --faulthandler")

local testlib = require "testlib"
local threading = require "threading"
local _thread = require "_thread"
local time = require "time"

local checkerror = testlib.checkerror

-- Poll until _thread._dumps() reaches 'n' (the watchdog's dumps are
-- written by its own thread); fails after 30 s.
local function waitdumps (n)
  local deadline = time.monotonic() + 30
  while _thread._dumps() < n do
    assert(time.monotonic() < deadline, "no dump")
    time.sleep(0.005)
  end
end

local function has (out, ...)
  for _, s in ipairs{...} do
    assert(out:find(s, 1, true), "no '" .. s .. "' in:\n" .. out)
  end
end

-- Ctrl-\ dumps every thread to stderr, and the program goes on.
do
  local status, out = testlib.run([[
local threading = require "threading"
local _thread = require "_thread"
local time = require "time"
local e = threading.Event()
local t = threading.Thread{name = "waiter", target = function () e:wait() end}
t:start()
-- (not os.execute: system() ignores SIGQUIT while it waits)
assert(io.popen("kill -QUIT " .. os.getpid())):close()
local deadline = time.monotonic() + 30
while _thread._dumps() == 0 and time.monotonic() < deadline do
  time.sleep(0.005)
end
e:set()
t:join()
print("went on")
]])
  assert(status == 0, out)
  has(out, "luagil: Ctrl-\\ (SIGQUIT)\n2 threads, most recent call first:\n",
      "\nMainThread (ident ", "\nwaiter (ident ", "  blocked in Event.wait on "
      .. "Event@", "stack traceback:\n\t[C]: in method 'wait'", "went on\n")
end

-- --dump-after: a program still running then is dumped and exits 1.
do
  local status, out = testlib.run([[
local e = require("threading").Event()
e:wait(60)
print("not reached")
]], {args = "--dump-after=0.2"})
  assert(status == 1, out)
  has(out, "luagil: still running after 0.2 s\n1 thread, most recent call "
      .. "first:\n", "blocked in Event.wait on Event@", "[C]: in method "
      .. "'wait'")
  assert(not out:find("not reached", 1, true), out)
  -- a program that ends in time is not dumped
  status, out = testlib.run("print('quick')", {args = "--dump-after=30"})
  assert(status == 0 and out == "quick\n", out)
end

-- The GIL is held by a C function: the thread list without tracebacks,
-- and why.
do
  local status, out = testlib.run([[
string.find(("a"):rep(30), ("a?"):rep(30) .. ("a"):rep(30))
]], {args = "--dump-after=0.1"})
  assert(status == 1, out)
  has(out, "luagil: still running after 0.1 s\nluagil: the GIL was not free "
      .. "within a second", "MainThread holds the GIL (for ",
      "1 thread, without tracebacks:\n", "\nMainThread (ident ",
      "  holding the GIL for ")
end

-- dump_tracebacks_later into a file, repeated, then cancelled.
do
  local f = io.tmpfile()
  local n = _thread._dumps()
  threading.dump_tracebacks_later(0.02, {file = f, rep = true})
  waitdumps(n + 2)
  threading.cancel_dump_tracebacks_later()
  local done = _thread._dumps()
  f:seek("set")
  local s = f:read("a")
  local _, count = s:gsub("luagil: still running after 0.02 s\n", "")
  assert(count >= 2, s)
  assert(s:find("MainThread (ident ", 1, true), s)
  -- cancelled: no more
  time.sleep(0.1)
  assert(_thread._dumps() == done)
  -- a later one replaces the last; cancelled before it fires
  threading.dump_tracebacks_later(0.05, {file = f})
  threading.dump_tracebacks_later(30)
  threading.cancel_dump_tracebacks_later()
  time.sleep(0.1)
  assert(_thread._dumps() == done)
  f:close()
end

-- Misuse.
do
  checkerror("bad argument #1 to 'dump_tracebacks_later' (number expected, "
             .. "got string)", threading.dump_tracebacks_later, "1")
  checkerror("timeout must be greater than 0",
             threading.dump_tracebacks_later, 0)
  checkerror("timeout must be greater than 0",
             threading.dump_tracebacks_later, -1)
  checkerror("bad argument #1 to 'dump_tracebacks_later' (timeout value "
             .. "is too large)", threading.dump_tracebacks_later, 1 / 0)
  checkerror("bad argument #2 to 'dump_tracebacks_later' (table expected, "
             .. "got number)", threading.dump_tracebacks_later, 1, 2)
  checkerror("file expected", threading.dump_tracebacks_later, 1,
             {file = 3})
  local f = io.tmpfile()
  f:close()
  checkerror("closed file", threading.dump_tracebacks_later, 1,
             {file = f})
end

-- --faulthandler: a fatal signal writes where the thread was, and the
-- process still dies of it.
do
  local code = [[
os.execute("kill -ABRT " .. os.getpid() .. "; sleep 5")
print("not reached")
]]
  local status, out = testlib.run(code, {args = "--faulthandler"})
  assert(status == 134, status .. ": " .. out)
  has(out, "luagil: fatal error: Aborted (SIGABRT)\nin thread MainThread")
  status, out = testlib.run(code)
  assert(status == 134 and not out:find("fatal error", 1, true), out)
end

print("OK")
