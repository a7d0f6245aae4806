-- tests/lua/deadlock.lua -- deadlock detection: when every thread is
-- blocked for good the main thread's wait raises threading.DeadlockError
-- with the wait-for cycle; never a report where the program would have
-- gone on; threading.deadlocks() and the cycle check
-- (threading.setcheckdeadlocks).
print("testing deadlock detection")

local testlib = require "testlib"
local threading = require "threading"
local queue = require "queue"
local time = require "time"

local checkerror = testlib.checkerror

-- 's' with this file's name as "deadlock.lua", whatever path CTest gave.
local function norm (s)
  return (s:gsub("[^%s@<(]*deadlock%.lua", "deadlock.lua"))
end

-- 'name' as a pattern that matches it (thread names have a "-").
local function pat (name)
  return (name:gsub("%p", "%%%0"))
end

-- run(code) -> status, output of 'code' in a child luagil; the script's
-- own name in the output is replaced by "F".
local function run (code, args)
  local status, out = testlib.run(code, {args = args})
  out = out:gsub("/tmp/lua_[%w_]+", "F")
  return status, out
end

-- The child reported a deadlock of every thread with these cycles (plain
-- text), and exited with status 1.
local function reported (code, ...)
  local status, out = run(code)
  assert(status == 1, "status " .. tostring(status) .. ":\n" .. out)
  assert(out:find("threading.DeadlockError: deadlock: every thread is "
                  .. "blocked\n", 1, true), out)
  for _, text in ipairs{...} do
    assert(out:find(text, 1, true), "no '" .. text .. "' in:\n" .. out)
  end
  return out
end

-- One thread alone: a Lock acquired twice (CPython hangs for ever).
do
  local out = reported([[
local threading = require "threading"
local l = threading.Lock()
l:acquire()
l:acquire()
]], "wait-for cycle: MainThread waits for Lock@F:2 held by MainThread\n",
    "MainThread (ident ", "blocked in Lock.acquire on Lock@F:2 held by "
    .. "MainThread", "holds Lock@F:2", "[C]: in method 'acquire'",
    "F:4: in main chunk")
  assert(not out:find("Thread-", 1, true), out)
end

-- ABBA: two threads take two locks in opposite orders.
do
  reported([[
local threading = require "threading"
local a = threading.Lock()
local b = threading.Lock()
local ea, eb = threading.Event(), threading.Event()
local t1 = threading.Thread{target = function ()
  a:acquire(); ea:set(); eb:wait(); b:acquire()
end}
local t2 = threading.Thread{target = function ()
  b:acquire(); eb:set(); ea:wait(); a:acquire()
end}
t1:start(); t2:start()
t1:join()
]], "wait-for cycle: MainThread joins Thread-1; Thread-1 waits for "
    .. "Lock@F:3 held by Thread-2; Thread-2 waits for Lock@F:2 held by "
    .. "Thread-1\n",
    "Thread-1 (ident ", "Thread-2 (ident ", "holds Lock@F:2",
    "holds Lock@F:3", "F:6: in function <F:5>", "F:9: in function <F:8>")
end

-- A thread joining itself through another.
do
  reported([[
local threading = require "threading"
local ts = {}
local ready = threading.Event()
ts[1] = threading.Thread{target = function () ready:wait(); ts[2]:join() end}
ts[2] = threading.Thread{target = function () ready:wait(); ts[1]:join() end}
ts[1]:start(); ts[2]:start(); ready:set()
ts[1]:join()
]], "wait-for cycle: MainThread joins Thread-1; Thread-1 joins Thread-2; "
    .. "Thread-2 joins Thread-1\n", "blocked in join Thread-2")
end

-- A lock taken twice by one thread, while the main thread joins it.
do
  reported([[
local threading = require "threading"
local l = threading.Lock()
local t = threading.Thread{target = function () l:acquire(); l:acquire() end}
t:start()
t:join()
]], "wait-for cycle: MainThread joins Thread-1; Thread-1 waits for "
    .. "Lock@F:2 held by Thread-1\n")
