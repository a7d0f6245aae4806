-- scripts/examples/join_timeout.lua -- join with a timeout returns even
-- if the thread is still running; is_alive tells which.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function daemon ()
  logging.debug("starting...")
  time.sleep(0.4)
  logging.debug("exiting...")
end

local function non_daemon ()
  logging.debug("starting...")
  logging.debug("exiting...")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
local d = threading.Thread{target = daemon, name = "daemon", daemon = true}
local t = threading.Thread{target = non_daemon, name = "non daemon"}
d:start()
t:start()
d:join(0.1)
print("d.isAlive() value: ", d:isAlive())
t:join()
