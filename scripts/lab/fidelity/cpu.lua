-- scripts/lab/fidelity/cpu.lua -- the CPU-bound workload of the fidelity
-- lab, luagil's version; see LICENSE for copyright and licence (MIT).
-- The sum of i^0.3 for i < N split evenly over T = 1, 2, 4 threads, three
-- interleaved passes, the best time per T kept: time(T) / time(1).
-- Usage: luagil cpu.lua [N]   (default 2,000,000)
local threading = require "threading"
local time = require "time"

local N = math.tointeger(tonumber(arg[1])) or 2000000
local ROUNDS = 3

local function work (lo, hi, out, k)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  out[k] = s
end

-- Wall time of one pass with t threads.
local function run (t)
  local out, threads, step = {}, {}, N // t
  for k = 1, t do
    threads[k] = threading.Thread{target = work,
                                  args = {(k - 1) * step, k * step, out, k}}
  end
  local t0 = time.perf_counter()
  for _, th in ipairs(threads) do th:start() end
  for _, th in ipairs(threads) do th:join() end
  return time.perf_counter() - t0
end

local best = {}
for _ = 1, ROUNDS do
  for _, t in ipairs{1, 2, 4} do
    local dt = run(t)
    best[t] = math.min(best[t] or math.huge, dt)
  end
end
print(string.format("cpu t1_s=%.3f slowdown_t2=%.3f slowdown_t4=%.3f",
                    best[1], best[2] / best[1], best[4] / best[1]))
