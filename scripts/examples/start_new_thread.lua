-- scripts/examples/start_new_thread.lua -- the low-level _thread module:
-- start_new_thread runs a function with a table of arguments; the main
-- program spins in a loop (the tutorial's loop never ends: Ctrl-C; this
-- one ends when both threads have printed five times).
local _thread = require "_thread"
local time = require "time"

local finished = 0

local function print_time (threadname, delay)
  local count = 0
  while count < 5 do
    time.sleep(delay)
    count = count + 1
    print(("%s: %s"):format(threadname, os.date("%a %b %d %H:%M:%S %Y")))
  end
  finished = finished + 1
end

local ok, err = pcall(function ()
  _thread.start_new_thread(print_time, {"thread-1", 0.05})
  _thread.start_new_thread(print_time, {"thread-2", 0.1})
end)
if not ok then print("unable to start thread: " .. tostring(err)) end
while finished < 2 do
  -- busy: the GIL's switch interval lets the threads in
end
