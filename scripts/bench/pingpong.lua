-- pingpong: two threads hand a token back and forth 100,000 times through
-- two threading.Semaphore(0) objects (as the anchors' python/pingpong.py).
-- goal: round_trips_per_s/python >= 3
local threading = require "threading"
local time = require "time"

local N = 100000
local s1 = threading.Semaphore(0)
local s2 = threading.Semaphore(0)

local function b ()
  for _ = 1, N do
    s1:acquire()
    s2:release()
  end
end

local tb = threading.Thread{target = b}
tb:start()
local t0 = time.perf_counter()
for _ = 1, N do  -- thread A (main)
  s1:release()
  s2:acquire()
end
local dt = time.perf_counter() - t0
tb:join()
print(string.format("pingpong round_trips_per_s=%.0f rt/s n=%d total_s=%.3f "
                    .. "impl=Semaphore", N / dt, N, dt))