end

-- A Condition waited on with nobody to notify: no cycle.
do
  local out = reported([[
local threading = require "threading"
local c = threading.Condition()
c:acquire()
c:wait()
]], "blocked in Condition.wait on Condition@F:2")
  assert(not out:find("wait-for cycle", 1, true), out)
end

-- A Barrier short of a party.
do
  reported([[
local threading = require "threading"
local b = threading.Barrier(3)
local t = threading.Thread{target = function () b:wait() end}
t:start()
b:wait()
]], "MainThread (ident", "blocked in Barrier.wait on Barrier@F:2\n",
    "Thread-1 (ident", "blocked in Barrier.wait on Barrier@F:2 for ")
end

-- A queue read by its only producer; Semaphore, Event, RLock.
do
  -- a worker that is the only one to put into its queue reads it dry,
  -- while the main thread joins it
  reported([[
local threading = require "threading"
local q = require("queue").Queue()
local t = threading.Thread{target = function ()
  q:put("job")
  while true do assert(q:get() == "job") end
end}
t:start()
t:join()
]], "MainThread (ident", "blocked in join Thread-1\n", "Thread-1 (ident",
    "blocked in Queue.get on Queue@F:2 for ", "F:5: in function <F:3>")
  reported([[
local q = require("queue").Queue()
q:get()
]], "blocked in Queue.get on Queue@F:1")
  reported([[
local q = require("queue").LifoQueue(1)
q:put(1)
q:put(2)
]], "blocked in LifoQueue.put on LifoQueue@F:1")
  reported([[
local s = require("threading").Semaphore(0)
s:acquire()
]], "blocked in Semaphore.acquire on Semaphore@F:1")
  reported([[
local e = require("threading").Event()
e:wait()
]], "blocked in Event.wait on Event@F:1")
  reported([[
local threading = require "threading"
local r = threading.RLock()
local t = threading.Thread{target = function () r:acquire() end}
t:start(); t:join()
r:acquire()
]], "blocked in RLock.acquire on RLock@F:2 held by a thread that has "
    .. "ended")
end

-- Caught, then the exit's wait for the threads reports again.
do
  local status, out = run([[
local threading = require "threading"
local l = threading.Lock()
l:acquire()
local t = threading.Thread{target = function () l:acquire() end}
t:start()
local ok, err = pcall(t.join, t)
assert(not ok and threading.DeadlockError:is(err), tostring(err))
assert(err.message:find("^deadlock: every thread is blocked\n"))
print("caught")
]])
  assert(status == 1, out)
  local caught = out:find("caught\n", 1, true)
  local again = out:find("threading.DeadlockError: deadlock: every thread "
                         .. "is blocked\nwait-for cycle: MainThread joins "
                         .. "Thread-1; Thread-1 waits for Lock@F:2 held by "
                         .. "MainThread\n", 1, true)
  assert(caught and again and caught < again, out)
  assert(out:find("in function 'threading._shutdown'", 1, true), out)
end

-- Uncaught, with another thread blocked: one report, not a second one
-- from the exit's wait for that thread.
do
  local out = reported([[
local threading = require "threading"
local a, b = threading.Lock(), threading.Lock()
local e = threading.Event()
local t = threading.Thread{target = function ()
  b:acquire(); e:set(); a:acquire()
end}
a:acquire()
t:start()
e:wait()
b:acquire()
]], "wait-for cycle: MainThread waits for Lock@F:2 held by Thread-1; "
    .. "Thread-1 waits for Lock@F:2 held by MainThread\n")
  local _, n = out:gsub("threading%.DeadlockError", "")
  assert(n == 1, out)
  assert(not out:find("_shutdown", 1, true), out)
end

-- In-process: the error object, its kind, a DeadlockError that pcall
-- catches, and the program goes on.
do
  local l = threading.Lock()
  l:acquire()
  local ok, err = pcall(l.acquire, l)
  assert(not ok and threading.DeadlockError:is(err), tostring(err))
  assert(err.message:find("^deadlock: every thread is blocked\n"))
  assert(tostring(err):find("^threading.DeadlockError: deadlock:"))
  assert(l:locked())
  l:release()
  -- reported once: the next wait does not raise
  assert(l:acquire(true, 0.01) and not l:acquire(true, 0.01))
  l:release()
