-- scripts/examples/daemon.lua -- a daemon thread does not keep the
-- program alive: its "exiting..." never appears, because every
-- non-daemon thread (the main one included) is done before it wakes.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function daemon ()
  logging.debug("starting...")
  time.sleep(0.5)
  logging.debug("exiting...")
end

local function non_daemon ()
  logging.debug("starting...")
  logging.debug("exiting...")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
local d = threading.Thread{target = daemon, name = "daemon"}
d:setDaemon(true)
local t = threading.Thread{target = non_daemon, name = "non daemon"}
d:start()
t:start()
