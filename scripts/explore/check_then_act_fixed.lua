-- scripts/explore/check_then_act_fixed.lua -- check_then_act.lua's twin:
-- the look and the store happen holding one Lock.
local threading = require "threading"

local cache, made = {}, 0
local lock = threading.Lock()
local function session (user)
  local _ <close> = lock:guard()
  local s = cache[user]
  if s == nil then
    made = made + 1
    s = {user = user, id = made}
    cache[user] = s
  end
  return s
end
local function worker ()
  for i = 1, 20 do session("user" .. i % 4) end
end
local a = threading.Thread{target = worker}
local b = threading.Thread{target = worker}
a:start(); b:start()
a:join(); b:join()
assert(made == 4, "check-then-act: " .. made .. " sessions for 4 users")
