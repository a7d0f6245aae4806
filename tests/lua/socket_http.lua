-- tests/lua/socket_http.lua -- LuaSocket's socket.http, unchanged, on
-- luagil's socket core: 16 threads make a request each, at once, to an
-- HTTP server of this test on 127.0.0.1, while a CPU-bound thread runs.
-- The server answers no one before all 16 requests are in, so every
-- client waits in receive at the same time: that can only end if each
-- wait let the GIL go, and gil.stats() must show each client's blocking
-- drops. Skipped (status 77) without Debian's lua-socket.
print("testing socket_http")

local ok, http = pcall(require, "socket.http")
if not ok then
  print("skipped: no socket.http (Debian's lua-socket)")
  os.exit(77)
end
local socket = require "socket"
local threading = require "threading"

-- The rest of LuaSocket's Lua modules load unchanged on our core too.
for _, name in ipairs{"socket.url", "socket.ftp", "socket.smtp",
                      "socket.headers", "socket.tp", "ltn12", "mime"} do
  assert(type(require(name)) == "table", name)
end
assert(require("socket.url").parse("http://127.0.0.1:8/a?b").port == "8")
assert(require("mime").b64("luagil") == "bHVhZ2ls")
assert(require("socket.http").request == http.request)
local gil = require "gil"
local time = require "time"

local N = 16

-- The server: a thread per connection, which reads its request, then
-- waits until all N are in before it answers.
local srv = assert(socket.bind("127.0.0.1", 0, 64))
local port = select(2, srv:getsockname())
local arrived, mu, allin = 0, threading.Lock(), threading.Event()
local handlers = {}

local function handle (c)
  local line = assert(c:receive())
  local path = assert(line:match("^GET (%S+) HTTP/1%.[01]$"), line)
  repeat
    local header = assert(c:receive())
  until header == ""
  mu:with(function ()
    arrived = arrived + 1
    if arrived == N then allin:set() end
  end)
  assert(allin:wait(60), "not every request came")
  local body = "hello from " .. path
  assert(c:send(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" ..
                 "Content-Length: %d\r\nConnection: close\r\n\r\n%s")
                :format(#body, body)))
  c:close()
end

local server = threading.Thread{name = "server", target = function ()
  for i = 1, N do
    local c = assert(srv:accept())
    handlers[i] = threading.Thread{name = "handler" .. i, target = handle,
                                   args = {c}}
    handlers[i]:start()
  end
end}
server:start()

-- The CPU-bound thread: pure Lua until the requests are done.
local stop, spins = false, 0
local cpu = threading.Thread{name = "cpu", target = function ()
  while not stop do spins = spins + 1 end
end}
cpu:start()

local t0 = time.monotonic()
local results, clients = {}, {}
for i = 1, N do
  clients[i] = threading.Thread{name = "client" .. i, target = function ()
    results[i] = table.pack(http.request(
      ("http://127.0.0.1:%s/item/%d"):format(port, i)))
  end}
  clients[i]:start()
end
for i = 1, N do clients[i]:join() end
local elapsed = time.monotonic() - t0
stop = true
cpu:join()
server:join()
for i = 1, N do handlers[i]:join() end
srv:close()

for i = 1, N do
  local body, code, headers = table.unpack(results[i], 1, 3)
  assert(code == 200, ("client %d: %s %s"):format(i, tostring(body),
                                                 tostring(code)))
  assert(body == "hello from /item/" .. i, body)
  assert(headers["content-length"] == tostring(#body))
end
assert(arrived == N and spins > 0)

-- Each client let the GIL go while it waited (for its connect, for the
-- answer): gil.stats() counts those drops.
local byname = {}
for _, s in ipairs(gil.stats().threads) do byname[s.name] = s end
local drops, held = 0, 0
for i = 1, N do
  local s = assert(byname["client" .. i], "no stats for client " .. i)
  assert(s.blocking_drops > 0, "client " .. i .. " never let the GIL go")
  drops = drops + s.blocking_drops
  held = held + s.hold_s
end
print(("%d requests in %.3f s: %d blocking drops in the clients, which " ..
       "held the GIL %.3f s in all; the CPU-bound thread %.3f s")
      :format(N, elapsed, drops, held, byname.cpu.hold_s))
print("OK")
