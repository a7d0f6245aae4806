-- interp_pool: InterpreterPoolExecutor(2); submit 100,000 trivial tasks
-- (a function returning its argument) and collect all results, as pool.lua
-- does for threads; then a CPU-bound map (cpu.lua's sum of i^0.3, over
-- 16,000,000 terms in 8 chunks) over 2 workers and over 1 (3 interleaved
-- passes, best time of each): each worker's interpreter has its own GIL,
-- so 2 workers should take half the time on two free cores.
-- goal: tasks_per_s >= 100000
-- goal: speedup >= 1.8
local futures = require "concurrent.futures"
local time = require "time"

local N = 100000
local t0 = time.perf_counter()
local results = {}
do
  local ex <close> = futures.InterpreterPoolExecutor{max_workers = 2}
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

-- the cpu sum: sum of i^0.3 for i < 16,000,000, in 8 chunks
local M, CHUNKS = 16000000, 8
local function part (lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  return s
end
local los, his = {}, {}
for c = 1, CHUNKS do
  los[c], his[c] = (c - 1) * M // CHUNKS, c * M // CHUNKS
end
local function mapped (workers)
  local ex <close> = futures.InterpreterPoolExecutor(workers)
  -- not timed: every worker starts (and makes its interpreter), each
  -- kept busy for a while so that the next submit cannot reuse it
  local warm = {}
  for k = 1, workers do
    warm[k] = ex:submit(function () require("time").sleep(0.05) end)
  end
  for k = 1, workers do warm[k]:result() end
  assert(#ex._core.threads == workers)
  local t = time.perf_counter()
  local s = 0.0
  for _, v in ex:map(part, los, his) do s = s + v end
  return time.perf_counter() - t, s
end
local best1, best2, s1, s2 = math.huge, math.huge
for _ = 1, 3 do  -- interleaved passes, best time of each
  local t
  t, s1 = mapped(1)
  best1 = math.min(best1, t)
  t, s2 = mapped(2)
  best2 = math.min(best2, t)
end
assert(math.abs(s1 - s2) < 1e-6 * s1)
print(string.format("interp_pool tasks_per_s=%.0f tasks/s n=%d total_s=%.3f "
                    .. "speedup=%.2f t1_s=%.3f t2_s=%.3f sum=%.0f",
                    N / dt, N, dt, best1 / best2, best1, best2, s1))
