-- tests/lua/condition.lua -- threading.Condition: waits, timeouts,
-- notify(n) waking exactly n, wait_for, and misuse. Event:
-- tests/lua/event.lua.
print("testing threading.Condition")

local threading = require "threading"
local time = require "time"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go


-- A lock of another kind: any object with acquire and release.
local function customlock ()
  local l = threading.Lock()
  return {
    acquire = function (_, ...) return l:acquire(...) end,
    release = function () l:release() end,
  }
end

-- One that lets other threads run between releasing and queueing, so that
-- notify() finds waiters that have not queued yet.
local function yieldinglock ()
  local l = threading.Lock()
  return {
    acquire = function (_, ...) return l:acquire(...) end,
    release = function () l:release(); time.sleep(0) end,
  }
end

local kinds = {
  {"RLock (default)", function () return threading.Condition() end},
  {"Lock", function () return threading.Condition(threading.Lock()) end},
  {"RLock", function () return threading.Condition(threading.RLock()) end},
  {"custom lock", function () return threading.Condition(customlock()) end},
  {"yielding lock",
   function () return threading.Condition(yieldinglock()) end},
}

for _, K in ipairs(kinds) do
  local new = K[2]

  -- Misuse: wait and notify need the lock.
  do
    local c = new()
    checkerror("cannot wait on un-acquired lock", c.wait, c)
    checkerror("cannot notify on un-acquired lock", c.notify, c)
    checkerror("cannot notify on un-acquired lock", c.notify_all, c)
    c:acquire()
    assert(c:wait(-5) == false)  -- polls, as in Python
    c:release()
  end

  -- A wait with a timeout returns false after at least the timeout, and
  -- holds the lock again.
  do
    local c = new()
    c:acquire()
    local t0 = time.monotonic()
    assert(c:wait(0.1) == false)
    assert(time.monotonic() - t0 >= 0.1)
    assert(c:wait(0) == false)
    c:notify()  -- still owned: no error
    c:release()
  end

  -- notify(n) wakes exactly n waiters, notify_all the rest.
  do
    local c = new()
    local ready, woken, results = 0, 0, {}
    local threads = {}
    for i = 1, 5 do
      threads[i] = go(function ()
        c:acquire()
        ready = ready + 1
        local r = c:wait()
        results[#results + 1] = r
        woken = woken + 1
        c:release()
      end)
    end
    -- A waiter counts itself ready and waits without letting the lock go
    -- in between: once we see 5 ready while holding the lock, all wait.
    local function waituntil (f)
      while true do
        c:acquire()
        local ok = f()
        c:release()
        if ok then return end
        time.sleep(0)
      end
    end
    waituntil(function () return ready == 5 end)
    c:with(c.notify, c, 2)
    waituntil(function () return woken == 2 end)
    time.sleep(0.05)  -- not ordering: a wrong third wake-up would show here
    c:with(function () assert(woken == 2) end)
    c:with(c.notify, c)
    waituntil(function () return woken == 3 end)
    c:with(c.notifyAll, c)
    for _, t in ipairs(threads) do t:join() end
    assert(woken == 5)
    for i = 1, 5 do assert(results[i] == true) end
    c:with(c.notify, c, 3)  -- nobody waits: nothing happens
  end

  -- wait_for returns the predicate's value, also after a timeout.
  do
    local c = new()
    local value = false
    c:acquire()
    local t0 = time.monotonic()
    assert(c:wait_for(function () return value end, 0.1) == false)
    assert(time.monotonic() - t0 >= 0.1)
    assert(c:wait_for(function () return 7 end, 0) == 7)
    local t = go(function ()
      c:with(function () value = 42; c:notify() end)
    end)
    assert(c:wait_for(function () return value end) == 42)
    c:release()
    t:join()
    assert(c:with(c.wait_for, c, function () return nil end, 0) == nil)
  end
end

-- An RLock held several times is released completely by wait() and comes
-- back at the same depth.
do
  local r = threading.RLock()
  local c = threading.Condition(r)
  r:acquire()
  r:acquire()
  local t = go(function ()
    c:acquire()  -- possible only while the main thread waits
    c:notify()
    c:release()
  end)
  assert(c:wait() == true)
  assert(tostring(r):find("count=2"))
  r:release()
  r:release()
  assert(not r:locked())
  t:join()
end

-- Condition's own acquire/release go to the lock; guard works.
do
  local l = threading.Lock()
  local c = threading.Condition(l)
  assert(c:acquire() == true and l:locked())
  assert(c:acquire(false) == false)
  c:release()
  assert(not l:locked())
  do
    local _ <close> = c:guard()
    assert(l:locked())
  end
  assert(not l:locked())
  checkerror("bad argument #1 to 'Condition' (lock expected, got number)",
             function () threading.Condition(3) end)
  assert(tostring(c):find("^<threading.Condition%("))
end

-- Producer and consumer, as the tutorials write them.
do
  local c = threading.Condition()
  local items, got = {}, {}
  local consumer = go(function ()
    for _ = 1, 100 do
      c:acquire()
      while #items == 0 do c:wait() end
      got[#got + 1] = table.remove(items, 1)
      c:release()
    end
  end)
  for i = 1, 100 do
    c:acquire()
    items[#items + 1] = i
    c:notify()
    c:release()
  end
  consumer:join()
  for i = 1, 100 do assert(got[i] == i) end
end

print("OK")
