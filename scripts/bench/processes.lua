-- processes: the cpu sum (sum of i^0.3, 0 <= i < 4,000,000) split across a
-- multiprocessing.Pool of 1 and of 2 processes, as the anchors'
-- python/processes.py. speedup = time(1) / time(2): processes run in
-- parallel where threads under the GIL cannot.
-- goal: speedup >= 1.85
local mp = require "multiprocessing"
local time = require "time"

local N = 4000000

local function work (rng)
  local lo, hi = rng[1], rng[2]
  local s = 0.0
  for i = lo, hi - 1 do
    s = s + i ^ 0.3
  end
  return s
end

-- Returns (seconds for the map alone, seconds including pool start and stop).
local function run (p)
  local chunks = {}
  for k = 0, p - 1 do chunks[#chunks + 1] = {k * N // p, (k + 1) * N // p} end
  local t0 = time.perf_counter()
  local t1, t2
  do
    local pool <close> = mp.Pool(p)
    t1 = time.perf_counter()
    local total = 0.0
    for _, s in ipairs(pool:map(work, chunks)) do total = total + s end
    t2 = time.perf_counter()
  end
  local t3 = time.perf_counter()
  return t2 - t1, t3 - t0
end

local p1, p1_all = run(1)
local p2, p2_all = run(2)
print(string.format("processes speedup=%.3f x p1_s=%.3f p2_s=%.3f "
  .. "speedup_incl_startup=%.3f start_method=fork", p1 / p2, p1, p2,
  p1_all / p2_all))
