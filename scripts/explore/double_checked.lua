-- scripts/explore/double_checked.lua -- broken double-checked
-- initialisation: the instance is published before it is filled in, so
-- a thread that finds it set without taking the lock may use it half
-- made. Fixed twin: double_checked_fixed.lua.
local threading = require "threading"

local instance
local lock = threading.Lock()
local function get ()
  if instance == nil then            -- first check, without the lock
    lock:acquire()
    if instance == nil then          -- second check, with it
      instance = {}                  -- published ...
      local config = {}              -- ... then filled in
      for i = 1, 10 do config[i] = i * i end
      instance.config = config
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
