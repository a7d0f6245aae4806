-- tests/lua/testlib.lua -- helpers shared by the Lua tests (not a test).
-- Each test reaches it with require "testlib": CTest runs them in this
-- folder.
local testlib = {}

-- checkerror(msg, f, ...): f(...) must raise an error whose text contains
-- 'msg' (plain text, not a pattern).
function testlib.checkerror (msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error; expected '" .. msg .. "'")
  assert(string.find(tostring(err), msg, 1, true),
         "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- go(f, ...): f(...) in a new threading.Thread, started; returns the
-- Thread (joined by the caller).
function testlib.go (f, ...)
  local t = require("threading").Thread{target = f, args = table.pack(...)}
  t:start()
  return t
end

return testlib
