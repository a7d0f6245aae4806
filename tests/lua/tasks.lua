-- tests/lua/tasks.lua -- threads that wait at their top level give their OS
-- thread back (vm/task.h): many waiting threads hold few OS threads, and a
-- thread keeps its identity, its locks and Lua's coroutine rules across
-- such a wait, whichever OS thread it goes on on.
print("testing threads that wait without an OS thread")

local threading = require "threading"
local time = require "time"
local _thread = require "_thread"

local checkerror = require("testlib").checkerror
local go = require("testlib").go

local function os_threads ()
  for l in io.lines("/proc/self/status") do
    local n = l:match("^Threads:%s*(%d+)")
    if n then return tonumber(n) end
  end
end

-- First, while the process has no idle workers: a thread keeps its ident,
-- native id, current_thread() and RLocks when it goes on on another OS
-- thread after a wait. Thread b takes the worker that a gave back, and
-- parks it in a Lock (a wait that does not yield), so a goes on on a new
-- one.
do
  local function tid ()
    local f = assert(io.open("/proc/thread-self/stat"))
    local id = f:read("l"):match("^(%d+)")
    f:close()
    return id
  end
  local lock, ev, b_running, r = threading.Lock(), threading.Event(),
                                 threading.Event(), {}
  lock:acquire()
  local a = go(function ()
    local me, id = threading.current_thread(), threading.get_ident()
    local nid = threading.get_native_id()
    local rl = threading.RLock()
    rl:acquire()
    local before = tid()
    ev:wait()
    r.moved = tid() ~= before
    r.same = threading.get_ident() == id and id == me.ident and
             threading.get_native_id() == nid and nid == me.native_id and
             threading.current_thread() == me
    r.owned = rl:_is_owned()
    rl:release()  -- "cannot release un-acquired lock" if the OS thread owned it
    r.released = true
  end)
  while ev:_waiting() < 1 do time.sleep(0.001) end
  local b = go(function () b_running:set(); lock:acquire(); lock:release() end)
  b_running:wait()
  ev:set()
  a:join()
  lock:release()
  b:join()
  assert(r.moved, "a went on on the same OS thread: the test proves nothing")
  assert(r.same and r.owned and r.released)
end

-- 2,000 threads waiting on one Event hold a handful of OS threads; all of
-- them wake when it is set.
do
  local N = 2000
  local ev = threading.Event()
  local woke = {}  -- one slot each: 'n = n + 1' could lose updates
  local ts = {}
  for i = 1, N do
    ts[i] = go(function () woke[i] = ev:wait() end)
  end
  while ev:_waiting() < N do time.sleep(0.001) end
  local n = os_threads()
  assert(n < 100, ("%d threads wait on %d OS threads"):format(N, n))
  ev:set()
  for i = 1, N do ts[i]:join(); assert(woke[i] == true, i) end
end

-- The same for sleeps, joins and waits that time out.
do
  local N = 500
  local ts, results = {}, {}
  local gate = threading.Event()
  for i = 1, N do
    ts[i] = go(function ()
      time.sleep(0.05)
      results[i] = gate:wait(0.02)  -- times out: false
    end)
  end
  local joiners = {}
  for i = 1, 20 do
    joiners[i] = go(function () ts[i]:join() end)
  end
  for i = 1, N do ts[i]:join() end
  for i = 1, 20 do joiners[i]:join() end
  for i = 1, N do assert(results[i] == false, i) end
end

-- Waits that wake before their timeout say so; join with a timeout from a
-- thread returns false while the other runs on.
do
  local ev, r = threading.Event(), {}
  local sleeper = go(function () ev:wait() end)
  local t = go(function ()
    sleeper:join(0.02)
    r.alive = sleeper:is_alive()
    r.set = ev:wait(10)
  end)
  while not r.alive do time.sleep(0.001) end
  ev:set()
  t:join()
  sleeper:join()
  assert(r.alive == true and r.set == true)
end

-- A thread's top level is not a coroutine: yield and isyieldable say so,
-- and while it waits its state is "normal", not resumable.
do
  local ev, r = threading.Event(), {}
  local t = go(function ()
    r.yieldable = coroutine.isyieldable()
    r.ok, r.err = pcall(coroutine.yield)
    r.co = coroutine.running()
    ev:wait()
  end)
  while ev:_waiting() < 1 do time.sleep(0.001) end
  assert(r.yieldable == false)
  assert(not r.ok and r.err:find("attempt to yield from outside a coroutine",
                                 1, true), r.err)
  assert(coroutine.status(r.co) == "normal", coroutine.status(r.co))
  assert(coroutine.isyieldable(r.co) == false)
  local ok, err = coroutine.resume(r.co)
  assert(not ok and err == "cannot resume non-suspended coroutine", err)
  checkerror("cannot close a normal coroutine", coroutine.close, r.co)
  ev:set()
  t:join()
end

-- Waits where the thread cannot yield (in a coroutine, in a sort's
-- comparator) park its OS thread instead, and still work.
do
  local r = {}
  local t = go(function ()
    r.co = coroutine.wrap(function ()
      time.sleep(0.005)
      coroutine.yield(1)
      return 2
    end)
    r.a, r.b = r.co(), r.co()
    local list = {3, 1, 2}
    table.sort(list, function (x, y) time.sleep(0.001) return x < y end)
    r.sorted = table.concat(list, " ")
  end)
  t:join()
  assert(r.a == 1 and r.b == 2 and r.sorted == "1 2 3")
end

-- A thread parked in a wait that cannot yield (a Lock) does not hold up
-- the threads queued behind it: they get an OS thread of their own.
do
  local lock, flag = threading.Lock(), threading.Event()
  lock:acquire()
  local blocked = go(function () lock:acquire(); lock:release() end)
  local setters = {}
  for i = 1, 3 do setters[i] = go(function () flag:set() end) end
  assert(flag:wait(30), "a queued thread never ran")
  lock:release()
  blocked:join()
  for i = 1, 3 do setters[i]:join() end
end

-- A thread with its own stack size waits on its OS thread, as before.
do
  local old = threading.stack_size(1024 * 1024)
  local t = go(function () time.sleep(0.01) end)
  threading.stack_size(old)
  t:join()
  assert(not t:is_alive())
end

-- A _thread thread that fails after a wait closes its to-be-closed
-- variables, as a pcall would, and reports the error.
do
  local closed = threading.Event()
  _thread.start_new_thread(function ()
    local x <close> = setmetatable({}, {__close = function () closed:set() end})
    time.sleep(0.01)
    error("boom after a wait")
  end)
  assert(closed:wait(30))
end

print("OK")
