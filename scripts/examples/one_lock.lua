-- scripts/examples/one_lock.lua -- four threads share one Lock, taken
-- around the whole task: they run one after another, so the output is
-- four unbroken runs of one digit each.
local threading = require "threading"
local time = require "time"

local function task (name, lock)
  lock:acquire()
  for _ = 1, 49 do
    io.write(name)
    io.flush()
    time.sleep(math.random() * 0.004)
  end
  lock:release()
end

local lock = threading.Lock()
local ts = {}
for i = 1, 4 do
  ts[i] = threading.Thread{target = task, args = {tostring(i), lock}}
end
for _, t in ipairs(ts) do t:start() end
for _, t in ipairs(ts) do t:join() end
print()
