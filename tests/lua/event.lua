-- tests/lua/event.lua -- threading.Event: set, clear, timed waits, set()
-- waking every waiter (even when clear() follows at once), and a waiter
-- letting the GIL go.
print("testing threading.Event")

local threading = require "threading"
local time = require "time"

local testlib = require "testlib"
local go = testlib.go


-- {======================================================
-- Event
-- =======================================================

do
  local e = threading.Event()
  assert(not e:is_set() and not e:isSet())
  local t0 = time.monotonic()
  assert(e:wait(0.1) == false)
  assert(time.monotonic() - t0 >= 0.1)
  assert(e:wait(0) == false)
  e:set()
  assert(e:is_set() and e:isSet() and e:wait() == true and e:wait(0) == true)
  e:clear()
  assert(not e:is_set())
  e:clear()
  assert(e:wait(-3) == false)  -- polls, as in Python
  assert(tostring(e):find("unset"))
end

-- A waiting thread lets the GIL go: another thread runs meanwhile.
do
  local e, c = threading.Event(), threading.Condition()
  local n, stop = 0, false
  local spinner = go(function ()
    while not stop do n = n + 1; time.sleep(0) end
  end)
  local before = n
  assert(e:wait(0.05) == false and n > before)
  before = n
  c:acquire()
  assert(c:wait(0.05) == false and n > before)
  c:release()
  stop = true
  spinner:join()
end

-- set() wakes every waiter.
do
  local e = threading.Event()
  local woke, threads = {}, {}
  for i = 1, 20 do
    threads[i] = go(function () woke[i] = e:wait() end)
  end
  e:set()
  for i, t in ipairs(threads) do t:join(); assert(woke[i] == true, i) end
end

-- set() at once followed by clear() still wakes every waiter, and each
-- returns true, as in Python: threads waiting at their top level, one in
-- a coroutine (it parks its OS thread instead), and the main thread.
do
  local e = threading.Event()
  local woke, threads = {}, {}
  for i = 1, 3 do
    threads[i] = go(function () woke[i] = e:wait(30) end)
  end
  threads[4] = go(function ()
    woke[4] = coroutine.wrap(function () return e:wait(30) end)()
  end)
  while e:_waiting() < 4 do time.sleep(0.001) end
  e:set()
  e:clear()
  for i, t in ipairs(threads) do t:join(); assert(woke[i] == true, i) end
  local pulse = go(function ()
    while e:_waiting() < 1 do time.sleep(0.001) end
    e:set()
    e:clear()
  end)
  assert(e:wait(30) == true)
  pulse:join()
  assert(not e:is_set())
end

-- A timed wait that is set in time returns true.
do
  local e = threading.Event()
  local r
  local t = go(function () r = e:wait(30) end)
  e:set()
  t:join()
  assert(r == true)
end

-- }======================================================

print("OK")
