-- tests/lua/time.lua -- the time module's calendar functions and errors
-- (sleep and the clocks' basics: sleep.lua).
print("testing time")

local time = require "time"

local checkerror = require("testlib").checkerror

-- gmtime: Python's struct_time, by name and by position.
local t = time.gmtime(0)
assert(t.tm_year == 1970 and t.tm_mon == 1 and t.tm_mday == 1)
assert(t.tm_hour == 0 and t.tm_min == 0 and t.tm_sec == 0)
assert(t.tm_wday == 3 and t.tm_yday == 1 and t.tm_isdst == 0)  -- Thursday
assert(t[1] == 1970 and t[2] == 1 and t[7] == 3 and t[9] == 0)
assert(t.tm_zone == "GMT" or t.tm_zone == "UTC")
t = time.gmtime(951782400)  -- 2000-02-29
assert(t.tm_year == 2000 and t.tm_mon == 2 and t.tm_mday == 29)
assert(t.tm_yday == 60 and t.tm_wday == 1)                      -- Tuesday

-- strftime with a struct_time, and the empty result.
assert(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(86400 * 365)) ==
       "1971-01-01 00:00:00")
assert(time.strftime("%a %A %j", time.gmtime(0)) == "Thu Thursday 001")
assert(time.strftime("", time.gmtime(0)) == "")
assert(time.strftime("%p", time.gmtime(0)) == "AM")
assert(#time.strftime(string.rep("%Y", 500)) == 2000)
assert(type(time.strftime("%H")) == "string")

-- localtime and mktime round trip; ctime and asctime formats.
local now = math.floor(time.time())
local lt = time.localtime(now)
assert(time.mktime(lt) == now)
assert(time.localtime().tm_year >= 2024)
assert(time.asctime(time.gmtime(0)) == "Thu Jan  1 00:00:00 1970")
assert(time.ctime(now) == time.asctime(time.localtime(now)))
assert(time.ctime():match("^%a%a%a %a%a%a [ %d]%d %d%d:%d%d:%d%d %d+$"))
checkerror("must be an integer", time.mktime, {tm_year = "x"})

-- Clocks.
assert(math.type(time.monotonic_ns()) == "integer")
assert(math.type(time.perf_counter_ns()) == "integer")
print("OK")
