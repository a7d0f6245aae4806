-- scripts/examples/logging_print_time.lua -- two threads log a few
-- iterations at different rates with logging.info, Python's %-style
-- arguments included; the main thread joins them and logs "done.".
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function print_time (threadName, delay)
  logging.info("Thread %s: starting", threadName)
  local count = 0
  while count < 3 do
    time.sleep(delay)
    count = count + 1
    logging.info("%s: is running", threadName)
  end
  logging.info("Thread %s: finishing", threadName)
end

logging.basicConfig{level = logging.INFO,
                    format = "%(asctime)s %(message)s", datefmt = "%H:%M:%S"}
local ok = pcall(function ()
  local t1 = threading.Thread{target = print_time, args = {"Thread-1", 0.1}}
  local t2 = threading.Thread{target = print_time, args = {"Thread-2", 0.2}}
  t1:start()
  t2:start()
  t1:join()
  t2:join()
end)
if not ok then logging.error("Error: unable to start thread") end
logging.info("done.")
