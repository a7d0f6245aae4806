print("testing concurrent.futures")
local futures = require "concurrent.futures"
local threading = require "threading"
local time = require "time"

local checkerror = require("testlib").checkerror

-- submit, result, several results, errors
do
  local ex <close> = futures.ThreadPoolExecutor(3)
  local f = ex:submit(function (a, b) return a + b end, 2, 3)
  assert(f:result() == 5 and f:done() and not f:running())
  local g = ex:submit(function () return 1, nil, 3 end)
  local a, b, c = g:result()
  assert(a == 1 and b == nil and c == 3)
  local h = ex:submit(function () error("boom") end)
  checkerror("boom", h.result, h)
  assert(tostring(h:exception()):find("boom"))
  assert(tostring(h):find("state=finished raised"))
  local e = ex:submit(function () error({code = 7}) end)
  local ok, err = pcall(e.result, e)
  assert(not ok and err.code == 7)
  checkerror("function expected", ex.submit, ex, 42)
end

-- worker names, reuse of idle workers, the limit
do
  local ex = futures.ThreadPoolExecutor{max_workers = 2,
                                        thread_name_prefix = "pw"}
  local names = {}
  local active, peak = 0, 0
  local lock = threading.Lock()
  local fs = {}
  for i = 1, 20 do
    fs[i] = ex:submit(function ()
      lock:with(function ()
        active = active + 1
        if active > peak then peak = active end
      end)
      names[threading.current_thread().name] = true
      time.sleep(0.002)
      lock:with(function () active = active - 1 end)
    end)
  end
  for _, f in ipairs(fs) do f:result() end
  assert(peak <= 2, "more than max_workers at once")
  for n in pairs(names) do assert(n == "pw_0" or n == "pw_1", n) end
  ex:shutdown()
  checkerror("cannot schedule new futures after shutdown", ex.submit, ex,
             print)
  -- sequential use reuses the one idle worker
  local ex2 <close> = futures.ThreadPoolExecutor(4)
  for i = 1, 5 do ex2:submit(function () end):result() end
  assert(#ex2._core.threads == 1, #ex2._core.threads)
  assert(tostring(ex2):find("ThreadPoolExecutor%-%d+"))
end

-- default worker count
do
  local ex <close> = futures.ThreadPoolExecutor()
  assert(ex._max_workers == math.min(32, os.cpu_count() + 4))
  checkerror("max_workers must be greater than 0",
             futures.ThreadPoolExecutor, 0)
end

-- cancel, timeouts, callbacks
do
  local ex <close> = futures.ThreadPoolExecutor(1)
  local gate = threading.Event()
  local started = threading.Event()
  local first = ex:submit(function () started:set(); gate:wait() return 1 end)
  local second = ex:submit(function () return 2 end)
  started:wait()
  assert(first:running() and not first:cancel())
  assert(second:cancel() and second:cancelled() and second:done())
  assert(futures.CancelledError:is(select(2, pcall(second.result, second))))
  local t0 = time.monotonic()
  local ok, err = pcall(first.result, first, 0.05)
  assert(not ok and futures.TimeoutError:is(err))
  assert(time.monotonic() - t0 >= 0.05)
  local seen = {}
  first:add_done_callback(function (f) seen[#seen + 1] = f:result() end)
  first:add_done_callback(function () error("callback error") end)
  local called = threading.Event()
  first:add_done_callback(function (f)
    seen[#seen + 1] = -f:result()
    called:set()
  end)
  gate:set()
  assert(first:result() == 1)
  called:wait()  -- callbacks run after waiters are woken
  assert(#seen == 2 and seen[1] == 1 and seen[2] == -1)
  first:add_done_callback(function (f) seen[#seen + 1] = 99 end)
  assert(seen[3] == 99)  -- already done: runs at once
end

-- wait and as_completed
do
  local ex <close> = futures.ThreadPoolExecutor(4)
  local gates = {}
  local fs = {}
  for i = 1, 4 do
    gates[i] = threading.Event()
    fs[i] = ex:submit(function () gates[i]:wait() return i end)
  end
  local done, not_done = futures.wait(fs, {timeout = 0.02})
  assert(#done == 0 and #not_done == 4)
  gates[3]:set()
  done, not_done = futures.wait(fs, {return_when = futures.FIRST_COMPLETED})
  assert(#done == 1 and done[1] == fs[3] and #not_done == 3)
  local order = {}
  gates[1]:set()
  fs[1]:result()
  local ok, err = pcall(function ()
    for f in futures.as_completed(fs, 0.05) do order[#order + 1] = f:result() end
  end)
  assert(not ok and futures.TimeoutError:is(err))
  assert(tostring(err):find("2 (of 4) futures unfinished", 1, true), tostring(err))
  assert(#order == 2)
  gates[4]:set(); gates[2]:set()
  local n = 0
  for f in futures.as_completed(fs) do n = n + 1 end
  assert(n == 4)
  done, not_done = futures.wait(fs)
  assert(#done == 4 and #not_done == 0 and done[1] == fs[1])
  local bad = ex:submit(error, "x")
  local hold = threading.Event()
  local slow = ex:submit(hold.wait, hold)
  done, not_done = futures.wait({slow, bad},
                                {return_when = futures.FIRST_EXCEPTION})
  assert(#done == 1 and done[1] == bad and not_done[1] == slow)
  hold:set()
end

-- map: results in input order, several lists, first error raised
do
  local ex <close> = futures.ThreadPoolExecutor(4)
  local out = {}
  for i, v in ex:map(function (a, b) time.sleep(0.001 * (5 - a)) return a * b end,
                     {1, 2, 3, 4}, {10, 20, 30}) do
    out[i] = v
  end
  assert(#out == 3 and out[1] == 10 and out[2] == 40 and out[3] == 90)
  local got = {}
  checkerror("bad 2", function ()
    for i, v in ex:map(function (x)
      if x == 2 then error("bad " .. x) end
      return x
    end, {1, 2, 3}) do
      got[#got + 1] = v
    end
  end)
  assert(#got == 1)
end

-- initializer; a failing one breaks the pool
do
  local inited = {}
  local ex <close> = futures.ThreadPoolExecutor{
    max_workers = 1, initializer = function (a) inited[#inited + 1] = a end,
    initargs = {"x"}}
  ex:submit(print, "initialized"):result()
  assert(inited[1] == "x")
  local broken = futures.ThreadPoolExecutor{max_workers = 1,
    initializer = function () error("init fails") end}
  local f = broken:submit(function () return 1 end)
  local ok, err = pcall(f.result, f)
  assert(not ok and futures.BrokenThreadPool:is(err), tostring(err))
  assert(futures.BrokenExecutor:is(err))
  local ok2, err2 = pcall(broken.submit, broken, print)
  assert(not ok2 and futures.BrokenThreadPool:is(err2))
end

-- a Future made by hand
do
  local f = futures.Future()
  assert(not f:done())
  f:set_result("v")
  assert(f:result() == "v")
  local ok, err = pcall(f.set_result, f, 1)
  assert(not ok and futures.InvalidStateError:is(err))
end

-- exit waits for pending work (checked by the last line of output)
local ex = futures.ThreadPoolExecutor(2)
for i = 1, 3 do
  ex:submit(function () time.sleep(0.05) end)
end
ex:submit(function () time.sleep(0.1); print("OK") end)
