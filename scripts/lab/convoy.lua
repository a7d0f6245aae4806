-- scripts/lab/convoy.lua -- lab 4, the convoy effect: an I/O-bound thread
-- next to a CPU-bound one. An echo thread and a client thread exchange
-- 1-byte messages; alone they make thousands of round trips a second.
-- With a thread spinning beside them, each time the client or the echo
-- comes back from its read it must wait for the spinner to be asked to
-- drop the GIL -- a whole switch interval under 'interval' (CPython's
-- GIL): the round trips collapse to a few hundred. Under 'priority-io' a
-- thread that really waited in the kernel gets the GIL at the holder's
-- next instruction boundary, and the round trips come back.
-- The channel is socket.socketpair() where luagil has it, else (or with
-- LUAGIL_LAB_CHANNEL=fifo) two named pipes (FIFOs).
-- Usage: luagil scripts/lab/convoy.lua [--small] [--html=PATH]
--        (the timelines: PATH for 'interval', PATH-priority-io for the cure)
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local gil = require "gil"
local threading = require "threading"
local time = require "time"

local o = lab.init("convoy")
local DURATION = o.small and 0.3 or 2.0   -- seconds per measurement

-- {======================================================
-- The channel: two ends, each with send(c) and recv() of one byte.
-- =======================================================

local have_socket, socket = pcall(require, "socket")
have_socket = have_socket and type(socket) == "table"
              and socket.socketpair ~= nil

local function socket_channel ()
  local a, b = assert(socket.socketpair())
  local function wrap (s)
    return {send = function (c) assert(s:send(c)) end,
            recv = function () return s:receive(1) end,
            close = function () s:close() end}
  end
  return wrap(a), wrap(b), "socketpair"
end

local function fifo_channel ()
  local base = os.tmpname()
  os.remove(base)
  local p1, p2 = base .. ".up", base .. ".down"
  assert(os.execute(("mkfifo '%s' '%s'"):format(p1, p2)))
  -- "r+" opens a FIFO without waiting for the other end (Linux)
  local up_r, up_w = assert(io.open(p1, "r+")), assert(io.open(p1, "r+"))
  local down_r, down_w = assert(io.open(p2, "r+")), assert(io.open(p2, "r+"))
  os.remove(p1)
  os.remove(p2)
  up_w:setvbuf("no")
  down_w:setvbuf("no")
  local function side (r, w)
    return {send = function (c) assert(w:write(c)) end,
            recv = function () return r:read(1) end,
            close = function () r:close(); w:close() end}
  end
  return side(up_r, down_w), side(down_r, up_w), "FIFOs"
end

local channel = have_socket and os.getenv("LUAGIL_LAB_CHANNEL") ~= "fifo"
                and socket_channel or fifo_channel

-- }======================================================


-- One measurement: round trips per second over DURATION, with a spinner
-- beside the pair or not; and the spinner's loops per second.
local function measure (spin)
  local stop = false
  local trips, loops = 0, 0
  local function spinner ()
    local t = threading.Thread{name = "spinner", target = function ()
      while not stop do loops = loops + 1 end
    end}
    t:start()
    return t
  end
  if spin == "alone" then  -- the spinner alone, no I/O pair
    local t0 = time.monotonic()
    local t = spinner()
    time.sleep(DURATION)
    stop = true
    t:join()
    return nil, loops / (time.monotonic() - t0)
  end
  local echo_end, client_end, kind = channel()
  local echo = threading.Thread{name = "echo", target = function ()
    while true do
      local c = echo_end.recv()
      if c == nil or c == "q" then break end
      echo_end.send(c)
    end
  end}
  local client = threading.Thread{name = "client", target = function ()
    local t0 = time.monotonic()
    while time.monotonic() - t0 < DURATION do
      client_end.send("x")
      assert(client_end.recv() == "x")
      trips = trips + 1
    end
    client_end.send("q")
  end}
  echo:start()
  client:start()
  local t0 = time.monotonic()
  local spinning = spin and spinner()
  client:join()
  local dt = time.monotonic() - t0
  stop = true
  if spinning then spinning:join() end
  echo:join()
  echo_end.close()
  client_end.close()
  return trips / DURATION, spin and loops / dt or nil, kind
end


local rows = {}
local kind
for _, policy in ipairs{"interval", "priority-io"} do
  if lab.policy(policy) then
    local html = policy == "interval" and o.html
                 or lab.html_with(o, policy)
    local solo, _, k = measure(false)
    kind = k
    local _, spin_solo = measure("alone")
    local with, spin_with = lab.traced(html, measure, true)
    rows[#rows + 1] = {policy, string.format("%.0f", solo),
                       string.format("%.0f", with),
                       string.format("%.1f%%", 100 * with / solo),
                       string.format("%.3g", spin_solo),
                       string.format("%.0f%%", 100 * spin_with / spin_solo)}
  end
end
lab.policy("interval")
print(("== 1-byte round trips over %s for %g s (switch interval %g ms)")
      :format(kind or "?", DURATION, gil.getswitchinterval() * 1e3))
lab.table({"policy", "trips/s alone", "trips/s + spinner", "kept",
           "spinner loops/s alone", "spinner kept"}, rows)
