-- scripts/examples/thread_workers.lua -- the simplest use of Thread: a
-- target function and its arguments; five workers.
local threading = require "threading"

local function worker (num)
  print(("thread worker nr. %s"):format(num))
end

local threads = {}
for i = 0, 4 do
  local t = threading.Thread{target = worker, args = {i}}
  threads[#threads + 1] = t
  t:start()
end
