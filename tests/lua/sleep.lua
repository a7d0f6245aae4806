-- tests/lua/sleep.lua -- time.sleep releases the GIL: each of 50 threads
-- sleeping 0.2 s lets it go around its sleep, and none wakes early. How
-- soon they all end, and how late a sleep wakes, are timings, measured by
-- scripts/bench/sleepers.lua and scripts/bench/sleep.lua, not asserted
-- here. (A sleeper waking beside a CPU-bound thread is in gil.lua: it
-- needs preemption.)
print("testing time.sleep")

local threading = require "threading"
local time = require "time"

local testlib = require "testlib"
local checkerror = testlib.checkerror

do
  local t0 = time.monotonic()
  local ts = {}
  for i = 1, 50 do
    ts[i] = threading.Thread{target = time.sleep, args = {0.2}}
    ts[i]:start()
  end
  for i = 1, 50 do ts[i]:join() end
  local elapsed = time.monotonic() - t0
  assert(elapsed >= 0.2, elapsed)
  for i = 1, 50 do  -- gil.stats() keeps the records of exited threads
    assert(testlib.blocking_drops(ts[i]) >= 1, "sleeper kept the GIL")
  end
end

-- A sleep lasts at least as long as asked.
do
  local t0 = time.monotonic()
  time.sleep(0.05)
  assert(time.monotonic() - t0 >= 0.05)
end

-- Clocks.
do
  assert(math.type(time.time_ns()) == "integer")
  assert(math.abs(time.time() - os.time()) < 2)
  local a, b = time.monotonic(), time.perf_counter()
  assert(time.monotonic() >= a and time.perf_counter() >= b)
  assert(time.monotonic_ns() > 0 and time.perf_counter_ns() > 0)
  assert(time.process_time() >= 0 and time.thread_time() >= 0)
  checkerror("sleep length must be non-negative", time.sleep, -1)
  checkerror("number expected", time.sleep, "x")
end

-- os additions.
do
  assert(math.type(os.getpid()) == "integer" and os.getpid() > 1)
  assert(math.type(os.cpu_count()) == "integer" and os.cpu_count() >= 1)
end

print("OK")
