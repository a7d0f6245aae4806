-- tests/lua/semaphore.lua -- Semaphore and BoundedSemaphore: the
-- behaviour they share with Lock and RLock (tests/lua/locklib.lua, run per
-- type), then each one's own: counting, release(n), the bound.
print("testing threading semaphores")

local threading = require "threading"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go
local common = require "locklib"


-- {======================================================
-- Behaviour they share with the other kind (tests/lua/locklib.lua)
-- =======================================================

local types = {
  {name = "Semaphore", new = function () return threading.Semaphore(1) end,
   nonblock = "can't specify timeout for non-blocking acquire"},
  {name = "BoundedSemaphore",
   new = function () return threading.BoundedSemaphore(1) end,
   nonblock = "can't specify timeout for non-blocking acquire"},
}

for _, T in ipairs(types) do common(T) end

-- }======================================================


-- {======================================================
-- Each type's own behaviour
-- =======================================================

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

-- }======================================================

print("OK")
