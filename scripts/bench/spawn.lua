-- spawn: create, start and join 10,000 threads one after another, empty target
-- (as the anchors' python/spawn.py). Wall time per thread.
-- goal: us_per_thread <= 30
local threading = require "threading"
local time = require "time"

local N = 10000

local function noop() end

local t0 = time.perf_counter()
for _ = 1, N do
  local t = threading.Thread{target = noop}
  t:start()
  t:join()
end
local dt = time.perf_counter() - t0
print(string.format("spawn us_per_thread=%.2f us threads=%d total_s=%.3f", dt / N * 1e6, N, dt))
