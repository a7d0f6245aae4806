-- scripts/examples/event_wait.lua -- one thread waits for an Event with no
-- timeout, another polls it with a timeout (and says each time it ran
-- out) until the main thread sets it.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function waitEvent (e)
  logging.debug("wait for event")
  local es = e:wait()
  logging.debug("event is %s", es)
end

local function waitEventTimeout (e, t)
  logging.debug("wait for event or timeout")
  while not e:isSet() do
    local es = e:wait(t)
    if es then
      logging.debug("event is %s", es)
    else
      logging.debug("%ss timeout", t)
    end
  end
end

logging.basicConfig{level = logging.DEBUG,
                    format = "(%(threadName)-10s) %(asctime)s %(message)s"}
local e = threading.Event()
local t1 = threading.Thread{name = "block", target = waitEvent, args = {e}}
local t2 = threading.Thread{name = "non-block", target = waitEventTimeout,
                            args = {e, 0.2}}
t1:start()
t2:start()
logging.debug("wait 0.5s before setting event")
time.sleep(0.5)
logging.debug("now setting event")
e:set()
