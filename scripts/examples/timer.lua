-- scripts/examples/timer.lua -- a Timer calls a function once, after a
-- delay, on its own thread.
local threading = require "threading"

local function hello ()
  print("hello, world")
end

local t = threading.Timer(0.3, hello)
t:start()  -- after 0.3 seconds, "hello, world" will be printed
print("timer started")
