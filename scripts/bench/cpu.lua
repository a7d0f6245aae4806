-- cpu: fixed total work, sum of i^0.3 for 0 <= i < 4,000,000, split evenly
-- across T threads, T = 1, 2, 4, 8 (as the anchors' python/cpu.py). Under a GIL
-- the threads cannot run in parallel: the goal is that splitting costs nothing,
-- time(T)/time(1) close to 1. ROUNDS interleaved passes over T = 1, 2, 4, 8;
-- the fastest time per T is kept.
-- goal: slowdown_t2 <= 1.05
-- goal: slowdown_t4 <= 1.05
-- goal: slowdown_t8 <= 1.05
local threading = require "threading"
local time = require "time"

local N = 4000000
local ROUNDS = 3
local TS = {1, 2, 4, 8}

local function work(lo, hi, out, k)
  local s = 0.0
  for i = lo, hi - 1 do
    s = s + i ^ 0.3      -- ^ always yields a float in Lua
  end
  out[k] = s
end

-- Returns the wall time of one pass with t threads, and the sum.
local function run(t)
  local out = {}
  local step = N // t
  local threads = {}
  for k = 1, t do
    out[k] = 0.0
    threads[k] = threading.Thread{target = work, args = {(k - 1) * step, k * step, out, k}}
  end
  local t0 = time.perf_counter()
  for _, th in ipairs(threads) do th:start() end
  for _, th in ipairs(threads) do th:join() end
  local dt = time.perf_counter() - t0
  local total = 0.0
  for k = 1, t do total = total + out[k] end
  return dt, total
end

local best, total = {}, 0.0
for _ = 1, ROUNDS do
  for _, t in ipairs(TS) do
    local dt
    dt, total = run(t)
    if not best[t] or dt < best[t] then best[t] = dt end
  end
end
local parts = {}
for i = 2, #TS do
  parts[#parts + 1] = string.format("slowdown_t%d=%.3f", TS[i], best[TS[i]] / best[1])
end
print(string.format("cpu t1_s=%.3f s %s sum=%.6e", best[1], table.concat(parts, " "), total))
