-- scripts/examples/race_counter_lock.lua -- the race fixed with a Lock:
-- each thread holds it for its whole loop, and the total is exact.
local threading = require "threading"

local counter = 0
local threads = {}
local v = threading.Lock()

local function fun ()
  local _ <close> = v:guard()
  for _ = 1, 500000 do
    counter = counter + 1
  end
end

threading.setswitchinterval(0.0001)
for _ = 1, os.cpu_count() do
  local t = threading.Thread{target = fun}
  t:start()
  threads[#threads + 1] = t
end
for _, t in ipairs(threads) do t:join() end
print(counter)
print(("expected %d"):format(os.cpu_count() * 500000))
