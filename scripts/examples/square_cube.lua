-- scripts/examples/square_cube.lua -- two threads compute a square and a
-- cube; the main thread joins both before it says "Done!".
local threading = require "threading"

local function print_cube (num)
  print("cube of a number", num * num * num)
end

local function print_square (num)
  print("square of a number", num * num)
end

local t1 = threading.Thread{target = print_square, args = {10}}
local t2 = threading.Thread{target = print_cube, args = {10}}
t1:start()
t2:start()
t1:join()  -- wait until thread 1 is completely executed
t2:join()
print("Done!")
