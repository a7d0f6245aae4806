-- scripts/examples/semaphore_pool.lua -- a Semaphore(2) lets at most two
-- of five workers be active at once; a Lock guards the list of names.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local ActivePool = {}
ActivePool.__index = ActivePool

local function activePool ()
  return setmetatable({active = {}, lock = threading.Lock()}, ActivePool)
end

local function show (list)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = ("'%s'"):format(v) end
  return "[" .. table.concat(parts, ", ") .. "]"
end

function ActivePool:makeActive (name)
  local _ <close> = self.lock:guard()
  self.active[#self.active + 1] = name
  logging.debug("running: %s", show(self.active))
end

function ActivePool:makeInactive (name)
  local _ <close> = self.lock:guard()
  for i, v in ipairs(self.active) do
    if v == name then table.remove(self.active, i) break end
  end
  logging.debug("running: %s", show(self.active))
end

local function worker (s, pool)
  local _ <close> = s:guard()
  local name = threading.currentThread():getName()
  pool:makeActive(name)
  time.sleep(0.1)
  pool:makeInactive(name)
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
local pool = activePool()
local s = threading.Semaphore(2)
for _ = 1, 5 do
  local t = threading.Thread{target = worker, args = {s, pool}}
  t:start()
end
