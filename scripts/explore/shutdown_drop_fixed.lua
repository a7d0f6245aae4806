-- scripts/explore/shutdown_drop_fixed.lua -- shutdown_drop.lua's twin:
-- the producer ends the stream with a sentinel item, which the consumer
-- reads after every real one.
local threading, queue = require "threading", require "queue"

local q = queue.Queue()
local STOP = {}
local handled = 0
local consumer = threading.Thread{target = function ()
  while true do
    local item = q:get()
    if item == STOP then break end
    handled = handled + item
  end
end}
local producer = threading.Thread{target = function ()
  for i = 1, 5 do q:put(1) end
  q:put(STOP)
end}
consumer:start(); producer:start()
producer:join(); consumer:join()
assert(handled == 5, "shutdown: " .. handled .. " of 5 items handled")
