-- scripts/explore/check_then_act.lua -- check-then-act on a shared table:
-- each thread looks for a session in a cache and makes one if it finds
-- none, but between the look and the store another thread can make its
-- own: two sessions for one user. Fixed twin: check_then_act_fixed.lua.
local threading = require "threading"

local cache, made = {}, 0
local function session (user)
  local s = cache[user]
  if s == nil then          -- check ...
    made = made + 1
    s = {user = user, id = made}
    cache[user] = s         -- ... then act
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
