-- pool: ThreadPoolExecutor(4); submit 100,000 trivial tasks (a function
-- returning its argument) and collect all results (as the anchors'
-- python/pool.py).
-- goal: tasks_per_s >= 200000
-- goal: tasks_per_s/python >= 3
local futures = require "concurrent.futures"
local time = require "time"

local N = 100000
local t0 = time.perf_counter()
local results = {}
do
  local ex <close> = futures.ThreadPoolExecutor{max_workers = 4}
  local futs = {}
  for i = 0, N - 1 do
    futs[#futs + 1] = ex:submit(function (x) return x end, i)
  end
  for i, f in ipairs(futs) do
    results[i] = f:result()
  end
end
local dt = time.perf_counter() - t0
local sum = 0
for _, r in ipairs(results) do sum = sum + r end
assert(sum == N * (N - 1) // 2)
print(string.format("pool tasks_per_s=%.0f tasks/s n=%d total_s=%.3f",
                    N / dt, N, dt))
