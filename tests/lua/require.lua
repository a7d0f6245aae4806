-- tests/lua/require.lua -- require is thread-safe: two threads requiring
-- one module get one table, loaded once; errors still come through.
print("testing require from threads")

local threading = require "threading"
local time = require "time"

-- require: two threads requiring one module get one table, loaded once.
do
  local loads = 0
  package.preload["slowmod"] = function ()
    loads = loads + 1
    time.sleep(0.05)  -- let the other thread in while we load
    return {id = {}}
  end
  local got = {}
  local ts = {}
  for i = 1, 2 do
    ts[i] = threading.Thread{target = function () got[i] = require "slowmod" end}
    ts[i]:start()
  end
  for i = 1, 2 do ts[i]:join() end
  assert(loads == 1, "module loaded " .. loads .. " times")
  assert(got[1] == got[2] and got[1] == require "slowmod")
  -- errors still come through
  local ok, err = pcall(require, "no.such.module.here")
  assert(not ok and err:find("module 'no.such.module.here' not found", 1, true))
end

print("OK")
