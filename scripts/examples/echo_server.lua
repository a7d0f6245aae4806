-- scripts/examples/echo_server.lua -- a threaded echo server: one thread
-- per connection, as Python's socketserver.ThreadingTCPServer. The example
-- starts its own server on an ephemeral loopback port, runs a few clients
-- against it, checks every echo and stops. Run: luagil echo_server.lua
local socket = require "socket"
local threading = require "threading"

local NCLIENTS, NLINES = 8, 200

-- The server: accept in a loop, hand each connection to a new thread.
local server = assert(socket.bind("127.0.0.1", 0))
local host, port = server:getsockname()
print(("echo server listening on %s:%d"):format(host, port))

local function handle (conn)
  local n = 0
  while true do
    local line, err = conn:receive("*l")
    if not line then break end       -- "closed": the client is done
    conn:send(line .. "\n")
    n = n + 1
  end
  conn:close()
  return n
end

local handlers = {}
local acceptor = threading.Thread{name = "acceptor", daemon = true,
  target = function ()
    while true do
      local conn = server:accept()
      if not conn then break end     -- the server socket was closed
      local t = threading.Thread{target = handle, args = {conn}}
      handlers[#handlers + 1] = t
      t:start()
    end
  end}
acceptor:start()

-- The clients, each in its own thread.
local function client (k)
  local c = assert(socket.connect(host, port))
  for i = 1, NLINES do
    local msg = ("hello %d from client %d"):format(i, k)
    c:send(msg .. "\n")
    assert(c:receive() == msg, "echo mismatch")
  end
  c:close()
end

local clients = {}
for k = 1, NCLIENTS do
  clients[k] = threading.Thread{target = client, args = {k},
                                name = "client-" .. k}
  clients[k]:start()
end
for _, t in ipairs(clients) do t:join() end

local total = 0
for _, t in ipairs(handlers) do total = total + t:value() end
server:close()
acceptor:join()
print(("%d clients sent %d lines, all echoed back"):format(NCLIENTS, total))
assert(total == NCLIENTS * NLINES)
