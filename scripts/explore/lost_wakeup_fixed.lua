-- scripts/explore/lost_wakeup_fixed.lua -- lost_wakeup.lua's twin: the
-- consumer waits only while the state says it must, so an early notify
-- is not needed.
local threading = require "threading"

local cond = threading.Condition()
local ready, got = false, nil
local consumer = threading.Thread{target = function ()
  cond:acquire()
  while not ready do cond:wait() end
  got = ready
  cond:release()
end}
local producer = threading.Thread{target = function ()
  cond:acquire()
  ready = true
  cond:notify()
  cond:release()
end}
consumer:start(); producer:start()
consumer:join(); producer:join()
assert(got == true)
