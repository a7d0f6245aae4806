-- tests/lua/locklib.lua -- the behaviour Lock, RLock, Semaphore and
-- BoundedSemaphore share, written once and run per type (not a test):
-- lock.lua runs it for Lock and RLock, semaphore.lua for the semaphores.
-- A type is {name = ..., new = a function that makes one, owned = true if
-- only its owner may release it, nonblock = acquire(false, timeout)'s
-- message}.
local threading = require "threading"
local time = require "time"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go

-- Make a thread take x and hold it; returns a function that lets it
-- release x and joins it.
local function holder (x)
  local held, done = threading.Event(), threading.Event()
  local t = go(function ()
    x:acquire()
    held:set()
    done:wait()
    x:release()
  end)
  held:wait()
  return function () done:set(); t:join() end
end


-- The shared behaviour, for type T.
local function common (T)
  -- A free one is taken at once, and released.
  do
    local x = T.new()
    assert(x:acquire() == true)
    x:release()
    assert(x:acquire(true) == true)
    x:release()
    assert(x:acquire(false) == true)
    x:release()
    assert(x:acquire(true, -1) == true)  -- -1 and nil: no timeout
    x:release()
    assert(x:acquire(true, nil) == true)
    x:release()
    assert(x:acquire(true, 10) == true)
    x:release()
  end

  -- acquire(false) on one held by another thread returns false at once.
  do
    local x = T.new()
    local free = holder(x)
    assert(x:acquire(false) == false)
    assert(x:acquire(true, 0) == false)
    free()
    assert(x:acquire(false) == true)
    x:release()
  end

  -- A timed acquire returns false after at least the timeout.
  do
    local x = T.new()
    local free = holder(x)
    local t0 = time.monotonic()
    assert(x:acquire(true, 0.1) == false)
    assert(time.monotonic() - t0 >= 0.1)
    free()
  end

  -- A waiting thread lets the GIL go: another thread runs meanwhile.
  do
    local x = T.new()
    local free = holder(x)
    local n, stop = 0, false
    local spinner = go(function ()
      while not stop do n = n + 1; time.sleep(0) end
    end)
    local before = n
    assert(x:acquire(true, 0.1) == false)
    assert(n > before)
    stop = true
    spinner:join()
    free()
  end

  -- A blocking acquire waits until another thread releases.
  do
    local x = T.new()
    local held, order = threading.Event(), {}
    local t = go(function ()
      x:acquire()
      held:set()
      order[#order + 1] = "release"
      x:release()
    end)
    held:wait()
    assert(x:acquire() == true)
    order[#order + 1] = "acquired"
    assert(order[1] == "release" and order[2] == "acquired")
    x:release()
    t:join()
  end

  -- Release from another thread: allowed, except for RLock.
  do
    local x = T.new()
    x:acquire()
    local err
    go(function ()
      local ok, e = pcall(x.release, x)
      if not ok then err = e end
    end):join()
    if T.owned then
      assert(string.find(err, "cannot release un-acquired lock", 1, true))
      x:release()
    else
      assert(err == nil)
      assert(x:acquire(false) == true)  -- it was released
      x:release()
    end
  end

  -- Many threads contend; each gets it exactly once per request, and
  -- never two at a time.
  do
    local x = T.new()
    local inside, count, overlap = 0, 0, false
    local threads = {}
    for i = 1, 10 do
      threads[i] = go(function ()
        for _ = 1, 50 do
          x:acquire()
          inside = inside + 1
          if inside ~= 1 then overlap = true end
          time.sleep(0)  -- let another thread run while we hold it
          count = count + 1
          inside = inside - 1
          x:release()
        end
      end)
    end
    for _, t in ipairs(threads) do t:join() end
    assert(count == 500 and not overlap)
  end

  -- guard and with.
  do
    local x = T.new()
    do
      local _ <close> = x:guard()
      assert(x:acquire(false) == (T.owned == true))
      if T.owned then x:release() end
    end
    assert(x:acquire(false) == true)
    x:release()
    local a, b = x:with(function (p, q)
      assert(x:acquire(false) == (T.owned == true))
      if T.owned then x:release() end
      return p + q, "r"
    end, 1, 2)
    assert(a == 3 and b == "r")
    checkerror("boom", x.with, x, function () error("boom") end)
    assert(x:acquire(false) == true)  -- released even on error
    x:release()
    local ok = pcall(function ()
      local _ <close> = x:guard()
      error("inside")
    end)
    assert(not ok and x:acquire(false) == true)
    x:release()
  end

  -- Wrong arguments.
  do
    local x = T.new()
    checkerror("bad argument #1 to 'acquire' (boolean expected, got number)",
               function () x:acquire(0) end)
    checkerror("bad argument #2 to 'acquire' (number expected, got string)",
               function () x:acquire(true, "soon") end)
    if T.name:find("Lock") then  -- a Semaphore polls (misuse_sync.lua)
      checkerror("bad argument #2 to 'acquire' (timeout value must be "
                 .. "positive)", function () x:acquire(true, -2) end)
    end
    checkerror("bad argument #2 to 'acquire' (" .. T.nonblock .. ")",
               function () x:acquire(false, 1) end)
    checkerror("expected", x.acquire, {})
  end
end

return common
