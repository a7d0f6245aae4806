-- scripts/explore/timer_cancel_fixed.lua -- timer_cancel.lua's twin: the
-- handler and the reply each decide the request's fate holding one Lock,
-- and only while it is still waiting.
local threading, time = require "threading", require "time"

local state, replied = "waiting", false
local lock = threading.Lock()
local timer = threading.Timer(0.05, function ()
  lock:with(function ()
    if state == "waiting" then state = "timed out" end
  end)
end)
local reply = threading.Thread{target = function ()
  time.sleep(0.05)
  lock:with(function ()
    if state == "waiting" then
      state, replied = "done", true
      timer:cancel()
    end
  end)
end}
timer:start(); reply:start()
reply:join(); timer:join()
assert(not (replied and state == "timed out"),
       "timer: the request both succeeded and timed out")
