-- stdlib/concurrent_futures.lua -- the 'concurrent.futures' module:
-- ThreadPoolExecutor, Future, wait, as_completed. Compiled into the binary
-- by stdlib/concurrent_futures.c. See LICENSE for copyright and licence (MIT).
--
-- Notes about the implementation
--
-- A Future's state changes under one module-wide Lock ('mu'): Lua code can
-- be preempted between any two instructions, and a waiter must not check
-- "not done yet" and then miss the completion. Nothing blocks while 'mu' is
-- held. A thread that waits for one Future makes that Future's Event on
-- first need (most results are collected after they are done, so most
-- Futures never get one); wait() and as_completed() register a SimpleQueue
-- with every Future they watch, and a Future that completes puts itself
-- into each. A finished Future never changes again, so result() on it
-- reads its fields without the lock.
--
-- The pool is Python's: a SimpleQueue of Futures (a Future carries its
-- function and arguments until it runs), workers that start on demand up
-- to max_workers, an idle Semaphore that lets a submit reuse an idle worker
-- instead of starting one, and a STOP marker that tells a worker to leave
-- once the queue ahead of it is done. Workers are ordinary (non-daemon)
-- threads; at interpreter exit threading._shutdown runs our atexit hook,
-- which stops every pool, and then joins them, so pending work runs to the
-- end as in Python.

local threading = require "threading"
local queue = require "queue"
local _thread = require "_thread"
local time_monotonic = require("time").monotonic

local futures = {}

local unpack, pack, select = table.unpack, table.pack, select
local setmetatable, type, tostring, pcall = setmetatable, type, tostring, pcall

local errorkind = _thread._errorkind
local CancelledError = errorkind "concurrent.futures.CancelledError"
local TimeoutError = errorkind "concurrent.futures.TimeoutError"
local InvalidStateError = errorkind "concurrent.futures.InvalidStateError"
local BrokenExecutor = errorkind "concurrent.futures.BrokenExecutor"
local BrokenThreadPool = errorkind("concurrent.futures.BrokenThreadPool",
                                   "concurrent.futures.BrokenExecutor")
futures.CancelledError = CancelledError
futures.TimeoutError = TimeoutError
futures.InvalidStateError = InvalidStateError
futures.BrokenExecutor = BrokenExecutor
futures.BrokenThreadPool = BrokenThreadPool

futures.FIRST_COMPLETED = "FIRST_COMPLETED"
futures.FIRST_EXCEPTION = "FIRST_EXCEPTION"
futures.ALL_COMPLETED = "ALL_COMPLETED"

local PENDING, RUNNING, CANCELLED, FINISHED = "pending", "running",
                                              "cancelled", "finished"

local mu = threading.Lock()  -- guards every Future's state (see above)

local callable = threading._callable

-- "luagil.logging": under stock lua5.4 (luagil.so) 'logging' may be
-- lualogging's.
local function logger ()
  return require("luagil.logging").getLogger("concurrent.futures")
end


