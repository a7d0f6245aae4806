-- processes_vs_threads.lua -- the lesson the threading tutorials end on:
-- threads don't speed up CPU-bound work under a GIL; processes do. The same
-- script shape twice: split a sum into two parts, run the parts on two
-- threads, then on two processes (a Pool), and compare with one part.
local mp = require "multiprocessing"
local threading = require "threading"
local time = require "time"

local N = 2000000

local function work (lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  return s
end

local function timed (f)
  local t0 = time.perf_counter()
  local s = f()
  return time.perf_counter() - t0, s
end

-- One part, in this thread.
local t_one, s_one = timed(function () return work(0, N) end)

-- Two threads: they take turns holding the GIL.
local t_threads, s_threads = timed(function ()
  local out = {}
  local a = threading.Thread{target = function () out[1] = work(0, N // 2) end}
  local b = threading.Thread{target = function () out[2] = work(N // 2, N) end}
  a:start(); b:start(); a:join(); b:join()
  return out[1] + out[2]
end)

-- Two processes: each has its own interpreter (and GIL).
local pool <close> = mp.Pool(2)
pool:apply(work, {0, 1})  -- the workers are up before we time them
local t_procs, s_procs = timed(function ()
  local r = pool:starmap(work, {{0, N // 2}, {N // 2, N}})
  return r[1] + r[2]
end)

print(("one thread:    %.3f s"):format(t_one))
print(("two threads:   %.3f s  (%.2fx)"):format(t_threads, t_one / t_threads))
print(("two processes: %.3f s  (%.2fx on %d CPUs)"):format(t_procs,
      t_one / t_procs, mp.cpu_count()))

-- The same answer all three ways (floating-point sums in another order).
assert(math.abs(s_threads - s_one) < 1e-9 * s_one)
assert(math.abs(s_procs - s_one) < 1e-9 * s_one)
