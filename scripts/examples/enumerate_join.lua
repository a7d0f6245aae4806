-- scripts/examples/enumerate_join.lua -- threading.enumerate() lists the
-- live threads, the main one included: join all the others, skipping
-- the current thread (joining it would deadlock).
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function worker ()
  local pause = math.random(1, 5)
  logging.debug("sleeping %s", pause / 10)
  time.sleep(pause / 10)
  logging.debug("exiting")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
for _ = 1, 3 do
  local t = threading.Thread{target = worker}
  t:setDaemon(true)
  t:start()
end

local maint = threading.currentThread()
for _, t in ipairs(threading.enumerate()) do
  if t ~= maint then
    logging.debug("joining %s", t:getName())
    t:join()
  end
end
