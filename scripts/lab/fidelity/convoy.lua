-- scripts/lab/fidelity/convoy.lua -- the convoy workload of the fidelity
-- lab, luagil's version; see LICENSE for copyright and licence (MIT).
-- An echo thread and a client make 1-byte round trips on a socketpair for
-- DUR seconds, (a) alone, (b) a spinner alone, (c) both together; the same
-- work as convoy.py and convoy.rb beside it.
-- Usage: luagil convoy.lua [DUR]   (default 1.0 s per phase)
local socket = require "socket"
local threading = require "threading"
local time = require "time"

local DUR = tonumber(arg[1]) or 1.0
local stop = false    -- read by the spinner in its loop
local spins = 0

local function echo (sock)
  while true do
    local b = sock:receive(1)
    if not b then return end
    sock:send(b)
  end
end

local function client (sock, res)
  local n = 0
  local t0 = time.perf_counter()
  local finish = t0 + DUR
  while time.perf_counter() < finish do
    sock:send("x")
    sock:receive(1)
    n = n + 1
  end
  res[1] = n / (time.perf_counter() - t0)
end

local function spinner ()
  local x = 0
  while not stop do x = x + 1 end   -- pure-interpreter loop
  spins = x
end

-- One phase; returns round trips/s or nil, spinner iterations/s or nil.
local function phase (with_io, with_cpu)
  stop = false
  local res = {}
  local a, b = assert(socket.socketpair())
  local io = {threading.Thread{target = echo, args = {b}},
              threading.Thread{target = client, args = {a, res}}}
  local cpu = threading.Thread{target = spinner}
  local t0 = time.perf_counter()
  if with_cpu then cpu:start() end
  if with_io then
    for _, t in ipairs(io) do t:start() end
    io[2]:join()      -- the client runs for DUR
  else
    time.sleep(DUR)
  end
  stop = true
  if with_cpu then cpu:join() end
  local dt = time.perf_counter() - t0
  a:close()           -- the echo thread sees EOF and exits
  if with_io then io[1]:join() end
  b:close()
  return with_io and res[1] or nil, with_cpu and spins / dt or nil
end

local rt_alone = phase(true, false)
local _, cpu_alone = phase(false, true)
local rt_cpu, cpu_io = phase(true, true)
print(string.format("convoy rt_alone=%.0f rt_with_cpu=%.1f cpu_share=%.3f",
                    rt_alone, rt_cpu, cpu_io / cpu_alone))
