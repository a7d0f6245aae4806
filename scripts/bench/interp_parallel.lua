-- interp_parallel: the cpu sum (sum of i^0.3, 0 <= i < 8,000,000) in one
-- interpreter, then split over two, each called from a thread of its own
-- (call_in_thread); best of 5 interleaved passes, the interpreters made
-- before the clock starts. Each interpreter has its own GIL, so two of them
-- use two cores: speedup = time(1) / time(2). The peer is CPython 3.13's
-- isolated subinterpreters (peers/python/interp_parallel.py).
-- goal: speedup >= 1.9
local interpreters = require "interpreters"
local time = require "time"

local N = 8000000
local PASSES = 5

local function work (lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do
    s = s + i ^ 0.3
  end
  return s
end

-- Seconds for the sum split over interpreters 'ips', and the sum.
local function run (ips)
  local p = #ips
  local t0 = time.perf_counter()
  local ts = {}
  for k = 0, p - 1 do
    ts[k + 1] = ips[k + 1]:call_in_thread(work, k * N // p, (k + 1) * N // p)
  end
  local total = 0.0
  for _, t in ipairs(ts) do total = total + t:value() end
  return time.perf_counter() - t0, total
end

local a <close> = interpreters.create()
local b <close> = interpreters.create()
local i1, i2, sum = math.huge, math.huge, nil
for _ = 1, PASSES do
  local t, s = run{a}
  i1, sum = math.min(i1, t), s
  t, s = run{a, b}
  i2 = math.min(i2, t)
  assert(math.abs(s - sum) < 1e-6 * sum, "sums differ")
end
print(string.format("interp_parallel speedup=%.3f x i1_s=%.3f i2_s=%.3f "
  .. "sum=%.6e", i1 / i2, i1, i2, sum))
