-- scripts/explore/timer_cancel.lua -- a Timer racing a cancel: a request
-- gets a 50 ms timeout and its reply takes 50 ms too. The reply cancels
-- the Timer, but a Timer that has already fired is not stopped by that,
-- and its handler does not look whether the reply came: the request both
-- succeeds and times out. Only a timeout shows it; under --explore time
-- is virtual, so both deadlines are the same instant and the schedule
-- decides. Fixed twin: timer_cancel_fixed.lua.
local threading, time = require "threading", require "time"

local state, replied = "waiting", false
local timer = threading.Timer(0.05, function ()
  state = "timed out"                 -- whatever happened meanwhile
end)
local reply = threading.Thread{target = function ()
  time.sleep(0.05)                    -- the server's latency
  if state == "waiting" then
    state, replied = "done", true
    timer:cancel()                    -- too late if it fired already
  end
end}
timer:start(); reply:start()
reply:join(); timer:join()
assert(not (replied and state == "timed out"),
       "timer: the request both succeeded and timed out")
