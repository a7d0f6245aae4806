-- stdlib/concurrent_futures.lua -- the 'concurrent.futures' module:
-- ThreadPoolExecutor, InterpreterPoolExecutor, Future, wait, as_completed.
-- Compiled into the binary (cmake/embed.cmake). See LICENSE for copyright
-- and licence (MIT).
--
-- Notes about the implementation
--
-- A Future's state changes under one module-wide Lock ('mu'): Lua code can
-- be preempted between any two instructions, and a waiter must not check
-- "not done yet" and then miss the completion. Nothing blocks while 'mu' is
-- held, and it is only ever taken by mu:with (likewise the pools' locks),
-- which releases it on every error path, an interrupt (Ctrl-C) landing in
-- the middle included; methods check their self before they take it. A
-- thread that waits for one Future makes that Future's Event on first need
-- (most results are collected after they are done, so most Futures never
-- get one); wait() and as_completed() register a SimpleQueue with every
-- Future they watch, and a Future that completes puts itself into each.
-- A finished Future never changes again, so result() on it reads its
-- fields without the lock.
--
-- The pool is Python's: a SimpleQueue of Futures (a Future carries its
-- function and arguments until it runs), workers that start on demand up
-- to max_workers, an idle Semaphore that lets a submit reuse an idle worker
-- instead of starting one, and a STOP marker that tells a worker to leave
-- once the queue ahead of it is done. Workers are ordinary (non-daemon)
-- threads; at interpreter exit threading._shutdown runs our atexit hook,
-- which stops every pool, and then joins them, so pending work runs to the
-- end as in Python.
--
-- An InterpreterPoolExecutor is the same pool (Python 3.14's is a
-- subclass too); only where a worker runs a task differs: each worker
-- thread owns an interpreter of its own (interpreters.create()), runs the
-- initializer there once and every task there by interp:call, so that
-- the tasks' Lua runs in parallel. Tasks, arguments and results are
-- copied; a task's error comes back as interpreters.ExecutionFailed. The
-- interpreter is the worker's to-be-closed variable: it closes when the
-- worker leaves, at shutdown or at exit, however it leaves.
--
-- Batches: each crossing into the worker's interpreter lets this
-- interpreter's GIL go and takes it back, and the taking back waits for
-- whoever holds it (a submitting thread, for a switch interval): one
-- crossing per trivial task gave 28,000 tasks/s. A worker that finds a
-- backlog therefore takes its share of the queue (queued / max_workers,
-- at most max_batch: 32) into one crossing, Python's ProcessPoolExecutor's
-- prefetch in spirit: those tasks are running (cancel() fails) from then
-- on. A short queue is taken one task at a time, and max_batch = 1 always
-- is, as Python's InterpreterPoolExecutor does.

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
-- a child of BrokenThreadPool, as in Python 3.14
local BrokenInterpreterPool = errorkind(
  "concurrent.futures.BrokenInterpreterPool",
  "concurrent.futures.BrokenThreadPool")
futures.CancelledError = CancelledError
futures.TimeoutError = TimeoutError
futures.InvalidStateError = InvalidStateError
futures.BrokenExecutor = BrokenExecutor
futures.BrokenThreadPool = BrokenThreadPool
futures.BrokenInterpreterPool = BrokenInterpreterPool

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
                     threading._safestring(err))
    end)
  end
end

local function runcallbacks (f, callbacks)
  if callbacks then
    for i = 1, #callbacks do runcallback(f, callbacks[i]) end
  end
end

-- Make the final state of 'f' known to everyone: idempotent, so that it
-- can be run again when an interrupt cut it short.
local function settle (f, state, ev, watchers)
  f._state = state
  f._watchers, f._callbacks = nil, nil
  if ev then ev:set() end
  if watchers then
    for w in pairs(watchers) do w:put(f) end  -- a repeat is ignored
  end
end

