-- scripts/explore/lost_wakeup.lua -- a lost wake-up: the consumer waits
-- on the Condition without looking at the state it guards, so a notify
-- that comes before the wait is lost and the consumer waits for ever
-- (threading.DeadlockError). Fixed twin: lost_wakeup_fixed.lua.
local threading = require "threading"

local cond = threading.Condition()
local ready, got = false, nil
local consumer = threading.Thread{target = function ()
  cond:acquire()
  cond:wait()               -- should be: while not ready do ... end
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
