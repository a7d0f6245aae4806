-- tests/lua/lock.lua -- Lock, RLock, Semaphore and BoundedSemaphore: the
-- behaviour they share (written once, run per type), then each one's own,
-- the misuse errors Python gives, guard/with, and _thread's lock API.
print("testing threading locks")

local threading = require "threading"
local _thread = require "_thread"
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


-- {======================================================
-- Behaviour common to Lock, RLock and Semaphore
-- =======================================================

local types = {
  {name = "Lock", new = threading.Lock,
   nonblock = "can't specify a timeout for a non-blocking call"},
  {name = "RLock", new = threading.RLock, owned = true,
   nonblock = "can't specify a timeout for a non-blocking call"},
  {name = "Semaphore", new = function () return threading.Semaphore(1) end,
   nonblock = "can't specify timeout for non-blocking acquire"},
  {name = "BoundedSemaphore",
   new = function () return threading.BoundedSemaphore(1) end,
   nonblock = "can't specify timeout for non-blocking acquire"},
}

for _, T in ipairs(types) do
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

-- }======================================================


-- with: fn may yield (a coroutine inside the block); the lock is held
-- until fn returns.
do
  local l = threading.Lock()
  local co = coroutine.wrap(function ()
    return l:with(function (a) return 2 * coroutine.yield(a) end, 5)
  end)
  assert(co() == 5 and l:locked())
  assert(co(21) == 42 and not l:locked())
end


-- {======================================================
-- Each type's own behaviour
-- =======================================================

-- Lock: not owned, not re-entrant; misuse messages; tostring.
do
  local l = threading.Lock()
  assert(threading.Lock == _thread.allocate_lock)
  assert(not l:locked())
  assert(tostring(l):find("^<unlocked threading.Lock object at "))
  l:acquire()
  assert(l:locked() and tostring(l):find("^<locked "))
  assert(l:acquire(false) == false)  -- not re-entrant
  l:release()
  checkerror("release unlocked lock", l.release, l)
  local ok, err = pcall(l.release, l)
  assert(err == "release unlocked lock")  -- Python's words alone
  assert(_thread.LockType == _thread.allocate_lock)
end

-- RLock: re-entrant; only the owner releases, as often as it acquired.
do
  local r = threading.RLock()
  assert(r:acquire() and r:acquire() and r:acquire(false))
  assert(tostring(r):find("count=3"))
  r:release()
  r:release()
  assert(r:locked())
  local other
  go(function () other = r:acquire(false) end):join()
  assert(other == false)
  r:release()
  assert(not r:locked())
  checkerror("cannot release un-acquired lock", r.release, r)
  go(function () other = r:acquire(false); r:release() end):join()
  assert(other == true)
end

-- Semaphore: counts; release(n); bad values.
do
  local s = threading.Semaphore(0)
  assert(s:acquire(false) == false)
  s:release(3)
  assert(s:acquire(false) and s:acquire(false) and s:acquire(false))
  assert(s:acquire(false) == false)
  assert(s:acquire(true, 0.01) == false)
  local d = threading.Semaphore()  -- default 1
  assert(d:acquire(false) and not d:acquire(false))
  checkerror("bad argument #1 to 'Semaphore' (semaphore initial value "
             .. "must be >= 0)", function () threading.Semaphore(-1) end)
  checkerror("bad argument #1 to 'release' (n must be one or more)",
             function () s:release(0) end)
  checkerror("bad argument #1 to 'Semaphore' (number expected, got string)",
             function () threading.Semaphore("x") end)
  -- release(n) wakes n waiters.
  local got, threads = 0, {}
  for i = 1, 4 do
    threads[i] = go(function () s:acquire(); got = got + 1 end)
  end
  s:release(4)
  for _, t in ipairs(threads) do t:join() end
  assert(got == 4)
end

-- BoundedSemaphore: never above its initial value.
do
  local b = threading.BoundedSemaphore(2)
  checkerror("Semaphore released too many times", b.release, b)
  b:acquire()
  b:acquire()
  checkerror("Semaphore released too many times", b.release, b, 3)
  b:release(2)
  checkerror("Semaphore released too many times", b.release, b)
  assert(tostring(b):find("value=2/2"))
end

-- _thread's own functions.
do
  assert(type(_thread.start_new_thread) == "function")
  assert(math.type(_thread.get_ident()) == "integer")
  assert(math.type(_thread.get_native_id()) == "integer")
  assert(_thread.TIMEOUT_MAX == threading.TIMEOUT_MAX)
  local done = _thread.allocate_lock()
  done:acquire()
  local got
  _thread.start_new_thread(function (a, b) got = a + b; done:release() end,
                           {1, 2})
  done:acquire()  -- released by the other thread
  assert(got == 3)
end

-- }======================================================