-- Set the final state and let every waiter know; returns the done
-- callbacks, for the caller to run once 'mu' is free. Called with 'mu'
-- held (inside mu:with, which releases it even on an error). Nothing has
-- changed until settle starts; once it has, it runs to the end even if
-- an interrupt (Ctrl-C) lands in it.
local function complete (f, state)
  local ev, watchers, callbacks = f._ev, f._watchers, f._callbacks
  local ok, err = pcall(settle, f, state, ev, watchers)
  if not ok then
    settle(f, state, ev, watchers)
    error(err, 0)
  end
  return callbacks
end

-- Store the results of a call that succeeded: one is kept in a field,
-- more in a table, so the common single result allocates nothing.
local function setresults (f, n, first, ...)
  f._n = n
  if n <= 1 then f._r = first else f._r = pack(first, ...) end
end

-- The bodies of the methods that change a Future, run holding 'mu' by
-- mu:with, which releases it on every error path; each returns the done
-- callbacks to run, or the state it found.
local function setresult (f, ...)
  if isdone(f) then return false, f._state end
  setresults(f, select("#", ...), ...)
  return true, complete(f, FINISHED)
end

local function setexception (f, err)
  if isdone(f) then return false, f._state end
  f._failed, f._exc = true, err
  return true, complete(f, FINISHED)
end

-- f:set_result(...)
function Future:set_result (...)
  local ok, cbs = mu:with(setresult, self, ...)
  if not ok then
    error(InvalidStateError(cbs .. ": " .. tostring(self)), 2)
  end
  runcallbacks(self, cbs)
end

-- f:set_exception(err)
function Future:set_exception (err)
  local ok, cbs = mu:with(setexception, self, err)
  if not ok then
    error(InvalidStateError(cbs .. ": " .. tostring(self)), 2)
  end
  runcallbacks(self, cbs)
end

local function setrunning (f)
  local s = f._state
  if s == PENDING then f._state = RUNNING end
  return s
end

-- f:set_running_or_notify_cancel() -> false if it was cancelled
function Future:set_running_or_notify_cancel ()
  local s = mu:with(setrunning, self)
  if s == PENDING then return true end
  if s == CANCELLED then return false end
  error("Future in unexpected state: " .. s, 2)
end

local function cancel (f)
  local s = f._state
  if s == PENDING then
    f._fn, f._args = nil, nil
    return true, complete(f, CANCELLED)
  end
  return s == CANCELLED
end

-- f:cancel() -> true if it is cancelled now (false once running)
function Future:cancel ()
  local cancelled, cbs = mu:with(cancel, self)
  runcallbacks(self, cbs)
  return cancelled
end

function Future:cancelled () return self._state == CANCELLED end
function Future:running () return self._state == RUNNING end
function Future:done () return isdone(self) end

-- The Event that 'f' sets when it is done, made on first need; nil if
-- it is done already.
local function doneevent (f)
  if isdone(f) then return nil end
  local ev = f._ev
  if not ev then
    ev = threading.Event()
    f._ev = ev
  end
  return ev
end

-- Wait until the Future is done or 'timeout' (checked already) passes;
-- true if done.
local function waitdone (f, timeout)
  if isdone(f) then return true end
  local ev = mu:with(doneevent, f)
  if ev == nil then return true end
  return ev:wait(timeout)
end

-- f:result([timeout]) -> the function's results; raises its error,
-- CancelledError, or TimeoutError; a negative timeout polls
function Future:result (timeout)
  if timeout ~= nil then
    timeout = threading._timeout(timeout, 1, "result", 2)
  end
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
  timeout = threading._timeout(timeout, 1, "exception", 2)
  if not waitdone(self, timeout) then error(TimeoutError(), 2) end
  if self._state == CANCELLED then error(CancelledError(), 2) end
  return self._exc
end

