-- scripts/examples/subclass_thread.lua -- subclassing Thread: new() adds
-- fields (Python's args and kwargs), run() is what the thread does.
local threading = require "threading"
local logging = require "logging"

local function show (v)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function (a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = math.type(k) == "integer" and show(v[k])
                        or ("%s=%s"):format(k, show(v[k]))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local MyThread = threading.Thread:extend()

function MyThread:new (args, kwargs)
  MyThread.super.new(self)
  self.args = args or {}
  self.kwargs = kwargs
end

function MyThread:run ()
  logging.debug("running with args: %s and kwargs: %s", show(self.args),
                show(self.kwargs))
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
for i = 0, 2 do
  local t = MyThread({i}, {a = 1, b = 2})
  t:start()
  t:join()
end