-- {======================================================
-- with and guard on our own locks take a fast path (no method calls)
-- when the lock is free: everything else must be as through the methods
-- =======================================================

do
  local news = {
    Lock = threading.Lock, RLock = threading.RLock,
    ["Condition(Lock)"] = function ()
      return threading.Condition(threading.Lock())
    end,
    ["Condition(RLock)"] = threading.Condition,
  }
  for name, new in pairs(news) do
    local x = new()
    local recursive = name:find("RLock") ~= nil
    local function free ()  -- x is not held: another thread can take it
      assert(go(function ()
        local ok = x:acquire(false)
        if ok then x:release() end
        return ok
      end):value(), name .. " left held")
    end
    local r = table.pack(x:with(function (a, b) return a, nil, b end, 1, 2))
    assert(r.n == 3 and r[1] == 1 and r[2] == nil and r[3] == 2, name)
    free()
    checkerror("boom", function () x:with(function () error("boom") end) end)
    free()
    -- fn yields: the continuation releases
    local co = coroutine.wrap(function ()
      return x:with(function () coroutine.yield("in"); return "out" end)
    end)
    assert(co() == "in")
    assert(not go(function () return x:acquire(false) end):value())
    assert(co() == "out")
    free()
    -- fn releases x itself: the release after it fails, without position
    local msg = recursive and "cannot release un-acquired lock"
                or "release unlocked lock"
    local ok, err = pcall(function ()
      return x:with(function () x:release() end)
    end)
    assert(not ok and err == msg, err)
    ok, err = pcall(function ()
      local g <close> = x:guard()
      x:release()
    end)
    assert(not ok and err == msg, err)
    free()
    if recursive then
      assert(x:with(x.with, x, function () return "nested" end) == "nested")
      do
        local g1 <close> = x:guard()
        local g2 <close> = x:guard()
        assert(x:_is_owned())
      end
      free()
    end
    -- contended: waits in the method, as before
    local e, taken = threading.Event(), threading.Event()
    x:acquire()
    local t = go(function ()
      e:set()
      x:with(function () taken:set() end)
    end)
    e:wait()
    assert(not taken:is_set())
    x:release()
    t:join()
    assert(taken:is_set())
    free()
    -- destroyed inside the block: a lock's release raises, a
    -- Condition's still releases its lock, as the methods do
    local y = new()
    ok, err = pcall(y.with, y, function () getmetatable(y).__gc(y) end)
    if name:find("Condition") then
      assert(ok, err)
    else
      assert(not ok and err:find("attempt to use a destroyed"), err)
    end
    checkerror("attempt to use a destroyed", function () y:with(print) end)
  end
  -- an impostor that only looks like a Lock takes the general path
  local calls = {}
  local fake = {acquire = function () calls[#calls + 1] = "a" end,
                release = function () calls[#calls + 1] = "r" end}
  threading.Lock().with(fake, function () end)
  assert(table.concat(calls) == "ar")
end

-- }======================================================

print("OK")