-- {======================================================
-- Future
-- =======================================================

local Future = {__name = "concurrent.futures.Future"}
Future.__index = Future

-- Future() -> a pending Future (executors make them; tests may too)
setmetatable(Future, {__call = function (cls)
  return setmetatable({_state = PENDING}, cls)
end})

local function isdone (f)
  local s = f._state
  return s == FINISHED or s == CANCELLED
end

-- Run one done callback; its error is logged, never raised.
local function runcallback (f, fn)
  local ok, err = pcall(fn, f)
  if not ok then
    pcall(function ()
      logger():error("exception calling callback for %s\n%s", tostring(f),
                     tostring(err))
    end)
  end
end

-- Set the final state and let every waiter know. Called with 'mu' held;
-- releases it.
local function complete (f, state)
  f._state = state
  local ev, watchers, callbacks = f._ev, f._watchers, f._callbacks
  f._watchers, f._callbacks = nil, nil
  mu:release()
  if ev then ev:set() end
  if watchers then
    for w in pairs(watchers) do w:put(f) end
  end
  if callbacks then
    for i = 1, #callbacks do runcallback(f, callbacks[i]) end
  end
end

-- Store the results of a call that succeeded: one is kept in a field,
-- more in a table, so the common single result allocates nothing.
local function setresults (f, n, first, ...)
  f._n = n
  if n <= 1 then f._r = first else f._r = pack(first, ...) end
end

-- f:set_result(...)
function Future:set_result (...)
  mu:acquire()
  if isdone(self) then
    mu:release()
    error(InvalidStateError(self._state .. ": " .. tostring(self)), 2)
  end
  setresults(self, select("#", ...), ...)
  complete(self, FINISHED)
end

-- f:set_exception(err)
function Future:set_exception (err)
  mu:acquire()
  if isdone(self) then
    mu:release()
    error(InvalidStateError(self._state .. ": " .. tostring(self)), 2)
  end
  self._failed, self._exc = true, err
  complete(self, FINISHED)
end

-- f:set_running_or_notify_cancel() -> false if it was cancelled
function Future:set_running_or_notify_cancel ()
  mu:acquire()
  local s = self._state
  if s == PENDING then
    self._state = RUNNING
    mu:release()
    return true
  end
  mu:release()
  if s == CANCELLED then return false end
  error("Future in unexpected state: " .. s, 2)
end

-- f:cancel() -> true if it is cancelled now (false once running)
function Future:cancel ()
  mu:acquire()
  local s = self._state
  if s == PENDING then
    self._fn, self._args = nil, nil
    complete(self, CANCELLED)
    return true
  end
  mu:release()
  return s == CANCELLED
end

function Future:cancelled () return self._state == CANCELLED end
function Future:running () return self._state == RUNNING end
function Future:done () return isdone(self) end

-- Wait until the Future is done or 'timeout' passes; true if done.
local function waitdone (f, timeout)
  if isdone(f) then return true end
  timeout = threading._timeout(timeout, 1, "result", 3)
  mu:acquire()
  if isdone(f) then
    mu:release()
    return true
  end
  local ev = f._ev
  if not ev then
    ev = threading.Event()
    f._ev = ev
  end
  mu:release()
  return ev:wait(timeout)
end

-- f:result([timeout]) -> the function's results; raises its error,
-- CancelledError, or TimeoutError
function Future:result (timeout)
  if self._state ~= FINISHED and not waitdone(self, timeout) then
    error(TimeoutError(), 2)
  end
  if self._state == CANCELLED then error(CancelledError(), 2) end
  if self._failed then error(self._exc, 0) end
  local n = self._n
  if n == 1 then return self._r end
  if n == 0 then return end
  return unpack(self._r, 1, n)
end

-- f:exception([timeout]) -> the error the function raised, or nil
function Future:exception (timeout)
  if not waitdone(self, timeout) then error(TimeoutError(), 2) end
  if self._state == CANCELLED then error(CancelledError(), 2) end
  return self._exc
end

-- f:add_done_callback(fn): fn(f) runs when f is done (now if it is)
function Future:add_done_callback (fn)
  if not callable(fn) then
    error(("bad argument #1 to 'add_done_callback' (function expected, "
           .. "got %s)"):format(type(fn)), 2)
  end
  mu:acquire()
  if not isdone(self) then
    local cbs = self._callbacks
    if not cbs then
      cbs = {}
      self._callbacks = cbs
    end
    cbs[#cbs + 1] = fn
    mu:release()
    return
  end
  mu:release()
  runcallback(self, fn)
end

function Future:__tostring ()
  local s = self._state
  local extra = ""
  if s == FINISHED then
    if self._failed then
      local e = self._exc
      local mt = getmetatable(e)
      local what = type(e) == "table" and type(e.kind) == "table" and
                   mt and tostring(e.kind) or type(e)
      extra = " raised " .. what
    elseif self._n == 1 then
      extra = " returned " .. type(self._r)
    else
      extra = (" returned %d values"):format(self._n or 0)
    end
  end
  return ("<Future at %p state=%s%s>"):format(self, s, extra)
end

futures.Future = Future

-- Run a submitted Future on a worker.
local function finishrun (f, ok, ...)
  mu:acquire()
  if ok then
    setresults(f, select("#", ...), ...)
  else
    f._failed, f._exc = true, (...)
  end
  complete(f, FINISHED)
end

local function run (f)
  mu:acquire()
  if f._state ~= PENDING then  -- cancelled while queued
    mu:release()
    return
  end
  f._state = RUNNING
  mu:release()
  local fn, args = f._fn, f._args
  f._fn, f._args = nil, nil
  finishrun(f, pcall(fn, unpack(args, 1, args.n)))
end

-- }======================================================


-- {======================================================
-- ThreadPoolExecutor
-- =======================================================

local STOP = setmetatable({}, {__name = "concurrent.futures.STOP"})
local interpreter_shutdown = false
local pools = setmetatable({}, {__mode = "k"})  -- live pool cores

local function cpu_count ()
  return os.cpu_count and os.cpu_count() or 1
end

-- The pool's state that its workers share; the executor object holds it,
-- the workers do not hold the executor, so that an executor nobody uses
-- any more is collected and its workers stop (Python's weakref).
local function worker (core)
  local q = core.queue
  if core.initializer then
    local init, args = core.initializer, core.initargs
    local ok, err = pcall(init, unpack(args, 1, args.n or #args))
    if not ok then
      pcall(function ()
        logger():critical("Exception in initializer:\n%s", tostring(err))
      end)
      core:broken("A thread initializer failed, the thread pool is not "
                  .. "usable anymore")
      return
    end
  end
  local idle = core.idle
  while true do
    local f = q:get()
    if f ~= STOP then
      run(f)
      idle:release()
    elseif interpreter_shutdown or core.shutdown then
      core.shutdown = true
      q:put(STOP)  -- for the next worker
      return
    end
  end
end

local Core = {}
Core.__index = Core

-- An initializer failed: refuse new work and fail what is queued.
function Core:broken (why)
  self.lock:acquire()
  self.broke = why
  while true do
    local ok, f = pcall(self.queue.get_nowait, self.queue)
    if not ok then break end
    if f ~= STOP then
      mu:acquire()
      if f._state == PENDING then
        f._fn, f._args = nil, nil
        f._failed, f._exc = true, BrokenThreadPool(why)
        complete(f, FINISHED)
      else
        mu:release()
      end
    end
  end
  self.lock:release()
end

-- Start a worker unless an idle one can take the new item.
function Core:adjust ()
  if self.idle:acquire(false) then return end
  local n = #self.threads
  if n < self.max_workers then
    local t = threading.Thread{
      name = ("%s_%d"):format(self.prefix, n), target = worker,
      args = {self}, daemon = false,
    }
    t:start()
    self.threads[n + 1] = t
  end
end

local Executor = {__name = "concurrent.futures.ThreadPoolExecutor"}
Executor.__index = Executor
local executors = 0  -- for default prefixes "ThreadPoolExecutor-K"

local function optnumber (v, fname, what)
  if v ~= nil and math.type(v) ~= "integer" then
    error(("bad argument #1 to '%s' (%s must be an integer, got %s)")
          :format(fname, what, math.type(v) or type(v)), 3)
  end
  return v
end

-- ThreadPoolExecutor{max_workers=, thread_name_prefix=, initializer=,
-- initargs=} or ThreadPoolExecutor([max_workers])
local function newexecutor (cls, opts)
  if type(opts) ~= "table" then opts = {max_workers = opts} end
  local n = optnumber(opts.max_workers, "ThreadPoolExecutor", "max_workers")
  if n == nil then
    n = math.min(32, cpu_count() + 4)
  elseif n <= 0 then
    error("bad argument #1 to 'ThreadPoolExecutor' (max_workers must be "
          .. "greater than 0)", 2)
  end
  if opts.initializer ~= nil and not callable(opts.initializer) then
    error("bad argument #1 to 'ThreadPoolExecutor' (initializer must be a "
          .. "callable)", 2)
  end
  local prefix = opts.thread_name_prefix
  if prefix == nil or prefix == "" then
    prefix = "ThreadPoolExecutor-" .. executors
  end
  executors = executors + 1
  local core = setmetatable({
    queue = queue.SimpleQueue(), idle = threading.Semaphore(0),
    lock = threading.Lock(), threads = {}, max_workers = n,
    prefix = tostring(prefix), initializer = opts.initializer,
    initargs = opts.initargs or {}, shutdown = false, broke = nil,
  }, Core)
  pools[core] = true
  return setmetatable({_core = core, _max_workers = n}, cls)
end

setmetatable(Executor, {__call = newexecutor})

-- ex:submit(fn, ...) -> Future
function Executor:submit (fn, ...)
  local core = self._core
  if not callable(fn) then
    error(("bad argument #1 to 'submit' (function expected, got %s)")
          :format(type(fn)), 2)
  end
  local f = setmetatable({_state = PENDING, _fn = fn,
                          _args = {n = select("#", ...), ...}}, Future)
  local lock = core.lock
  lock:acquire()
  if core.broke then
    lock:release()
    error(BrokenThreadPool(core.broke), 2)
  end
  if core.shutdown then
    lock:release()
    error("cannot schedule new futures after shutdown", 2)
  end
  if interpreter_shutdown then
    lock:release()
    error("cannot schedule new futures after interpreter shutdown", 2)
  end
  core.queue:put(f)
  core:adjust()
  lock:release()
  return f
end

-- The closing value of a map loop: cancel what has not run.
local Canceller = {__close = function (c)
  local fs = c.fs
  for i = c.i + 1, #fs do fs[i]:cancel() end
end}

-- ex:map(fn, list [, list2 ...]) -> for-in iterator of i, results, in
-- input order; the first error is raised when its turn comes
function Executor:map (fn, ...)
  local lists = pack(...)
  if lists.n == 0 then
    error("bad argument #2 to 'map' (table expected, got no value)", 2)
  end
  local len = math.huge
  for k = 1, lists.n do
    local l = lists[k]
    if type(l) ~= "table" then
      error(("bad argument #%d to 'map' (table expected, got %s)")
            :format(k + 1, type(l)), 2)
    end
    len = math.min(len, l.n or #l)
  end
  local fs = {}
  for i = 1, len do
    local args = {n = lists.n}
    for k = 1, lists.n do args[k] = lists[k][i] end
    fs[i] = self:submit(fn, unpack(args, 1, args.n))
  end
  local c = setmetatable({fs = fs, i = 0}, Canceller)
  local function step ()
    local i = c.i + 1
    if i > len then return nil end
    c.i = i
    local f = fs[i]
    fs[i] = false  -- done with it: let it go
    return i, f:result()
  end
  return step, nil, nil, c
end

-- ex:shutdown{wait=true, cancel_futures=false}, also shutdown([wait])
function Executor:shutdown (opts)
  local wait, cancel = true, false
  if type(opts) == "table" then
    if opts.wait ~= nil then wait = not not opts.wait end
    cancel = not not opts.cancel_futures
  elseif opts ~= nil then
    wait = not not opts
  end
  local core = self._core
  core.lock:acquire()
  core.shutdown = true
  if cancel then
    while true do
      local ok, f = pcall(core.queue.get_nowait, core.queue)
      if not ok then break end
      if f ~= STOP then f:cancel() end
    end
  end
  core.queue:put(STOP)
  core.lock:release()
  if wait then
    for _, t in ipairs(core.threads) do
      if t ~= threading.current_thread() then t:join() end
    end
  end
end

-- `local ex <close> = ThreadPoolExecutor(...)` shuts down and waits.
function Executor:__close ()
  self:shutdown()
end

-- An executor nobody can reach: its workers finish the queue and leave.
function Executor:__gc ()
  local core = self._core
  if not core.shutdown then
    core.shutdown = true
    core.queue:put(STOP)
  end
end

function Executor:__tostring ()
  local core = self._core
  return ("<ThreadPoolExecutor %s: %d/%d workers%s>")
         :format(core.prefix, #core.threads, core.max_workers,
                 core.shutdown and ", shut down" or "")
end

futures.ThreadPoolExecutor = Executor

-- At exit (before threading joins the workers): no more work, and every
-- worker leaves once the queue ahead of it is done.
threading._register_atexit(function ()
  interpreter_shutdown = true
  for core in pairs(pools) do
    core.queue:put(STOP)
  end
end)

-- }======================================================


-- {======================================================
-- wait and as_completed
-- =======================================================

-- The futures of 'fs' without repeats, in input order.
local function distinct (fs, fname)
  if type(fs) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)")
          :format(fname, type(fs)), 3)
  end
  local list, seen = {}, {}
  for i = 1, fs.n or #fs do
    local f = fs[i]
    if getmetatable(f) ~= Future then
      error(("bad argument #1 to '%s' (Future expected at index %d, got %s)")
            :format(fname, i, type(f)), 3)
    end
    if not seen[f] then
      seen[f] = true
      list[#list + 1] = f
    end
  end
  return list
end

-- Register the SimpleQueue 'w' with every Future of 'list' not done yet;
-- returns the set of those already done and their count.
local function watch (list, w)
  local done, ndone = {}, 0
  mu:acquire()
  for _, f in ipairs(list) do
    if isdone(f) then
      done[f] = true
      ndone = ndone + 1
    else
      local ws = f._watchers
      if not ws then
        ws = {}
        f._watchers = ws
      end
      ws[w] = true
    end
  end
  mu:release()
  return done, ndone
end

local function unwatch (list, w)
  mu:acquire()
  for _, f in ipairs(list) do
    local ws = f._watchers
    if ws then ws[w] = nil end
  end
  mu:release()
end

-- Next Future put into 'w' before 'deadline' (nil: none), or nil.
local function nextdone (w, deadline)
  if deadline == nil then return w:get() end
  local left = deadline - time_monotonic()
  if left < 0 then left = 0 end
  local ok, f = pcall(w.get, w, true, left)
  if ok then return f end
  if queue.Empty:is(f) then return nil end
  error(f, 0)
end

local function failed (f)
  return f._state == FINISHED and f._failed
end

-- futures.wait(fs [, {timeout=, return_when=}]) -> done, not_done
function futures.wait (fs, opts)
  local list = distinct(fs, "wait")
  local timeout, when
  if type(opts) == "table" then
    timeout, when = opts.timeout, opts.return_when
  else
    timeout = opts
  end
  when = when or futures.ALL_COMPLETED
  if when ~= futures.ALL_COMPLETED and when ~= futures.FIRST_COMPLETED and
     when ~= futures.FIRST_EXCEPTION then
    error(("bad argument #2 to 'wait' (Invalid return condition: %s)")
          :format(tostring(when)), 2)
  end
  if timeout ~= nil and type(timeout) ~= "number" then
    error(("bad argument #2 to 'wait' (timeout must be a number, got %s)")
          :format(type(timeout)), 2)
  end
  local w = queue.SimpleQueue()
  local done, ndone = watch(list, w)
  local function finished ()
    if ndone == #list then return true end
    if when == futures.FIRST_COMPLETED then return ndone > 0 end
    if when == futures.FIRST_EXCEPTION then
      for f in pairs(done) do
        if failed(f) then return true end
      end
    end
    return false
  end
  local deadline = timeout and time_monotonic() + math.max(timeout, 0)
  while not finished() do
    local f = nextdone(w, deadline)
    if f == nil then break end
    if not done[f] then
      done[f] = true
      ndone = ndone + 1
    end
  end
  unwatch(list, w)
  local d, nd = {}, {}
  for _, f in ipairs(list) do
    if done[f] or isdone(f) then d[#d + 1] = f else nd[#nd + 1] = f end
  end
  return d, nd
end

-- futures.as_completed(fs [, timeout]) -> for-in iterator of Futures as
-- they complete (those done already first); raises TimeoutError
function futures.as_completed (fs, timeout)
  local list = distinct(fs, "as_completed")
  timeout = threading._timeout(timeout, 2, "as_completed", 2)
  local deadline = timeout and time_monotonic() + timeout
  local w = queue.SimpleQueue()
  local done = watch(list, w)
  local ready, yielded, total = {}, {}, #list
  for _, f in ipairs(list) do
    if done[f] then ready[#ready + 1] = f end
  end
  local nyielded, r = 0, 1
  local closer = setmetatable({}, {__close = function () unwatch(list, w) end})
  local function step ()
    local f = ready[r]
    if f then
      ready[r] = nil
      r = r + 1
    else
      if nyielded == total then return nil end
      repeat
        f = nextdone(w, deadline)
        if f == nil then
          error(TimeoutError(("%d (of %d) futures unfinished")
                             :format(total - nyielded, total)), 2)
        end
      until not yielded[f]
    end
    yielded[f] = true
    nyielded = nyielded + 1
    return f
  end
  return step, nil, nil, closer
end

-- }======================================================

return futures
