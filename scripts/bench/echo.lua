-- echo: a threaded echo server on loopback (one thread per connection) and
-- 50 client threads, each sending 1,000 lines and reading each echo before
-- the next: lines echoed per second, all threads sharing the GIL. No peer
-- anchor exists for this workload.
local socket = require "socket"
local threading = require "threading"
local time = require "time"

local NCLIENTS, NLINES = 50, 1000

local server = assert(socket.bind("127.0.0.1", 0, 128))
local host, port = server:getsockname()
local handlers = {}
local acceptor = threading.Thread{target = function ()
  for i = 1, NCLIENTS do
    local conn = assert(server:accept())
    handlers[i] = threading.Thread{target = function ()
      while true do
        local line = conn:receive()
        if not line then break end
        conn:send(line .. "\n")
      end
      conn:close()
    end}
    handlers[i]:start()
  end
end}
acceptor:start()

local conns = {}
for k = 1, NCLIENTS do conns[k] = assert(socket.connect(host, port)) end
local go = threading.Event()
local bad = 0
local clients = {}
for k = 1, NCLIENTS do
  clients[k] = threading.Thread{target = function ()
    local c = conns[k]
    go:wait()
    for i = 1, NLINES do
      local msg = "line " .. i
      c:send(msg .. "\n")
      if c:receive() ~= msg then bad = bad + 1 end
    end
    c:close()
  end}
  clients[k]:start()
end
local t0 = time.perf_counter()
go:set()
for k = 1, NCLIENTS do clients[k]:join() end
local dt = time.perf_counter() - t0
acceptor:join()
for i = 1, NCLIENTS do handlers[i]:join() end
server:close()
assert(bad == 0)
print(string.format("echo lines_per_s=%.0f lines/s clients=%d lines=%d "
  .. "total_s=%.3f", NCLIENTS * NLINES / dt, NCLIENTS, NLINES, dt))
