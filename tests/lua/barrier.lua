-- tests/lua/barrier.lua -- threading.Barrier and BrokenBarrierError (the
-- shared error objects), threading.Timer and threading.local.
print("testing threading.Barrier, Timer and local")

local threading = require "threading"
local _thread = require "_thread"
local time = require "time"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go

local Broken = threading.BrokenBarrierError

-- Wait (yielding) until b has n threads waiting.
local function waiting (b, n)
  while b.n_waiting < n do time.sleep(0) end
end


-- {======================================================
-- Error objects
-- =======================================================

do
  local e = Broken("barrier is broken")
  assert(tostring(e) == "threading.BrokenBarrierError: barrier is broken")
  assert(Broken:is(e) and e.kind == Broken and e.message == "barrier is broken")
  assert(not Broken:is("threading.BrokenBarrierError: barrier is broken"))
  assert(not Broken:is({kind = Broken}))
  assert(tostring(Broken) == "threading.BrokenBarrierError")
  assert(Broken.name == "threading.BrokenBarrierError")
  -- The same kind by name, from C or Lua: one table.
  assert(_thread._errorkind("threading.BrokenBarrierError") == Broken)
  local Other = _thread._errorkind("test.Other")
  assert(not Other:is(e) and not Broken:is(Other("x")))
  assert(tostring(Other()) == "test.Other")
  -- A child kind matches as its parent.
  local Child = _thread._errorkind("test.Child", "test.Other")
  assert(Other:is(Child("c")) and Child:is(Child("c")) and not Child:is(Other()))
  local ok, err = pcall(error, e)
  assert(not ok and err == e)
end

-- }======================================================


