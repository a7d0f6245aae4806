-- scripts/examples/barrier_server.lua -- a server and four clients meet at
-- a Barrier(5, timeout): when all five wait, all five go on.
local threading = require "threading"
local time = require "time"

local b = threading.Barrier(5, nil, 10)

local Server = {}
Server.__index = Server
Server.__call = function (self)
  time.sleep(0.3)
  b:wait()
  print("server ready to accept connections")
end

local function newserver ()
  print("server initializing ...")
  local self = setmetatable({}, Server)
  self.thread = threading.Thread{target = self}
  self.thread:start()
  return self
end

function Server:connect (client)
  print(("%s has connected"):format(client.name))
end

local Client = {}
Client.__index = Client
Client.__call = function (self)
  b:wait()
  self.server:connect(self)
end

local function newclient (name, server)
  local self = setmetatable({name = name, server = server}, Client)
  print(("%s waiting to connect"):format(self.name))
  self.thread = threading.Thread{target = self}
  self.thread:start()
  return self
end

local server = newserver()
local clients = {}
for i = 1, 4 do clients[i] = newclient("client" .. i, server) end
server.thread:join()
for _, c in ipairs(clients) do c.thread:join() end
print("end of program")
