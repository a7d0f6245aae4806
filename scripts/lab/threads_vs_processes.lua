-- scripts/lab/threads_vs_processes.lua -- the tutorials' closing lesson,
-- measured: the same CPU-bound work (sum of i^0.3 over a range, split into
-- parts) with 1, 2, 4 threads and 1, 2, 4 processes. Under the GIL the
-- threads take turns, so they cannot beat one thread; processes each have
-- their own interpreter and run on all cores.
-- Usage: luagil scripts/lab/threads_vs_processes.lua [N [ROUNDS]]
local mp = require "multiprocessing"
local threading = require "threading"
local time = require "time"

local N = tonumber(arg and arg[1]) or 4000000
local ROUNDS = tonumber(arg and arg[2]) or 3

local function work (lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  return s
end

local function parts (k)
  local t = {}
  for j = 0, k - 1 do t[#t + 1] = {j * N // k, (j + 1) * N // k} end
  return t
end

local function threads (k)
  local out, ts = {}, {}
  for j, r in ipairs(parts(k)) do
    ts[j] = threading.Thread{target = function () out[j] = work(r[1], r[2]) end}
  end
  local t0 = time.perf_counter()
  for _, t in ipairs(ts) do t:start() end
  for _, t in ipairs(ts) do t:join() end
  local dt = time.perf_counter() - t0
  local s = 0.0
  for j = 1, k do s = s + out[j] end
  return dt, s
end

local function processes (k)
  local pool <close> = mp.Pool(k)
  local t0 = time.perf_counter()
  local res = pool:starmap(work, parts(k))
  local dt = time.perf_counter() - t0
  local s = 0.0
  for _, x in ipairs(res) do s = s + x end
  return dt, s
end

local best = {}
local sum
for _ = 1, ROUNDS do
  for _, kind in ipairs{"threads", "processes"} do
    for _, k in ipairs{1, 2, 4} do
      local dt, s = (kind == "threads" and threads or processes)(k)
      local key = kind .. k
      if not best[key] or dt < best[key] then best[key] = dt end
      if sum then assert(math.abs(s - sum) < 1e-6 * sum, "sums differ") end
      sum = s
    end
  end
end

print(("sum of i^0.3 for i < %d: %.6e (best of %d, %d CPUs)")
      :format(N, sum, ROUNDS, mp.cpu_count()))
print("| workers | threads s | speedup | processes s | speedup |")
print("|---|---|---|---|---|")
for _, k in ipairs{1, 2, 4} do
  print(("| %d | %.3f | %.2fx | %.3f | %.2fx |"):format(k,
    best["threads" .. k], best.threads1 / best["threads" .. k],
    best["processes" .. k], best.processes1 / best["processes" .. k]))
end
