-- tests/lua/lockorder.lua -- lock-order checking (threading.setchecklocks,
-- luagil --check-locks): a pair of lock classes (creation sites) taken in
-- both orders is reported once, with both tracebacks, even when the run
-- did not deadlock; threading.lockorder_violations() returns the reports.
print("testing lock-order checking")

local testlib = require "testlib"
local threading = require "threading"

local checkerror = testlib.checkerror

-- The violations so far, and how many there are.
local function violations ()
  return threading.lockorder_violations()
end

local function count ()
  return #violations()
end

-- 's' with this file's name as "lockorder.lua", whatever path CTest gave.
local function norm (s)
  return (s:gsub("[^%s@<(]*lockorder%.lua", "lockorder.lua"))
end


-- Off by default: no report, nothing recorded.
do
  local a, b = threading.Lock(), threading.Lock()
  a:acquire(); b:acquire(); b:release(); a:release()
  b:acquire(); a:acquire(); a:release(); b:release()
  assert(count() == 0)
  assert(threading.setchecklocks(true) == false)
  assert(threading.setchecklocks(true) == true)
  -- what was taken while off was not learnt
  a:acquire(); b:acquire(); b:release(); a:release()
  assert(count() == 0)
end


-- Two locks taken in both orders by one thread: one report, the classes
-- named by their creation lines, both tracebacks, the message in full.
do
  local a = threading.Lock(); local la = debug.getinfo(1, "l").currentline
  local b = threading.Lock(); local lb = la + 1
  local function ab () a:acquire(); b:acquire(); b:release(); a:release() end
  local function ba () b:acquire(); a:acquire(); a:release(); b:release() end
  ab()
  assert(count() == 0)
  ba()
  local v = violations()
  assert(#v == 1, #v)
  v = v[1]
  assert(norm(v.taken) == "Lock@lockorder.lua:" .. la, v.taken)
  assert(norm(v.held) == "Lock@lockorder.lua:" .. lb, v.held)
  assert(v.here:find("^stack traceback:\n\t%[C%]: in method 'acquire'\n"
                     .. "\t[^\n]*lockorder%.lua:%d+: in local 'ba'"), v.here)
  assert(v.there:find("^stack traceback:\n\t%[C%]: in method 'acquire'\n"
                      .. "\t[^\n]*lockorder%.lua:%d+: in local 'ab'"),
         v.there)
  assert(v.message == ("potential deadlock: %s taken while holding %s "
                       .. "here: %s; the opposite order was taken there: "
                       .. "%s\n"):format(v.taken, v.held, v.here, v.there))
  -- once per pair, whatever comes after
  ba(); ab(); ba()
  assert(count() == 1)
  -- the result is a copy
  violations()[1] = nil
  assert(count() == 1)
end


-- Across threads, and with no deadlock in the run: a thread takes A then
-- B; after it ended the main thread takes B then A. Other locks of the
-- same classes (made by the same lines) count as the same.
do
  local n = count()
  local line = debug.getinfo(1, "l").currentline + 2
  local function pair ()
    return threading.Lock(),  -- 'line'
           threading.Lock()
  end
  local a, b = pair()
  local t = testlib.go(function ()
    a:acquire(); b:acquire(); b:release(); a:release()
  end)
  t:join()
  local c, d = pair()  -- the same two classes
  d:acquire(); c:acquire(); c:release(); d:release()
  assert(count() == n + 1)
  local v = violations()[n + 1]
  assert(v.taken:find(":" .. line .. "$"), v.taken)
  assert(v.held:find(":" .. line + 1 .. "$"), v.held)
  assert(v.there:find("in function <", 1, true), v.there)
end


-- Not a violation: re-entering an RLock; locks of one class taken
-- together (an array of locks); the same order every time; a Semaphore
-- (no owner: not checked).
do
  local n = count()
  local r = threading.RLock()
  local l = threading.Lock()
  r:acquire(); l:acquire(); r:acquire(); r:release(); l:release()
  r:release()
  local locks = {}
  for i = 1, 3 do locks[i] = threading.Lock() end
  locks[1]:acquire(); locks[2]:acquire(); locks[2]:release()
  locks[1]:release()
  locks[2]:acquire(); locks[1]:acquire(); locks[1]:release()
  locks[2]:release()
  for _ = 1, 3 do
    r:acquire(); l:acquire(); l:release(); r:release()
  end
  local s = threading.Semaphore(1)
  s:acquire(); l:acquire(); l:release(); s:release()
  l:acquire(); s:acquire(); s:release(); l:release()
  assert(count() == n)
end


-- RLock, with(), guard() and Condition's acquire all count.
do
  local n = count()
  local r, l = threading.RLock(), threading.Lock()
  l:with(function () r:with(function () end) end)
  do
    local _ <close> = r:guard()
    local _ <close> = l:guard()
  end
  assert(count() == n + 1)
  local c = threading.Condition(threading.Lock())
  local m = threading.Lock()
  m:acquire(); c:acquire(); c:release(); m:release()
  c:acquire(); m:acquire(); m:release(); c:release()
  assert(count() == n + 2)
  assert(violations()[n + 2].there:find("[C]: in method 'acquire'", 1,
                                        true))
end


-- A Condition's wait() gives its lock back and takes it again: taken
-- again while another lock is held, that is a new order.
do
  local n = count()
  local c = threading.Condition(threading.Lock())
  local m = threading.Lock()
  c:acquire(); m:acquire(); m:release(); c:release()  -- c, then m
  assert(count() == n)
  c:acquire()
  m:acquire()
  assert(c:wait(0) == false)  -- releases c, retakes it holding m
  m:release()
  c:release()
  assert(count() == n + 1)
  local v = violations()[n + 1]
  assert(v.here:find("in method 'wait'", 1, true), v.here)
end


-- A Lock released by another thread than its taker leaves its taker's
-- held locks; a thread that ends holding a lock forgets it; a lock
-- collected while held leaves no trace. None of them is a false report.
do
  local n = count()
  local a, b = threading.Lock(), threading.Lock()
  local t = testlib.go(function () a:acquire() end)
  t:join()           -- ended holding a
  a:release()        -- released by the main thread
  b:acquire(); b:release()
  local took = threading.Event()
  local go = threading.Event()
  t = testlib.go(function ()
    b:acquire(); took:set(); go:wait()
    a:acquire(); a:release()  -- b is no longer held by this thread
  end)
  took:wait()
  b:release()        -- the main thread releases the thread's b
  go:set()
  t:join()
  a:acquire(); b:acquire(); b:release(); a:release()  -- no b -> a edge
  assert(count() == n)
  for _ = 1, 3 do threading.Lock():acquire() end
  collectgarbage(); collectgarbage()
  a:acquire(); b:acquire(); b:release(); a:release()
  assert(count() == n)
end


-- Deeper than the checker follows (16 locks): no error, and the order of
-- the first ones is still checked.
do
  local n = count()
  local first = threading.Lock()
  local second = threading.Lock()
  local locks = {}
  first:acquire(); second:acquire()
  for i = 1, 20 do
    locks[i] = threading.Lock()
    locks[i]:acquire()
  end
  for i = 20, 1, -1 do locks[i]:release() end
  second:release(); first:release()
  second:acquire(); first:acquire(); first:release(); second:release()
  assert(count() == n + 1)
end


-- Misuse.
do
  checkerror("bad argument #1 to 'setchecklocks' (boolean expected, got "
             .. "no value)", threading.setchecklocks)
  checkerror("bad argument #1 to 'setchecklocks' (boolean expected, got "
             .. "string)", threading.setchecklocks, "yes")
  assert(threading.setchecklocks(false) == true)
  local a, b = threading.Lock(), threading.Lock()
  a:acquire(); b:acquire(); b:release(); a:release()
  b:acquire(); a:acquire(); a:release(); b:release()
  assert(threading.setchecklocks(false) == false)
end


-- luagil --check-locks: the report goes to stderr once, the program goes
-- on and ends with status 0; without the option nothing is written.
do
  local code = [[
local threading = require "threading"
local a = threading.Lock()
local b = threading.Lock()
local t = threading.Thread{target = function ()
  a:acquire(); b:acquire(); b:release(); a:release()
end}
t:start(); t:join()
for _ = 1, 2 do b:acquire(); a:acquire(); a:release(); b:release() end
print("done", #threading.lockorder_violations())
]]
  local status, out = testlib.run(code, {args = "--check-locks"})
  out = out:gsub("/tmp/lua_[%w_]+", "F")
  assert(status == 0, out)
  local expect = "potential deadlock: Lock@F:2 taken while holding "
    .. "Lock@F:3 here: stack traceback:\n\t[C]: in method 'acquire'\n"
    .. "\tF:8: in main chunk\n\t[C]: in ?; the opposite order was taken "
    .. "there: stack traceback:\n\t[C]: in method 'acquire'\n\tF:5: in "
    .. "function <F:4>\n"
  assert(out:find(expect, 1, true), out)
  assert(select(2, out:gsub("potential deadlock", "")) == 1, out)
  assert(out:find("done\t1\n", 1, true), out)
  status, out = testlib.run(code)
  assert(status == 0 and out == "done\t0\n", out)
end

print("OK")
