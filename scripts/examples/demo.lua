-- scripts/examples/demo.lua -- what a GIL does, in three experiments:
-- I/O-bound threads speed up, CPU-bound threads don't, and an unlocked
-- 'counter = counter + 1' loses updates. Run: luagil scripts/examples/demo.lua
local threading = require "threading"
local time = require "time"

local function timed (nthreads, work)
  local t0 = time.perf_counter()
  local ts = {}
  for i = 1, nthreads do
    ts[i] = threading.Thread{target = work, args = {nthreads}}
    ts[i]:start()
  end
  for _, t in ipairs(ts) do t:join() end
  return time.perf_counter() - t0
end

-- 1. I/O-bound: each "request" sleeps 0.1 s; 20 requests in total.
local function io_work (n)
  for _ = 1, 20 // n do time.sleep(0.1) end
end
print(("I/O-bound, 20 requests:  1 thread %.2f s, 10 threads %.2f s")
      :format(timed(1, io_work), timed(10, io_work)))

-- 2. CPU-bound: the same total work split over 1 and 4 threads.
local function cpu_work (n)
  local s = 0
  for i = 1, 8000000 // n do s = s + i ^ 0.3 end
  return s
end
local one, four = timed(1, cpu_work), timed(4, cpu_work)
print(("CPU-bound, same work:     1 thread %.2f s, 4 threads %.2f s (%.2fx)")
      :format(one, four, four / one))

-- 3. A race between bytecodes: switch every 10 us so it shows at once.
threading.setswitchinterval(0.00001)
counter = 0
timed(4, function ()
  for _ = 1, 200000 do counter = counter + 1 end
end)
print(("Race: 4 threads x 200000 'counter = counter + 1' -> %d (lost %d)")
      :format(counter, 800000 - counter))
