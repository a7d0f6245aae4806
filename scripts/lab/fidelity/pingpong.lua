-- scripts/lab/fidelity/pingpong.lua -- the pingpong workload of the
-- fidelity lab, luagil's version; see LICENSE (MIT). Two threads hand a
-- token back and forth N times through two Semaphore(0) objects.
-- Usage: luagil pingpong.lua [N]   (default 20,000)
local threading = require "threading"
local time = require "time"

local N = math.tointeger(tonumber(arg[1])) or 20000
local s1, s2 = threading.Semaphore(0), threading.Semaphore(0)

local tb = threading.Thread{target = function ()
  for _ = 1, N do
    s1:acquire()
    s2:release()
  end
end}
tb:start()
local t0 = time.perf_counter()
for _ = 1, N do   -- thread A, the main thread
  s1:release()
  s2:acquire()
end
local dt = time.perf_counter() - t0
tb:join()
print(string.format("pingpong rt_per_s=%.0f", N / dt))
