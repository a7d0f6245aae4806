-- sleepers: 1,000 threads each sleep 0.2 s (as the anchors' python/sleepers.py);
-- wall time from the first start to the last join. Sleep releases the GIL, so
-- the ideal is 0.2 s plus the cost of starting and joining 1,000 threads.
-- goal: wall_s <= 0.25
local threading = require "threading"
local time = require "time"

local N = 1000

local threads = {}
for i = 1, N do
  threads[i] = threading.Thread{target = time.sleep, args = {0.2}}
end
local t0 = time.perf_counter()
for _, t in ipairs(threads) do t:start() end
for _, t in ipairs(threads) do t:join() end
local dt = time.perf_counter() - t0
print(string.format("sleepers wall_s=%.3f s threads=%d ideal_s=0.200", dt, N))
