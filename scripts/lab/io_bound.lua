-- scripts/lab/io_bound.lua -- lab 3, I/O-bound threads do speed up: a
-- thread blocked in sleep or in a read releases the GIL, so T threads
-- wait at the same time. The same total work -- 16 waits of D seconds,
-- either time.sleep(D) or reading a line from a pipe whose writer (one
-- child process per thread) writes one every D -- split over 1, 2, 4 and
-- 8 threads: the wall time falls about T times. The timeline of the
-- 8-thread pipe run shows the threads blocked (grey) side by side, each
-- holding the GIL only briefly.
-- Usage: luagil scripts/lab/io_bound.lua [--small] [--html=PATH]
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local threading = require "threading"
local time = require "time"

local o = lab.init("io_bound")
local WAITS = 16                     -- total waits, split over the threads
local D = o.small and 0.02 or 0.1    -- seconds per wait
local TS = {1, 2, 4, 8}

-- n waits of one kind, in the calling thread.
local kinds = {
  sleep = function (n)
    for _ = 1, n do time.sleep(D) end
  end,
  pipe = function (n)  -- one writer process, a line every D seconds
    local p = assert(io.popen(("i=0; while [ $i -lt %d ]; do sleep %g; "
                               .. "echo tick; i=$((i+1)); done"):format(n, D)))
    for _ = 1, n do assert(p:read("l") == "tick") end
    p:close()
  end,
}

-- Wall time of WAITS waits of 'kind' split over t threads.
local function run (kind, t)
  local ts = {}
  for k = 1, t do
    ts[k] = threading.Thread{name = kind .. "-" .. k, target = kinds[kind],
                             args = {WAITS // t}}
  end
  return lab.timed(function ()
    for _, th in ipairs(ts) do th:start() end
    for _, th in ipairs(ts) do th:join() end
  end)
end

local rows = {}
for _, kind in ipairs{"sleep", "pipe"} do
  local t1
  for _, t in ipairs(TS) do
    local dt
    if kind == "pipe" and t == TS[#TS] then
      dt = lab.traced(o.html, run, kind, t)
    else
      dt = run(kind, t)
    end
    t1 = t1 or dt
    rows[#rows + 1] = {kind, t, dt, string.format("%.2fx", t1 / dt),
                       string.format("%.2fx", t)}
  end
end
print(("== %d waits of %g s, split over T threads"):format(WAITS, D))
lab.table({"wait", "threads", "wall s", "speedup", "ideal"}, rows)
