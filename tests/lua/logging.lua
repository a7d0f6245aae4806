print("testing logging")
local logging = require "logging"
local threading = require "threading"

local path = os.tmpname()
local function lines ()
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

-- the default: warnings and up, LEVEL:name:message, on stderr; checked
-- by running a child
if arg[1] ~= "child" then
  local cmd = ('"%s" "%s" child 2>&1'):format(os.getenv("LUAGIL") or arg[-1],
                                              arg[0])
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  assert(out == "testing logging\nWARNING:root:warned 3\nERROR:app:failed\n",
         out)
else
  logging.info("not shown")
  logging.warning("warned %d", 3)
  logging.getLogger("app"):error("failed")
  os.exit(0)
end

logging.basicConfig{level = logging.DEBUG, filename = path, filemode = "w",
  format = "[%(levelname)-8s] (%(threadName)-10s) %(name)s: %(message)s"}
logging.basicConfig{level = logging.ERROR}  -- ignored: configured already
logging.debug("d%s", 1)
local t = threading.Thread{name = "worker", target = function ()
  logging.getLogger("x.y"):info("from %s", "thread")
end}
t:start(); t:join()
local l = lines()
assert(l[1] == "[DEBUG   ] (MainThread) root: d1", l[1])
assert(l[2] == "[INFO    ] (worker    ) x.y: from thread", l[2])

-- levels and the hierarchy
local a = logging.getLogger("a")
assert(logging.getLogger("a") == a and logging.getLogger() == logging.root)
a:setLevel(logging.ERROR)
local ab = logging.getLogger("a.b")
assert(ab:getEffectiveLevel() == logging.ERROR)
ab:warning("dropped")
ab:error("kept")
a:setLevel("INFO")
assert(ab:isEnabledFor(logging.INFO) and not ab:isEnabledFor(logging.DEBUG))
assert(logging.getLevelName(logging.WARNING) == "WARNING")
assert(logging.getLevelName("ERROR") == logging.ERROR)
local ok = pcall(a.setLevel, a, "LOUD")
assert(not ok)
l = lines()
assert(#l == 3 and l[3]:find("a.b: kept", 1, true))

-- asctime with milliseconds, datefmt, other fields, exception
logging.basicConfig{force = true, filename = path, filemode = "w",
  format = "%(asctime)s|%(created)f|%(relativeCreated)d|%(process)d|"
           .. "%(thread)d|%(filename)s:%(lineno)d|%(message)s"}
logging.warning("w")
logging.basicConfig{force = true, filename = path, filemode = "a",
  datefmt = "%H:%M", format = "%(asctime)s %(message)s"}
logging.warning("x")
xpcall(error, function (e) logging.exception("caught %s", e) end, "oops")
l = lines()
assert(l[1]:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d,%d%d%d|%d+%.%d+|%d+|%d+|%d+|logging.lua:%d+|w$"), l[1])
assert(l[2]:match("^%d%d:%d%d x$"), l[2])
assert(l[3]:match("^%d%d:%d%d caught oops$"), l[3])
assert(l[4] == "stack traceback:", l[4])

-- one record, one write: lines from many threads never interleave
logging.basicConfig{force = true, filename = path, filemode = "w",
                    format = "%(threadName)s %(message)s"}
local ts = {}
for i = 1, 4 do
  ts[i] = threading.Thread{name = "T" .. i, target = function ()
    for j = 1, 200 do logging.warning("%s", ("x"):rep(100 + j)) end
  end}
  ts[i]:start()
end
for _, th in ipairs(ts) do th:join() end
l = lines()
assert(#l == 800)
for _, line in ipairs(l) do assert(line:match("^T%d x+$"), line) end
os.remove(path)
print("OK")
