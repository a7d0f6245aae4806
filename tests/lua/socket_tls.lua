-- tests/lua/socket_tls.lua -- LuaSec's ssl.wrap on luagil sockets: a TLS
-- round trip from 8 threads at once to a local `openssl s_server` (on
-- 127.0.0.1, with a self-signed certificate made here), which serves one
-- connection at a time, so 7 threads wait while one is served. LuaSec's
-- own C code holds the GIL while it waits (README, "LuaSec"), so each
-- thread drives its connection with a timeout of 0 and waits in
-- socket.select, which lets the GIL go: gil.stats() must show it.
-- Skipped (status 77) without LuaSec (Debian's lua-sec) or openssl.
print("testing socket_tls")

local okssl, ssl = pcall(require, "ssl")
if not okssl or not os.execute("command -v openssl > /dev/null") then
  print("skipped: needs LuaSec (Debian's lua-sec) and openssl")
  os.exit(77)
end
local socket = require "socket"
local threading = require "threading"
local gil = require "gil"
local time = require "time"

local N = 8
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local function sh (cmd)
  assert(os.execute(cmd .. " > " .. dir .. "/sh.log 2>&1"), cmd)
end
sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 " ..
    "-nodes -days 1 -subj /CN=localhost -keyout %s/key.pem " ..
    "-out %s/cert.pem"):format(dir, dir))

-- A free port from the kernel, for s_server.
local probe = socket.tcp4()
assert(probe:bind("127.0.0.1", 0))
local port = select(2, probe:getsockname())
probe:close()
local p = assert(io.popen(("openssl s_server -accept 127.0.0.1:%s " ..
  "-cert %s/cert.pem -key %s/key.pem -rev -naccept %d > %s/server.log " ..
  "2>&1 & echo $!"):format(port, dir, dir, N, dir)))
local pid = assert(tonumber(p:read("l")))
p:close()

-- s_server prints ACCEPT once it listens.
local deadline = time.monotonic() + 30
while true do
  local f = io.open(dir .. "/server.log")
  local log = f and f:read("a") or ""
  if f then f:close() end
  if log:find("ACCEPT") then break end
  assert(time.monotonic() < deadline, "s_server did not start: " .. log)
  time.sleep(0.01)
end

-- Waits, with the GIL released, for what LuaSec said it wants.
local function await (conn, err)
  local r, w
  if err == "wantread" or err == "timeout" then
    r = socket.select({conn}, nil, 30)
  elseif err == "wantwrite" then
    r, w = socket.select(nil, {conn}, 30)
    r = w
  else
    error("tls: " .. tostring(err), 2)
  end
  assert(r[1] == conn, "tls: no progress in 30 s")
end

local function roundtrip (i)
  local tcp = assert(socket.connect("127.0.0.1", port))
  local conn = assert(ssl.wrap(tcp, {mode = "client", protocol = "any",
                                     verify = "none"}))
  assert(tcp:getfd() == -1)  -- the descriptor is LuaSec's now
  conn:settimeout(0)
  while true do
    local ok, err = conn:dohandshake()
    if ok then break end
    await(conn, err)
  end
  local msg = ("round trip %d"):format(i)
  local sent, err = conn:send(msg .. "\n")
  while not sent do
    await(conn, err)
    sent, err = conn:send(msg .. "\n")
  end
  local partial = ""
  while true do
    local line, e, part = conn:receive("*l", partial)
    if line then
      conn:close()
      return line
    end
    partial = part
    await(conn, e)
  end
end

local results, threads = {}, {}
for i = 1, N do
  threads[i] = threading.Thread{name = "tls" .. i, target = function ()
    results[i] = roundtrip(i)
  end}
  threads[i]:start()
end
for i = 1, N do threads[i]:join() end
os.execute("kill " .. pid .. " 2> /dev/null")
os.execute("rm -rf " .. dir)

local byname = {}
for _, s in ipairs(gil.stats().threads) do byname[s.name] = s end
for i = 1, N do
  assert(results[i] == ("round trip %d"):format(i):reverse(), results[i])
  local s = assert(byname["tls" .. i])
  assert(s.blocking_drops > 0, "tls" .. i .. " never let the GIL go")
end
print(("%d TLS round trips through one s_server"):format(N))
print("OK")
