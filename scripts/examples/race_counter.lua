-- scripts/examples/race_counter.lua -- a race condition: os.cpu_count()
-- threads each add 1 to a shared counter 500,000 times without a lock.
-- 'counter = counter + 1' is four bytecodes; a switch between the read
-- and the write loses updates, so the total usually falls short.
local threading = require "threading"

local counter = 0
local threads = {}

local function fun ()
  for _ = 1, 500000 do
    counter = counter + 1
  end
end

threading.setswitchinterval(0.0001)  -- more switches: see the race sooner
for _ = 1, os.cpu_count() do
  local t = threading.Thread{target = fun}
  t:start()
  threads[#threads + 1] = t
end
for _, t in ipairs(threads) do t:join() end
print(counter)
print(("expected %d"):format(os.cpu_count() * 500000))