-- {======================================================
-- Barrier
-- =======================================================

-- 5 threads: indexes 0..4 each once per cycle, the action once per cycle,
-- and the barrier is reusable.
do
  local actions = 0
  local b = threading.Barrier(5, function () actions = actions + 1 end)
  assert(b.parties == 5 and b.n_waiting == 0 and b.broken == false)
  for cycle = 1, 3 do
    local seen, threads = {}, {}
    for i = 1, 5 do
      threads[i] = go(function ()
        local index = b:wait()
        seen[#seen + 1] = index
      end)
    end
    for _, t in ipairs(threads) do t:join() end
    table.sort(seen)
    assert(#seen == 5)
    for i = 1, 5 do assert(seen[i] == i - 1) end
    assert(actions == cycle)
  end
  assert(not b.broken and b.n_waiting == 0)
end

-- Two threads wait at a Barrier of 3, then 'action' is done to it; returns
-- the barrier and the errors the two waits raised.
local function two_waiters_then (action)
  local b = threading.Barrier(3)
  local errs, threads = {}, {}
  for i = 1, 2 do
    threads[i] = go(function ()
      local ok, err = pcall(b.wait, b)
      errs[#errs + 1] = not ok and err
    end)
  end
  waiting(b, 2)
  action(b)
  for _, t in ipairs(threads) do t:join() end
  assert(#errs == 2 and Broken:is(errs[1]) and Broken:is(errs[2]))
  return b, errs
end

-- abort() gives the waiting threads BrokenBarrierError; the barrier stays
-- broken until reset().
do
  local b, errs = two_waiters_then(function (b) b:abort() end)
  assert(tostring(errs[1]):find("^threading.BrokenBarrierError"))
  assert(b.broken)
  checkerror("threading.BrokenBarrierError", b.wait, b)
  b:reset()
  assert(not b.broken)
  local t = go(function () b:wait() end)
  local t2 = go(function () b:wait() end)
  b:wait()
  t:join()
  t2:join()
end

-- reset() gives the waiting threads BrokenBarrierError, and the barrier
-- works again at once.
do
  local b = two_waiters_then(function (b) b:reset() end)
  assert(not b.broken)
  local threads = {}
  local n = 0
  for i = 1, 2 do threads[i] = go(function () b:wait(); n = n + 1 end) end
  b:wait()
  for _, t in ipairs(threads) do t:join() end
  assert(n == 2)
end

-- A wait that times out breaks the barrier (the default timeout too).
do
  local b = threading.Barrier(2)
  local t0 = time.monotonic()
  local ok, err = pcall(b.wait, b, 0.1)
  assert(not ok and Broken:is(err))
  assert(time.monotonic() - t0 >= 0.1)
  assert(b.broken)
  local d = threading.Barrier(2, nil, 0.05)
  ok, err = pcall(d.wait, d)
  assert(not ok and Broken:is(err) and d.broken)
end

-- An action that errors breaks the barrier; its error goes to the thread
-- that ran it, the others get BrokenBarrierError.
do
  local runs = 0
  local b = threading.Barrier(2, function () runs = runs + 1; error("boom") end)
  local other
  local t = go(function () local ok, e = pcall(b.wait, b); other = e end)
  local ok, err = pcall(b.wait, b)
  t:join()
  assert(runs == 1 and b.broken)
  -- Whichever thread came last ran the action.
  local a, c = err, other
  if Broken:is(a) then a, c = c, a end
  assert(tostring(a):find("boom") and Broken:is(c))
end

-- Wrong arguments.
do
  checkerror("bad argument #1 to 'Barrier' (parties must be > 0)",
             function () threading.Barrier(0) end)
  checkerror("bad argument #1 to 'Barrier' (integer expected, got nil)",
             function () threading.Barrier() end)
  checkerror("bad argument #2 to 'Barrier' (action must be callable)",
             function () threading.Barrier(2, 3) end)
  assert(tostring(threading.Barrier(2)) == "<threading.Barrier: waiters=0/2>")
end

-- }======================================================


-- {======================================================
-- Timer
-- =======================================================

do
  local got
  local t = threading.Timer(0.05, function (a, b) got = a + b end, {1, 2})
  assert(t.interval == 0.05 and t.args[2] == 2)
  local t0 = time.monotonic()
  t:start()
  t:join()
  assert(got == 3 and time.monotonic() - t0 >= 0.05)
  assert(tostring(t):find("^<Timer%("))
end

-- Cancelled before it fires: the function is never called.
do
  local called = false
  local t = threading.Timer(0.2, function () called = true end)
  t:start()
  t:cancel()
  t:join()
  assert(not called)
  local t2 = threading.Timer(0.2, function () called = true end)
  t2:cancel()  -- before start
  t2:start()
  t2:join()
  assert(not called)
  checkerror("bad argument #2 to 'Timer' (function expected, got nil)",
             function () threading.Timer(1) end)
end

-- }======================================================


-- {======================================================
-- local
-- =======================================================

do
  local data = threading["local"]()
  assert(threading.Local == threading["local"])
  data.x = 1
  local seen = {}
  local t = go(function ()
    seen.x = data.x
    data.x = 2
    seen.x2 = data.x
  end)
  t:join()
  assert(seen.x == nil and seen.x2 == 2 and data.x == 1)
  -- A later thread (likely on the same OS thread) starts empty.
  for i = 1, 3 do
    go(function ()
      seen[i] = data.x
      data.x = i
    end):join()
  end
  assert(seen[1] == nil and seen[2] == nil and seen[3] == nil)
  -- Two locals are independent; pairs lists this thread's fields.
  local other = threading.Local()
  other.y = "y"
  assert(other.x == nil and data.y == nil)
  local keys = {}
  for k, v in pairs(data) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  assert(#keys == 1 and keys[1] == "x=1")
  -- Concurrent threads each keep their own values across switches.
  local ok, threads = true, {}
  local go_on = threading.Event()
  for i = 1, 8 do
    threads[i] = go(function ()
      data.v = i
      go_on:wait()
      for _ = 1, 100 do
        time.sleep(0)
        if data.v ~= i then ok = false end
      end
    end)
  end
  go_on:set()
  for _, th in ipairs(threads) do th:join() end
  assert(ok and data.v == nil)
end

-- }======================================================

print("OK")
