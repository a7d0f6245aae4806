-- scripts/lab/parallel.lua -- lab 7, three ways to run CPU-bound Lua at
-- once: the same total work (sum of i^0.3) split over 1, 2, 4 workers
-- that are threads of one interpreter, interpreters of one process (each
-- with its own GIL, called from a thread each), or processes. Threads take
-- turns on one GIL and cannot beat one thread; interpreters and processes
-- run on all the free cores. Workers are made before the clock starts
-- (interpreters.create, mp.Pool) and closed after it stops. The timeline
-- of the 4-interpreter run shows the interpreters' green bars side by
-- side (each one's lane is its MainThread: a call runs on that
-- interpreter's main state) while the calling threads are grey, blocked.
-- Usage: luagil scripts/lab/parallel.lua [--small] [--html=PATH] [N [ROUNDS]]
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local interpreters = require "interpreters"
local mp = require "multiprocessing"
local threading = require "threading"

local o = lab.init("parallel")
local N = tonumber(o.args[1]) or (o.small and 400000 or 16000000)
local ROUNDS = tonumber(o.args[2]) or (o.small and 1 or 3)
local KS = {1, 2, 4}
local KINDS = {"threads", "interpreters", "processes"}

-- The ranges of the sum for k workers: {lo, hi} each.
local function parts (k)
  local t = {}
  for j = 0, k - 1 do t[#t + 1] = {j * N // k, (j + 1) * N // k} end
  return t
end

-- Each runner returns the wall time of the k-way sum and the sum.
local runners = {}

function runners.threads (k)
  local ts = {}
  for j, r in ipairs(parts(k)) do
    ts[j] = threading.Thread{name = "thread-" .. j, target = lab.work,
                             args = r}
  end
  local dt = lab.timed(function ()
    for _, t in ipairs(ts) do t:start() end
    for _, t in ipairs(ts) do t:join() end
  end)
  local s = 0.0
  for _, t in ipairs(ts) do s = s + t:value() end
  return dt, s
end

-- lab.work has no upvalues: it crosses to the other interpreter as it is.
function runners.interpreters (k)
  local ips = {}
  for j = 1, k do ips[j] = interpreters.create() end
  local dt, s = lab.timed(function ()
    local ts = {}
    for j, r in ipairs(parts(k)) do
      ts[j] = ips[j]:call_in_thread(lab.work, r[1], r[2])
    end
    local s = 0.0
    for _, t in ipairs(ts) do s = s + t:value() end
    return s
  end)
  for _, ip in ipairs(ips) do ip:close() end
  return dt, s
end

function runners.processes (k)
  local pool <close> = mp.Pool(k)
  local dt, res = lab.timed(pool.starmap, pool, lab.work, parts(k))
  local s = 0.0
  for _, x in ipairs(res) do s = s + x end
  return dt, s
end

-- ROUNDS interleaved passes, the best time of each kind and k kept: a
-- shared machine slows single runs at random.
local best = {}
local sum
for round = 1, ROUNDS do
  for _, kind in ipairs(KINDS) do
    for _, k in ipairs(KS) do
      local dt, s
      if round == ROUNDS and kind == "interpreters" and k == KS[#KS] then
        dt, s = lab.traced(o.html, runners[kind], k)
      else
        dt, s = runners[kind](k)
      end
      local key = kind .. k
      if not best[key] or dt < best[key] then best[key] = dt end
      if sum then assert(math.abs(s - sum) < 1e-6 * sum, "sums differ") end
      sum = s
    end
  end
end

print(("== sum of i^0.3 for i < %d: %.6e, split over k workers (best of"
       .. " %d, %d CPUs)"):format(N, sum, ROUNDS, mp.cpu_count()))
local rows = {}
for _, k in ipairs(KS) do
  local row = {k}
  for _, kind in ipairs(KINDS) do
    local t = best[kind .. k]
    row[#row + 1] = t
    row[#row + 1] = ("%.2fx"):format(best[kind .. 1] / t)
  end
  rows[#rows + 1] = row
end
lab.table({"workers", "threads s", "speedup", "interpreters s", "speedup",
           "processes s", "speedup"}, rows)