end


-- {======================================================
-- No report where the program would have gone on: one case for each
-- source of wake-ups.
-- =======================================================

-- A wait with a timeout ends by itself.
do
  local l = threading.Lock()
  l:acquire()
  local e = threading.Event()
  local t = testlib.go(function () e:wait() end)
  testlib.wait_blocked(t)
  local t0 = time.monotonic()
  assert(l:acquire(true, 0.05) == false)
  assert(time.monotonic() - t0 >= 0.05)
  local c = threading.Condition()
  c:acquire()
  assert(c:wait(0.02) == false)
  c:release()
  e:set()
  t:join()
  l:release()
end

-- A thread that sleeps will run again.
do
  local l = threading.Lock()
  l:acquire()
  local t = testlib.go(function () time.sleep(0.05); l:release() end)
  l:acquire()  -- the sleeper releases it
  l:release()
  t:join()
end

-- A thread waiting for I/O will run again.
do
  local l = threading.Lock()
  l:acquire()
  local t = testlib.go(function ()
    local p = io.popen("sleep 0.05; echo done")
    assert(p:read("l") == "done")
    p:close()
    l:release()
  end)
  l:acquire()
  l:release()
  t:join()
end

-- A pending Timer will fire.
do
  local e = threading.Event()
  local timer = threading.Timer(0.05, function () e:set() end)
  timer:start()
  assert(e:wait())
  timer:join()
end

-- A woken thread that has not run yet is not blocked: the holder wakes
-- the main thread and blocks itself at once.
do
  for _ = 1, 200 do
    local l = threading.Lock()
    local back = threading.Event()
    local held = threading.Event()
    l:acquire()
    local t = testlib.go(function ()
      held:wait()
      l:release()  -- wakes the main thread...
      back:wait()  -- ...and blocks before it runs
    end)
    held:set()
    l:acquire()
    back:set()
    l:release()
    t:join()
  end
end

-- Many waits and wake-ups through a bounded queue, a Condition and a
-- Barrier: never a report.
do
  local q = queue.Queue(2)
  local b = threading.Barrier(3)
  local c = threading.Condition()
  local n = 0
  local workers = {}
  for i = 1, 2 do
    workers[i] = testlib.go(function ()
      for _ = 1, 500 do q:put(i) end
      b:wait()
      c:with(function () n = n + 1; c:notify_all() end)
    end)
  end
  for _ = 1, 1000 do q:get() end
  b:wait()
  c:with(function () c:wait_for(function () return n == 2 end) end)
  for _, w in ipairs(workers) do w:join() end
end

-- Ctrl-C is a wake-up of the main thread: no report, "interrupted!".
do
  local l = threading.Lock()
  l:acquire()
  local about = threading.Event()
  local t = testlib.go(function ()
    about:wait()
    require("_thread").interrupt_main()
  end)
  checkerror("interrupted!", function () about:set(); l:acquire() end)
  t:join()
  l:release()
end

-- Another interpreter puts into a shared queue: the thread waiting there
-- will set the Event the main thread waits for.
do
  local interpreters = require "interpreters"
  local q = interpreters.create_queue()
  local e = threading.Event()
  local other = interpreters.create()
  local getter = testlib.go(function () assert(q:get() == "x"); e:set() end)
  testlib.wait_blocked(getter)
  local putter = other:call_in_thread(function (queue_) queue_:put("x") end,
                                      q)
  assert(e:wait())
  putter:join()
  getter:join()
  other:close()
end

-- Detection can be turned off (a program that knows better).
do
  local _thread = require "_thread"
  assert(_thread.setdetectdeadlocks(false) == true)
  assert(_thread.setdetectdeadlocks(true) == false)
  checkerror("boolean expected", _thread.setdetectdeadlocks, 1)
end

-- }======================================================


