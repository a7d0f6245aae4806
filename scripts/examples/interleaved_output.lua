-- scripts/examples/interleaved_output.lua -- three threads write their
-- name 49 times with random pauses: the output interleaves. The main
-- thread first does not wait (its last line comes early), then joins;
-- the third round uses callable objects as targets.
local threading = require "threading"
local time = require "time"

local function myfunc (name)
  for _ = 1, 49 do
    io.write(name)
    io.flush()
    time.sleep(math.random() * 0.004)
  end
end

local function three (target)
  local ts = {}
  for i = 1, 3 do
    ts[i] = threading.Thread{target = target, args = {tostring(i)}}
    ts[i]:start()
  end
  return ts
end

local ts = three(myfunc)
print("\nEnd of main Thread")  -- printed while the threads still write
for _, t in ipairs(ts) do t:join() end

ts = three(myfunc)
for _, t in ipairs(ts) do t:join() end
print("\nEnd of main Thread")

local MyClass = {__call = function (_, name) myfunc(name) end}
ts = three(setmetatable({}, MyClass))
for _, t in ipairs(ts) do t:join() end
print("\nEnd of main")
