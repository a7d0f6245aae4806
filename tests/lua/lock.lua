-- tests/lua/lock.lua -- Lock and RLock: the behaviour they share with the
-- semaphores (tests/lua/locklib.lua, run per type), then each one's own,
-- the misuse errors Python gives, guard/with, and _thread's lock API.
-- Semaphore and BoundedSemaphore: tests/lua/semaphore.lua.
print("testing threading locks")

local threading = require "threading"
local _thread = require "_thread"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go
local common = require "locklib"


-- {======================================================
-- Behaviour they share with the other kind (tests/lua/locklib.lua)
-- =======================================================

local types = {
  {name = "Lock", new = threading.Lock,
   nonblock = "can't specify a timeout for a non-blocking call"},
  {name = "RLock", new = threading.RLock, owned = true,
   nonblock = "can't specify a timeout for a non-blocking call"},
}

for _, T in ipairs(types) do common(T) end

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
