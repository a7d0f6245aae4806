-- scripts/examples/fetch_many.lua -- I/O-bound threads speed up: fetching
-- 20 documents from a slow server one after another, then with 20 threads.
-- The "remote" server runs here, on an ephemeral loopback port, and takes
-- 0.1 s to answer each request (as a slow network would).
-- Run: luagil fetch_many.lua
local socket = require "socket"
local threading = require "threading"
local time = require "time"

local NDOCS, DELAY = 20, 0.1

-- A tiny server speaking a line protocol: "GET <name>" -> size line + body.
local server = assert(socket.bind("127.0.0.1", 0, 64))
local host, port = server:getsockname()

threading.Thread{daemon = true, target = function ()
  while true do
    local conn = server:accept()
    if not conn then break end
    threading.Thread{daemon = true, target = function ()
      local req = conn:receive()
      local name = req and req:match("^GET (%S+)$")
      if name then
        time.sleep(DELAY)            -- the slow part: the GIL is free
        local body = ("document %s\n"):format(name):rep(100)
        conn:send(#body .. "\n" .. body)
      end
      conn:close()
    end}:start()
  end
end}:start()

local function fetch (name)
  local c = assert(socket.connect(host, port))
  c:send("GET " .. name .. "\n")
  local size = tonumber(c:receive())
  local body = c:receive(size)
  c:close()
  return body
end

-- One after another.
local t0 = time.perf_counter()
local sizes = 0
for i = 1, NDOCS do sizes = sizes + #fetch("doc" .. i) end
local sequential = time.perf_counter() - t0

-- One thread per document.
t0 = time.perf_counter()
local threads = {}
for i = 1, NDOCS do
  threads[i] = threading.Thread{target = fetch, args = {"doc" .. i}}
  threads[i]:start()
end
local tsizes = 0
for i = 1, NDOCS do tsizes = tsizes + #threads[i]:value() end
local threaded = time.perf_counter() - t0
server:close()

print(("%d documents: sequential %.2f s, %d threads %.2f s (%.1fx faster)")
      :format(NDOCS, sequential, NDOCS, threaded, sequential / threaded))
assert(tsizes == sizes)
assert(threaded < sequential / 2, "threads did not overlap the waits")
