-- scripts/examples/logging_threadname.lua -- logging instead of print:
-- %(threadName)s tells which thread wrote each record.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function worker2s ()
  logging.debug("starting...")
  time.sleep(0.2)
  logging.debug("exiting...")
end

local function worker3s ()
  logging.debug("starting...")
  time.sleep(0.3)
  logging.debug("exiting...")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "[%(levelname)s] %(threadName)s %(message)s"}
local t1 = threading.Thread{target = worker3s, name = "wait 3"}
local t2 = threading.Thread{target = worker2s, name = "wait 2"}
local t3 = threading.Thread{target = worker2s}
t1:start()
t2:start()
t3:start()