-- {======================================================
-- threading.deadlocks() and the cycle check
-- =======================================================

-- A partial deadlock while the main thread runs: deadlocks() lists it.
do
  local a = threading.Lock()
  local b = threading.Lock()
  local ea, eb = threading.Event(), threading.Event()
  local t1 = threading.Thread{daemon = true, target = function ()
    a:acquire(); ea:set(); eb:wait(); b:acquire()
  end}
  local t2 = threading.Thread{daemon = true, target = function ()
    b:acquire(); eb:set(); ea:wait(); a:acquire()
  end}
  assert(#threading.deadlocks() == 0)
  t1:start(); t2:start()
  local cycles
  local deadline = time.monotonic() + 30
  repeat
    cycles = threading.deadlocks()
    assert(time.monotonic() < deadline, "no cycle found")
    if #cycles == 0 then time.sleep(0.001) end
  until #cycles > 0
  assert(#cycles == 1, #cycles)
  local text = norm(cycles[1])
  assert(text:find(pat(t1.name) .. " waits for Lock@deadlock%.lua:%d+ "
                   .. "held by " .. pat(t2.name)), text)
  assert(text:find(pat(t2.name) .. " waits for Lock@deadlock%.lua:%d+ "
                   .. "held by " .. pat(t1.name)), text)
  -- the dump shows them both; they stay blocked (daemons)
  local all = threading.tracebacks()
  assert(all[t1.ident].state == "blocked" and all[t2.ident].state ==
         "blocked")
  all[t1.ident].waiting = norm(all[t1.ident].waiting)
  assert(all[t1.ident].waiting:find("^Lock%.acquire on Lock@deadlock%.lua:"
                                    .. "%d+ held by " .. pat(t2.name)
                                    .. "$"), all[t1.ident].waiting)
  -- the whole program is not deadlocked: the main thread still runs,
  -- and a wait that times out is no report
  assert(not a:acquire(true, 0.01))
end

-- The cycle check: the wait that would close a cycle raises in the
-- thread that makes it, as a database picks a victim.
do
  assert(threading.setcheckdeadlocks(true) == false)
  local a = threading.Lock()
  local b = threading.Lock()
  local held = threading.Event()
  local t = testlib.go(function ()
    b:acquire(); held:set()
    a:acquire()  -- blocks: the main thread holds it
    a:release(); b:release()
  end)
  a:acquire()
  held:wait()
  testlib.wait_blocked(t)
  local ok, err = pcall(b.acquire, b)  -- closes the cycle
  assert(not ok and threading.DeadlockError:is(err), tostring(err))
  assert(norm(err.message):find("^deadlock: MainThread waits for Lock@deadlock"
                          .. "%.lua:%d+ held by " .. pat(t.name) .. "; "
                          .. pat(t.name) .. " waits for Lock@deadlock%.lua:"
                          .. "%d+ held by MainThread$"), err.message)
  a:release()  -- the victim gives way; the other goes on
  t:join()
  -- a join that would close a cycle: one of the two is the victim
  local ts, errs = {}, {}
  local ready = threading.Event()
  for i = 1, 2 do
    ts[i] = testlib.go(function ()
      ready:wait()
      local other = ts[3 - i]
      errs[i] = select(2, pcall(other.join, other)) or false
    end)
  end
  ready:set()
  ts[1]:join(); ts[2]:join()
  local v = threading.DeadlockError:is(errs[1]) and 1 or 2
  assert(threading.DeadlockError:is(errs[v]) and errs[3 - v] == false,
         tostring(errs[1]) .. " " .. tostring(errs[2]))
  assert(errs[v].message == ("deadlock: %s joins %s; %s joins %s")
         :format(ts[v].name, ts[3 - v].name, ts[3 - v].name, ts[v].name),
         errs[v].message)
  assert(threading.setcheckdeadlocks(false) == true)
  checkerror("boolean expected", threading.setcheckdeadlocks, "yes")
end

-- }======================================================

print("OK")
