-- tests/lua/misuse_net.lua -- issue 19's hostile-input cases for socket,
-- time, os and dis: every bad argument is a clear error, a socket closed
-- or finalised under another thread's wait ends that wait, and a closed
-- socket is never reported for a descriptor number reused by another.
print("testing misuse_net")

local testlib = require "testlib"
local checkerror = testlib.checkerror

local LUAGIL = os.getenv("LUAGIL") or arg[-1]

-- run(code): runs 'code' in a child luagil (20 s at most); returns its
-- exit status and its output (stdout and stderr).
local function run (code)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen("timeout 20 " .. LUAGIL .. " " .. name ..
                            " < /dev/null 2>&1; echo \"status=$?\""))
  local out = p:read("a")
  p:close()
  os.remove(name)
  local status = tonumber(out:match("status=(%d+)\n$"))
  return status, out
end


-- {==================================================================
-- dis (case 24): a damaged signature is a bad binary chunk
-- ===================================================================
do
  local dis = require "dis"
  for _, fn in ipairs{dis.dis, dis.code_info, dis.get_instructions,
                      dis.show_code} do
    checkerror("bad binary chunk: not a binary chunk", fn, "\27Lux...")
    checkerror("bad binary chunk: not a binary chunk", fn, "\27")
    checkerror("bad binary chunk: not a binary chunk", fn, "\27Lu")
  end
  local good = string.dump(function (a) return a + 1 end)
  checkerror("bad binary chunk: version mismatch", dis.code_info,
             good:sub(1, 4) .. "\0" .. good:sub(6))
  -- source still is source
  assert(dis.code_info("return 1"):find("LOADI"))
  checkerror("unexpected symbol", dis.code_info, "return +")
end
-- }==================================================================


-- {==================================================================
-- time and os (case 22): no silent truncation of years or formats
-- ===================================================================
do
  local time = require "time"
  local huge = {math.maxinteger, 1, 1, 0, 0, 0, 0, 1, 0}
  checkerror("bad argument #2 to 'strftime' (year out of range)",
             function () return time.strftime("%Y", huge) end)
  checkerror("(year out of range)", time.asctime, huge)
  checkerror("(year out of range)", time.mktime, huge)
  checkerror("(year out of range)", time.strftime, "%Y",
             {math.mininteger, 1, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(month out of range)", time.mktime,
             {2020, math.mininteger, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(day of week out of range)", time.mktime,
             {2020, 1, 1, 0, 0, 0, math.maxinteger, 1, 0})
  checkerror("(month out of range)", time.strftime, "%b",
             {2020, 13, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(hour out of range)", time.asctime,
             {2020, 1, 1, 24, 0, 0, 0, 1, 0})
  checkerror("bad argument #1 to 'mktime' (struct_time field 'tm_year' " ..
             "must be an integer)", function () time.mktime{tm_year = "x"} end)
  -- Python's zeros: the smallest month, day and year day
  assert(time.strftime("%Y %b %d", {2020, 0, 0, 0, 0, 0, 0, 0, 0}) ==
         "2020 Jan 01")
  assert(time.strftime("%Y", {2147483647, 1, 1, 0, 0, 0, 0, 1, 0}) ==
         "2147483647")
  checkerror("bad argument #1 to 'strftime' (embedded null character)",
             function () return time.strftime("a\0%Y") end)
  checkerror("(embedded null character)", time.strftime, "\0")
  -- a year past a C int, from a huge timestamp: a table is right, a
  -- formatted year is an error (it printed -2147481749)
  local last = 67768036191676799 - 86400 * 366
  assert(time.gmtime(last).tm_year == 2147485546)
  checkerror("(year out of range)", time.strftime, "%Y", time.gmtime(last))
  assert(time.ctime(last):find(" 214748554[67]$"))
  assert(os.date("!*t", last).year == 2147485546)
  checkerror("bad argument #2 to 'date' (time out of range)",
             function () return os.date("!%Y", last) end)
  checkerror("(time out of range)", os.date, "%c", last)
  assert(os.date("!%Y-%m-%d", 0) == "1970-01-01")
  -- os.date's own errors still name it
  checkerror("bad argument #1 to 'date' (invalid conversion specifier " ..
             "'%Ez')", function () return os.date("%Ez") end)
  checkerror("bad argument #2 to 'date' (number expected, got table)",
             function () return os.date("%Y", {}) end)
  checkerror("number has no integer representation", os.date, "%Y", 0.5)
  -- sleep: NaN and infinity
  checkerror("bad argument #1 to 'sleep' (Invalid value NaN (not a number))",
             function () time.sleep(0/0) end)
  checkerror("(sleep length is too large)", time.sleep, math.huge)
  checkerror("(sleep length is too large)", time.sleep, 1e300)
  checkerror("(sleep length must be non-negative)", time.sleep, -math.huge)
  -- a name or command C would cut at its first zero
  checkerror("bad argument #1 to 'remove' (embedded null byte)",
             function () return os.remove("x\0y") end)
  checkerror("bad argument #2 to 'rename' (embedded null byte)",
             function () return os.rename("x", "y\0z") end)
  checkerror("bad argument #1 to 'execute' (embedded null byte)",
             function () return os.execute("true\0false") end)
  assert(os.execute("true") == true)
end
-- }==================================================================
print("OK")
