-- scripts/lab/threads_vs_processes.lua -- the tutorials' closing lesson,
-- measured: the same CPU-bound work (sum of i^0.3 over a range, split into
-- parts) with 1, 2, 4 threads and 1, 2, 4 processes. Under the GIL the
-- threads take turns, so they cannot beat one thread; processes each have
-- their own interpreter and run on all cores. No timeline.
-- Usage: luagil scripts/lab/threads_vs_processes.lua [--small] [N [ROUNDS]]
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local mp = require "multiprocessing"
local threading = require "threading"

local o = lab.init("threads_vs_processes")
local N = tonumber(o.args[1]) or (o.small and 400000 or 4000000)
local ROUNDS = tonumber(o.args[2]) or (o.small and 1 or 3)

local function parts (k)
  local t = {}
  for j = 0, k - 1 do t[#t + 1] = {j * N // k, (j + 1) * N // k} end
  return t
end

local function threads (k)
  local ts = {}
  for j, r in ipairs(parts(k)) do
    ts[j] = threading.Thread{target = lab.work, args = r}
  end
  local dt = lab.timed(function ()
    for _, t in ipairs(ts) do t:start() end
    for _, t in ipairs(ts) do t:join() end
  end)
  local s = 0.0
  for _, t in ipairs(ts) do s = s + t:value() end
  return dt, s
end

local function processes (k)
  local pool <close> = mp.Pool(k)
  local dt, res = lab.timed(pool.starmap, pool, lab.work, parts(k))
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
local rows = {}
for _, k in ipairs{1, 2, 4} do
  local t, p = best["threads" .. k], best["processes" .. k]
  rows[#rows + 1] = {k, t, ("%.2fx"):format(best.threads1 / t),
                     p, ("%.2fx"):format(best.processes1 / p)}
end
lab.table({"workers", "threads s", "speedup", "processes s", "speedup"},
          rows)
