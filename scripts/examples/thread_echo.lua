-- scripts/examples/thread_echo.lua -- start a thread with an argument,
-- wait for it with join, then go on in the main thread.
local threading = require "threading"

local function do_some_work (val)
  print("doing some work in thread")
  print(("echo: %s"):format(val))
end

local val = "text"
local t = threading.Thread{target = do_some_work, args = {val}}
t:start()
t:join()
print("done")
