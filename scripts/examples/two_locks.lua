-- scripts/examples/two_locks.lua -- two locks: threads 1 and 3 share lockA,
-- 2 and 4 share lockB. 1 and 3 never run at the same time, nor 2 and 4,
-- but a thread of one pair runs beside a thread of the other.
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

local lockA, lockB = threading.Lock(), threading.Lock()
local ts = {
  threading.Thread{target = task, args = {"1", lockA}},
  threading.Thread{target = task, args = {"2", lockB}},
  threading.Thread{target = task, args = {"3", lockA}},
  threading.Thread{target = task, args = {"4", lockB}},
}
for _, t in ipairs(ts) do t:start() end
for _, t in ipairs(ts) do t:join() end
print()
