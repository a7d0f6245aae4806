-- tests/lua/multiprocessing.lua -- Process, Value, Array, Lock, Queue, Pipe
-- and Pool. Not run under ThreadSanitizer (label 'fork'): it kills a forked
-- child of a threaded parent that starts a thread.
print("testing multiprocessing")

local mp = require "multiprocessing"
local threading = require "threading"
local time = require "time"
local queue = require "queue"

local checkerror = require("testlib").checkerror

local function run (target, ...)
  local p = mp.Process{target = target, args = table.pack(...)}
  p:start()
  p:join()
  return p.exitcode
end


-- Process basics
do
  local me = mp.current_process()
  assert(me.name == "MainProcess" and me.pid > 0)
  assert(mp.cpu_count() >= 1)
  assert(run(function (a, b) assert(a == 1 and b == nil) end, 1, nil) == 0)
  assert(run(function () assert(mp.current_process().name:find("^Process%-")) end) == 0)
  assert(run(function () error("expected error in a child (ignore)") end) == 1)
  local p = mp.Process{target = time.sleep, args = {30}, name = "sleeper"}
  assert(p.name == "sleeper" and p.pid == nil and p.exitcode == nil)
  assert(not p:is_alive())
  checkerror("can only join a started process", p.join, p)
  p:start()
  assert(p:is_alive() and p.pid > 0 and p.exitcode == nil)
  assert(#mp.active_children() == 1)
  checkerror("cannot start a process twice", p.start, p)
  local t0 = time.monotonic()
  p:join(0.1)
  assert(time.monotonic() - t0 >= 0.1 and p:is_alive())
  p:terminate()
  p:join()
  assert(p.exitcode == -15, p.exitcode)
  assert(not p:is_alive() and #mp.active_children() == 0)
  p = mp.Process{target = time.sleep, args = {30}}
  p:start()
  p:kill()
  p:join()
  assert(p.exitcode == -9)
  -- Subclassing
  local Worker = mp.Process:extend()
  function Worker:new (n) Worker.super.new(self); self.n = n end
  function Worker:run () assert(self.n == 7) end
  local w = Worker(7)
  w:start()
  w:join()
  assert(w.exitcode == 0)
end


-- The seeds' squares example: a child's copy of a list is its own ...
do
  local result = {}
  local function squares (list)
    for _, x in ipairs(list) do result[#result + 1] = x * x end
    assert(#result == 4)
  end
  assert(run(squares, {1, 2, 3, 4}) == 0)
  assert(#result == 0)   -- the parent's copy did not change
  -- ... but an Array and a Value are shared.
  local arr, sum = mp.Array("i", 4), mp.Value("d")
  assert(#arr == 4 and sum.value == 0)
  assert(run(function (list)
    for i, x in ipairs(list) do arr[i] = x * x end
    sum.value = 30.5
  end, {1, 2, 3, 4}) == 0)
  local t = arr:totable()
  assert(t[1] == 1 and t[2] == 4 and t[3] == 9 and t[4] == 16 and t[5] == nil)
  assert(sum.value == 30.5)
  local n = 0
  for i, v in ipairs(arr) do n = n + 1; assert(v == i * i) end
  assert(n == 4 and arr[0] == nil and arr[5] == nil)
  checkerror("out of range", function () arr[5] = 1 end)
  checkerror("unknown typecode", mp.Value, "z")
  local a2 = mp.Array("b", {1, 2, 3})
  assert(#a2 == 3 and a2[3] == 3)
  local raw = mp.Value("l", 5, {lock = false})
  assert(raw.value == 5)
  checkerror("no lock", raw.get_lock, raw)
end


-- Value and Array updated from 4 processes under their locks end exact.
do
  local N, P = 2000, 4
  local v, a = mp.Value("i", 0), mp.Array("l", 3)
  local ps = {}
  for k = 1, P do
    ps[k] = mp.Process{target = function ()
      for _ = 1, N do
        do
          local _ <close> = v:get_lock():guard()
          v.value = v.value + 1
        end
        a:get_lock():with(function ()
          a[1] = a[1] + 1
          a[k % 3 + 1] = a[k % 3 + 1] + 1
        end)
      end
    end}
    ps[k]:start()
  end
  for k = 1, P do ps[k]:join(); assert(ps[k].exitcode == 0) end
  assert(v.value == N * P, v.value)
  local t = a:totable()
  assert(t[1] + t[2] + t[3] == 2 * N * P and t[1] >= N * P, t[1])
  -- A shared Lock, and a holder killed while holding it does not hang us.
  local lock = mp.Lock()
  local p = mp.Process{target = function () lock:acquire(); time.sleep(60) end}
  p:start()
  while lock:acquire(false) do lock:release(); time.sleep(0.01) end
  p:kill()
  p:join()
  assert(lock:acquire(true, 10))  -- the robust mutex comes back
  lock:release()
end


-- Queue and Pipe round trips of nested tables; unsupported values.
do
  local item = {1, 2.5, "three", true, false, {x = {y = {z = "deep"}}},
                [10] = "sparse", big = string.rep("x", 100000)}
  local function same (a, b)
    if type(a) ~= "table" then return a == b and math.type(a) == math.type(b) end
    for k, v in pairs(a) do if not same(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  local q = mp.Queue()
  local back = mp.Queue()
  local p = mp.Process{target = function ()
    for _ = 1, 3 do back:put(q:get()) end
  end}
  p:start()
  q:put(item); q:put("plain"); q:put(42)
  assert(same(back:get(), item) and back:get() == "plain")
  assert(math.type(back:get()) == "integer")
  p:join()
  assert(p.exitcode == 0)
  -- Many items: put never blocks on a full socket (the feeder writes).
  local r = mp.Queue()
  local p2 = mp.Process{target = function ()
    for i = 1, 2000 do r:put({i, string.rep("y", 200)}) end
  end}
  p2:start()
  for i = 1, 2000 do assert(r:get()[1] == i) end
  p2:join()
  assert(p2.exitcode == 0 and r:empty() and r:qsize() == 0)
  -- Errors.
  checkerror("bad value at item: function cannot be sent to another "
             .. "process", q.put, q, print)
  checkerror("bad value at item.f: function cannot be sent", q.put, q,
             {f = print})
  checkerror("bad value at item[1]: userdata (FILE*) cannot be sent", q.put,
             q, {io.stdout})
  local cyc = {}
  cyc.me = cyc
  q:put({cyc})  -- a table inside itself comes back as itself
  local got = q:get()[1]
  assert(got.me == got)
  local shared = {1}
  q:put({shared, shared})  -- a table twice comes back as one table
  got = q:get()
  assert(same(got, {{1}, {1}}) and got[1] == got[2])
  -- Empty and Full, with timeouts.
  local b = mp.Queue(2)
  assert(b.maxsize == 2)
  b:put(1); b:put(2)
  assert(b:full() and b:qsize() == 2)
  local ok, err = pcall(b.put, b, 3, true, 0.1)
  assert(not ok and queue.Full:is(err) and mp.Full:is(err))
  checkerror("queue.Full", b.put_nowait, b, 3)
  assert(b:get() == 1 and b:get() == 2)
  local t0 = time.monotonic()
  ok, err = pcall(b.get, b, true, 0.1)
  assert(not ok and queue.Empty:is(err))
  assert(time.monotonic() - t0 >= 0.1)
  checkerror("queue.Empty", b.get_nowait, b)
  -- Pipe, duplex and one-way.
  local a, c = mp.Pipe()
  local p3 = mp.Process{target = function ()
    local got = c:recv()
    c:send({echo = got, n = #got})
  end}
  p3:start()
  a:send({{1}, {2, {3}}})
  local reply = a:recv()
  assert(reply.n == 2 and reply.echo[2][2][1] == 3)
  p3:join()
  assert(not a:poll() and not a:poll(0.05))
  local rd, wr = mp.Pipe(false)
  assert(rd.readable and not rd.writable and wr.writable)
  wr:send_bytes("raw")
  assert(rd:poll(1) and rd:recv_bytes() == "raw")
  checkerror("read-only", rd.send, rd, 1)
  checkerror("bad value at value: function cannot be sent", wr.send, wr,
             print)
  wr:close()
  ok, err = pcall(rd.recv, rd)
  assert(not ok and mp.EOFError:is(err))
  checkerror("closed", wr.send, wr, 1)
end


-- Pool
do
  local pool = mp.Pool(2)
  local sq = pool:map(function (x) return x * x end, {1, 2, 3, 4, 5, 6, 7})
  assert(#sq == 7)
  for i = 1, 7 do assert(sq[i] == i * i) end
  assert(#pool:map(math.abs, {}) == 0)
  assert(pool:map(math.abs, {-3})[1] == 3)   -- a C function
  local add = pool:starmap(function (x, y) return x + y end, {{1, 2}, {3, 4}, {5, 6}})
  assert(add[1] == 3 and add[2] == 7 and add[3] == 11)
  -- Upvalues travel by value; globals are the worker's; recursion works.
  local k = 10
  local function fib (n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
  local r = pool:apply_async(function (x) return fib(x) + k + math.floor(0.5) end, {20})
  assert(r:get(30) == 6765 + 10)
  assert(r:ready() and r:successful())
  assert(pool:apply(function () return mp.current_process().name end)
         :find("^ForkPoolWorker%-"))
  local asyncs = {}
  for i = 1, 8 do asyncs[i] = pool:apply_async(function (x) return -x end, {i}) end
  for i = 1, 8 do assert(asyncs[i]:get() == -i) end
  local seen = 0
  for i, v in pool:imap(function (x) return x + 1 end, {10, 20, 30}) do
    seen = seen + 1
    assert(v == ({11, 21, 31})[i])
  end
  assert(seen == 3)
  -- Errors come back with the child's message and traceback.
  local ok, err = pcall(pool.map, pool, function (x)
    if x == 3 then error("bad item " .. x) end
    return x
  end, {1, 2, 3, 4})
  assert(not ok and err:find("bad item 3", 1, true) and err:find("stack traceback"))
  local ar = pool:apply_async(function () error({}) end)
  ar:wait()
  assert(ar:ready() and not ar:successful())
  -- Upvalues that cannot travel.
  local lk = threading.Lock()
  checkerror("bad value at func<upvalue 1 'lk'>: userdata (threading.Lock) "
             .. "cannot be sent to a pool worker", pool.apply, pool,
             function () return lk end)
  checkerror("bad value at list[3].x: userdata (threading.Lock) cannot be "
             .. "sent to a pool worker", pool.map, pool, print,
             {1, 2, {x = lk}}, 2)
  checkerror("bad value at args[2]: thread cannot be sent", pool.apply,
             pool, print, {1, coroutine.create(print)})
  checkerror("bad value at result.x: userdata (threading.Lock) cannot be "
             .. "sent back from a pool worker", pool.apply, pool,
             function () return {x = require("threading").Lock()} end)
  -- A timeout.
  ar = pool:apply_async(time.sleep, {0.5})
  ok, err = pcall(ar.get, ar, 0.05)
  assert(not ok and mp.TimeoutError:is(err))
  assert(ar:get() == nil)
  -- A worker killed mid-task: the task fails naming it; the pool goes on.
  local victim = pool:apply_async(function ()
    local me = mp.current_process().pid
    os.execute("kill -9 " .. me)
    time.sleep(30)
  end)
  ok, err = pcall(victim.get, victim, 30)
  assert(not ok and err:find("ForkPoolWorker") and err:find("signal 9"), err)
  assert(pool:map(function (x) return x * 2 end, {1, 2, 3})[3] == 6)
  pool:close()
  checkerror("Pool not running", pool.map, pool, math.abs, {1})
  pool:join()
  -- <close> terminates.
  do
    local p <close> = mp.Pool(1)
    assert(p:apply(function (a, b) return a .. b end, {"x", "y"}) == "xy")
  end
end


-- guard(): a Pool's terminates it (Python's `with Pool() as p:`), also
-- when the block raises; a Connection's closes it.
do
  local pool = mp.Pool(2)
  do
    local g <close> = pool:guard()
    assert(g == pool)
    local r = pool:map(function (x) return x * x end, {1, 2, 3})
    assert(r[1] == 1 and r[2] == 4 and r[3] == 9)
  end
  assert(tostring(pool):find("state=TERMINATE"))
  checkerror("Pool not running", pool.guard, pool)
  local other = mp.Pool(1)
  local ok = pcall(function ()
    local _ <close> = other:guard()
    error("in the block")
  end)
  assert(not ok and tostring(other):find("state=TERMINATE"))
  local closing = mp.Pool(1)
  closing:close()
  checkerror("Pool not running", closing.guard, closing)
  closing:join()
  checkerror("Pool expected", pool.guard, {})
  local a, b = mp.Pipe()
  do
    local g <close> = a:guard()
    assert(g == a)
    a:send("last")
  end
  assert(a.closed and b:recv() == "last")
  checkerror("handle is closed", a.guard, a)
  local ok2, err = pcall(b.recv, b)
  assert(not ok2 and mp.EOFError:is(err), tostring(err))
  b:close()
end

-- A parent with 4 running threads forks a Process: the child works.
-- (Needs vm/'s lg_fork, which re-initialises the GIL in the child.)
if not require("_multiprocessing").fork_resets_gil then
  print("skipped: fork from a threaded parent (no lg_fork yet)")
else
  local stop = false
  local ts = {}
  for i = 1, 4 do
    ts[i] = threading.Thread{target = function ()
      local x = 0
      while not stop do x = x + 1; if i % 2 == 0 then time.sleep(0.001) end end
    end}
    ts[i]:start()
  end
  local v = mp.Value("i", 0)
  local p = mp.Process{target = function ()
    local s = 0
    for i = 1, 100000 do s = s + i end
    v.value = 42
    io.write("")
  end}
  p:start()
  p:join()
  stop = true
  for i = 1, 4 do ts[i]:join() end
  assert(p.exitcode == 0 and v.value == 42, p.exitcode)
end

print("OK")