local function addcallback (f, fn)
  if isdone(f) then return false end
  local cbs = f._callbacks
  if not cbs then
    cbs = {}
    f._callbacks = cbs
  end
  cbs[#cbs + 1] = fn
  return true
end

-- f:add_done_callback(fn): fn(f) runs when f is done (now if it is)
function Future:add_done_callback (fn)
  if not callable(fn) then
    error(("bad argument #1 to 'add_done_callback' (function expected, "
           .. "got %s)"):format(type(fn)), 2)
  end
  if not mu:with(addcallback, self, fn) then runcallback(self, fn) end
end

function Future:__tostring ()
  local s = self._state
  local extra = ""
  if s == FINISHED then
    if self._failed then
      local e = self._exc
      local mt = getmetatable(e)
      local what = type(e) == "table" and type(rawget(e, "kind")) == "table"
                   and mt and threading._safestring(e.kind) or type(e)
      extra = " raised " .. what
    elseif self._n == 1 then
      extra = " returned " .. type(self._r)
    else
      extra = (" returned %d values"):format(self._n or 0)
    end
  end
  return ("<Future at %p state=%s%s>"):format(self, s, extra)
end

threading._checkmethods(Future, "_state")
futures.Future = Future

-- Run a submitted Future on a pool's worker, where no interrupt lands
-- (Ctrl-C interrupts only the main thread): settle needs no second
-- chance.
local function finishrun (f, ok, ...)
  if ok then
    setresults(f, select("#", ...), ...)
  else
    f._failed, f._exc = true, (...)
  end
  local ev, watchers, callbacks = f._ev, f._watchers, f._callbacks
  settle(f, FINISHED, ev, watchers)
  return callbacks
end

-- 'call' is nil (fn runs here), or runs fn elsewhere: call(ctx, fn, ...).
local function run (f, call, ctx)
  -- Nothing between these two can raise (no call, no new field, no
  -- interrupt on a worker), so a plain acquire is safe, and cheaper.
  mu:acquire()
  local s = f._state
  if s == PENDING then f._state = RUNNING end
  mu:release()
  if s ~= PENDING then return end  -- cancelled while queued
  local fn, args = f._fn, f._args
  f._fn, f._args = nil, nil
  if call == nil then
    runcallbacks(f, mu:with(finishrun, f, pcall(fn, unpack(args, 1, args.n))))
  else
    runcallbacks(f, mu:with(finishrun, f,
                            pcall(call, ctx, fn, unpack(args, 1, args.n))))
  end
end

-- Batches, for workers whose tasks run elsewhere (InterpreterPoolExecutor):
-- one crossing into the worker's interpreter runs several tasks, each
-- task's error caught there and sent back as data. Runs there: only
-- globals of that interpreter and its arguments.
local function runremote (errinfo, copyable, batch)
  local out = {}
  for i = 1, batch.n do
    local b = batch[i]
    local r = table.pack(xpcall(b.fn, errinfo, table.unpack(b, 1, b.n)))
    for k = 2, r.n do  -- a result that cannot come back fails its task
      local v = r[k]
      local t = type(v)
      if t ~= "nil" and t ~= "boolean" and t ~= "number" and
         t ~= "string" then
        local ok, why = copyable(table.unpack(r, 2, r.n))
        if not ok then r = {n = 2, false, {message = why}} end
        break
      end
    end
    out[i] = r
  end
  return out
end

-- The Futures of 'fs' still pending start running: into 'mine', and
-- their calls into 'batch'. Holding 'mu'.
local function claim (fs, mine, batch)
  for i = 1, #fs do
    local f = fs[i]
    if f._state == PENDING then
      local args = f._args
      args.fn = f._fn
      batch.n = batch.n + 1
      mine[batch.n], batch[batch.n] = f, args
      f._state, f._fn, f._args = RUNNING, nil, nil
    end
  end
end

-- Take up to 'limit' more Futures of the queue into 'fs', never STOP
-- (it goes back, for this worker's next get).
local function takemore (q, fs, limit)
  while #fs < limit and q:qsize() > 0 do
    local ok, f = pcall(q.get_nowait, q)
    if not ok then break end
    if f == STOP then
      q:put(STOP)
      break
    end
    fs[#fs + 1] = f
  end
end

-- Run Future 'first', and as many more of the queue as this worker's
-- share of it, up to core.max_batch, in one call there: when the queue
-- is short, each task is taken only when it runs, as in Python.
local function runbatch (core, first, call, ctx, I)
  local fs = {first}
  local limit = math.min(core.max_batch,
                         (core.queue:qsize() + 1) // core.max_workers)
  if limit > 1 then takemore(core.queue, fs, limit) end
  local batch, mine = {n = 0}, {}
  mu:with(claim, fs, mine, batch)
  if batch.n == 0 then return 0 end
  local ok, out = pcall(call, ctx, runremote, I._errinfo, I._copyable, batch)
  if not ok then  -- a task's arguments cannot be copied: one by one
    for i = 1, batch.n do
      local b = batch[i]
      runcallbacks(mine[i], mu:with(finishrun, mine[i],
                   pcall(call, ctx, b.fn, unpack(b, 1, b.n))))
    end
    return batch.n
  end
  for i = 1, batch.n do
    local r = out[i]
    if r[1] then
      runcallbacks(mine[i], mu:with(finishrun, mine[i], unpack(r, 1, r.n)))
    else
      runcallbacks(mine[i], mu:with(finishrun, mine[i], false,
                                    I._failed(r[2])))
    end
  end
  return batch.n
end

-- }======================================================


-- {======================================================
-- ThreadPoolExecutor and InterpreterPoolExecutor
-- =======================================================

local STOP = setmetatable({}, {__name = "concurrent.futures.STOP"})
local interpreter_shutdown = false
local pools = setmetatable({}, {__mode = "k"})  -- live pool cores

local function cpu_count ()
  return os.cpu_count and os.cpu_count() or 1
end

-- Log why a worker could not start and break its pool.
local function cannotstart (core, err)
  pcall(function ()
    logger():critical("Exception in initializer:\n%s",
                      threading._safestring(err))
  end)
  core:broken(core.spec.broke)
end

-- The pool's state that its workers share; the executor object holds it,
-- the workers do not hold the executor, so that an executor nobody uses
-- any more is collected and its workers stop (Python's weakref). Where
-- the worker runs its tasks is its context: none (here), or what the
-- pool's spec.context makes, a to-be-closed object with a method 'call'
-- that runs them there.
local function worker (core)
  local q = core.queue
  local ctx, newctx = nil, core.spec.context
  if newctx then
    local ok, c = pcall(newctx)
    if not ok then
      cannotstart(core, c)
      return
    end
    ctx = c
  end
  local _ <close> = ctx
  local call = ctx ~= nil and ctx.call or nil
  if core.initializer then
    local init, args = core.initializer, core.initargs
    local ok, err = pcall(function ()  -- unpack may fail too: n is huge
      if call == nil then return init(unpack(args, 1, args.n or #args)) end
      return call(ctx, init, unpack(args, 1, args.n or #args))
    end)
    if not ok then
      cannotstart(core, err)
      return
    end
  end
  local idle = core.idle
  local I = core.spec.batches and core.max_batch > 1 and
            require "_interpreters"
  while true do
    local f = q:get()
    if f ~= STOP and I then
      for _ = 1, runbatch(core, f, call, ctx, I) do idle:release() end
    elseif f ~= STOP then
      run(f, call, ctx)
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

local function failqueued (f, kind, why)
  if f._state ~= PENDING then return nil end
  f._fn, f._args = nil, nil
  f._failed, f._exc = true, kind(why)
  return complete(f, FINISHED)
end

local function breakpool (core, why)
  core.broke = why
  while true do
    local ok, f = pcall(core.queue.get_nowait, core.queue)
    if not ok then break end
    if f ~= STOP then
      runcallbacks(f, mu:with(failqueued, f, core.spec.broken, why))
    end
  end
end

-- An initializer failed: refuse new work and fail what is queued.
function Core:broken (why)
  self.lock:with(breakpool, self, why)
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

-- What sets a kind of pool apart (its class's _spec, a table: methods
-- are wrapped by _checkmethods): its short name, its error kind and
-- message once broken, and what makes a worker's context.
local Executor = {__name = "concurrent.futures.ThreadPoolExecutor",
  _spec = {short = "ThreadPoolExecutor", broken = BrokenThreadPool,
           broke = "A thread initializer failed, the thread pool is not "
                   .. "usable anymore",
           context = nil}}
Executor.__index = Executor
local executors = 0  -- for default prefixes "ThreadPoolExecutor-K"

-- The length of list 'l', argument #n of 'fname' (or its field 'what'):
-- its field 'n' (an integer from 0 to 2^31-1) or #l. 'level' is error's,
-- as seen from the caller.
local MAXLEN = 0x7fffffff
local function checklist (l, n, fname, what, level)
  local why
  if type(l) ~= "table" then
    why = ("table expected, got %s"):format(threading._typename(l))
  else
    local len = l.n
    if len == nil then return #l end
    if math.type(len) == "integer" and len >= 0 and len <= MAXLEN then
      return len
    end
    why = ("field 'n' must be an integer from 0 to %d, got %s")
          :format(MAXLEN, threading._safestring(len))
  end
  if what then why = what .. ": " .. why end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, why), level + 1)
end

local function optnumber (v, fname, what)
  if v ~= nil and math.type(v) ~= "integer" then
    error(("bad argument #1 to '%s' (%s must be an integer, got %s)")
          :format(fname, what, math.type(v) or type(v)), 3)
  end
  return v
end

-- ThreadPoolExecutor{max_workers=, thread_name_prefix=, initializer=,
-- initargs=} or ThreadPoolExecutor([max_workers]); so too
-- InterpreterPoolExecutor
local function newexecutor (cls, opts)
  local spec = cls._spec
  local name = spec.short
  if type(opts) ~= "table" then opts = {max_workers = opts} end
  local n = optnumber(opts.max_workers, name, "max_workers")
  if n == nil then
    n = math.min(32, cpu_count() + 4)
  elseif n <= 0 then
    error(("bad argument #1 to '%s' (max_workers must be greater than 0)")
          :format(name), 2)
  end
  if opts.initializer ~= nil and not callable(opts.initializer) then
    error(("bad argument #1 to '%s' (initializer must be a callable)")
          :format(name), 2)
  end
  if opts.initargs ~= nil then
    checklist(opts.initargs, 1, name, "initargs", 2)
  end
  local max_batch = optnumber(opts.max_batch, name, "max_batch") or 32
  if max_batch < 1 then
    error(("bad argument #1 to '%s' (max_batch must be at least 1)")
          :format(name), 2)
  end
  local prefix = opts.thread_name_prefix
  if prefix == nil or prefix == "" then
    prefix = name .. "-" .. executors
  end
  executors = executors + 1
  local core = setmetatable({
    queue = queue.SimpleQueue(), idle = threading.Semaphore(0),
    lock = threading.Lock(), threads = {}, max_workers = n,
    prefix = tostring(prefix), initializer = opts.initializer,
    initargs = opts.initargs or {}, shutdown = false, broke = nil,
    spec = spec, max_batch = max_batch,
  }, Core)
  pools[core] = true
  return setmetatable({_core = core, _max_workers = n}, cls)
end

setmetatable(Executor, {__call = newexecutor})

-- Queue 'f' unless the pool takes no more work; then returns why. Runs
-- holding the pool's lock.
local function schedule (core, f)
  if core.broke then return core.spec.broken(core.broke) end
  if core.shutdown then
    return "cannot schedule new futures after shutdown"
  end
  if interpreter_shutdown then
    return "cannot schedule new futures after interpreter shutdown"
  end
  core.queue:put(f)
  core:adjust()
end

-- ex:submit(fn, ...) -> Future
function Executor:submit (fn, ...)
  local core = self._core
  if not callable(fn) then
    error(("bad argument #1 to 'submit' (function expected, got %s)")
          :format(type(fn)), 2)
  end
  local f = setmetatable({_state = PENDING, _fn = fn,
                          _args = {n = select("#", ...), ...}}, Future)
  local why = core.lock:with(schedule, core, f)
  if why then error(why, 2) end
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
    len = math.min(len, checklist(lists[k], k + 1, "map", nil, 2))
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

-- No more work: the workers leave once the queue ahead of them is done
-- (cancelled first with 'cancel'). Runs holding the pool's lock.
local function stop (core, cancel)
  core.shutdown = true
  if cancel then
    while true do
      local ok, f = pcall(core.queue.get_nowait, core.queue)
      if not ok then break end
      if f ~= STOP then f:cancel() end
    end
  end
  core.queue:put(STOP)
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
  core.lock:with(stop, core, cancel)
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

-- ex:guard() -> ex, a to-be-closed value that shuts the executor down and
-- waits, as Python's `with ThreadPoolExecutor() as ex:` does:
-- `local _ <close> = ex:guard()`, like a lock's guard.
function Executor:guard ()
  return self
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
  return ("<%s %s: %d/%d workers%s>")
         :format(core.spec.short, core.prefix, #core.threads, core.max_workers,
                 core.shutdown and ", shut down" or "")
end

threading._checkmethods(Executor, "_core")
futures.ThreadPoolExecutor = Executor

-- InterpreterPoolExecutor: a subclass whose workers' context is an
-- interpreter of their own. 'interpreters' is required on first use (an
-- interpreter made with modules = "threading" has none).
local IExecutor = setmetatable({
  __name = "concurrent.futures.InterpreterPoolExecutor", super = Executor,
  _spec = {short = "InterpreterPoolExecutor", broken = BrokenInterpreterPool,
           broke = "An interpreter initializer failed, the interpreter "
                   .. "pool is not usable anymore",
           context = function () return require("interpreters").create() end,
           batches = true},
  -- metamethods are not inherited
  __close = Executor.__close, __gc = Executor.__gc,
  __tostring = Executor.__tostring,
}, {__index = Executor, __call = function (cls, opts)
  require "interpreters"  -- here, not first in a worker: raises here
  return newexecutor(cls, opts)
end})
IExecutor.__index = IExecutor
futures.InterpreterPoolExecutor = IExecutor

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
local function register (list, w)
  local done, ndone = {}, 0
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
  return done, ndone
end

local function watch (list, w)
  return mu:with(register, list, w)
end

local function unregister (list, w)
  for _, f in ipairs(list) do
    local ws = f._watchers
    if ws then ws[w] = nil end
  end
end

local function unwatch (list, w)
  mu:with(unregister, list, w)
end

-- The to-be-closed value that unwatches 'list' for 'w', however the
-- wait ends.
local Unwatcher = {__close = function (u) unwatch(u.list, u.w) end}

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
  timeout = threading._timeout(timeout, 2, "wait", 2)
  local w = queue.SimpleQueue()
  local _ <close> = setmetatable({list = list, w = w}, Unwatcher)
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
  local deadline = timeout and time_monotonic() + timeout
  while not finished() do
    local f = nextdone(w, deadline)
    if f == nil then break end
    if not done[f] then
      done[f] = true
      ndone = ndone + 1
    end
  end
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
  local closer = setmetatable({list = list, w = w}, Unwatcher)
  local done = watch(list, w)
  local ready, yielded, total = {}, {}, #list
  for _, f in ipairs(list) do
    if done[f] then ready[#ready + 1] = f end
  end
  local nyielded, r = 0, 1
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
