-- scripts/explore/double_checked_fixed.lua -- double_checked.lua's twin:
-- the instance is made whole in a local and published in one store.
local threading = require "threading"

local instance
local lock = threading.Lock()
local function get ()
  if instance == nil then
    lock:acquire()
    if instance == nil then
      local made = {}
      local config = {}
      for i = 1, 10 do config[i] = i * i end
      made.config = config
      instance = made                -- published whole
    end
    lock:release()
  end
  return instance
end
local function user ()
  local cfg = get().config
  assert(cfg ~= nil, "double-checked: instance used before it was made")
end
local a = threading.Thread{target = user}
local b = threading.Thread{target = user}
a:start(); b:start()
a:join(); b:join()
