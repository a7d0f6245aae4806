-- scripts/examples/condition_notify_all.lua -- three consumers wait on one
-- Condition; the producer wakes them all with notifyAll. (A flag guards
-- the wait, so a consumer that comes late does not wait for ever.)
local threading = require "threading"
local time = require "time"

local dataAvailable = threading.Condition()
local ready = false

local Producer = setmetatable({}, {__call = function (_, cond)
  print("Producer is obtaining data")
  time.sleep(0.3)
  local _ <close> = cond:guard()  -- grab the lock
  print("Producer is notifying all consumers")
  ready = true
  cond:notifyAll()
end})

local Consumer = {__call = function (_, name, cond)
  local _ <close> = cond:guard()
  print(("consumer%s is waiting"):format(name))
  while not ready do cond:wait() end
  print(("consumer%s has obtained the data"):format(name))
end}

local t = threading.Thread{target = Producer, args = {dataAvailable}}
local ts = {t}
for i = 1, 3 do
  ts[#ts + 1] = threading.Thread{target = setmetatable({}, Consumer),
                                 args = {tostring(i), dataAvailable}}
end
for _, th in ipairs(ts) do th:start() end
for _, th in ipairs(ts) do th:join() end
print("\nEnd of main")
