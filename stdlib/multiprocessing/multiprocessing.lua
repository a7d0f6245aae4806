-- stdlib/multiprocessing/multiprocessing.lua -- the 'multiprocessing'
-- module: Process and Pool (fork-based) on top of '_multiprocessing' (Pipe,
-- Queue, Value, Array, Lock, the serializer). Compiled into the binary by
-- cmake/embed.cmake.
-- See LICENSE for copyright and licence (MIT).
--
-- A Process child is a fork of the interpreter: it runs target(args...) in
-- its copy of the program and ends with _multiprocessing._exit (queues
-- flushed, stdio flushed, no joins, no lua_close).
--
-- The Pool has no thread of its own: its workers persist, each with one
-- socket pair to the parent, and whichever thread waits for a result
-- (get, wait, ready, map, join) drives the pool under the pool's lock:
-- it sends pending tasks to idle workers, waits (GIL released) until a
-- worker answers or ends, and records what came back. A task carries its
-- function serialized once per call (string.dump plus upvalues by value).
-- A worker that dies with a task fails that task with an error naming it,
-- and is replaced.

local _mp = require "_multiprocessing"
local threading = require "threading"

local mp = {}

local getpid = _mp.getpid
local unpack = table.unpack

local PRIV = {}            -- the key of an object's private state
local children = {}        -- Process -> true: started here, not yet joined
local pools = setmetatable({}, {__mode = "k"})  -- Pool -> true, made here
local current              -- this process's Process object
local counter = 0          -- for default names: Process-N
local identity = {}        -- this process's place in the tree ({} in main)


-- {======================================================
-- Helpers
-- =======================================================

local callable = threading._callable

local function argerror (n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg),
        (level or 2) + 1)
end

-- A timeout argument: nil (none), or seconds; a negative one polls, NaN
-- and one past TIMEOUT_MAX are errors (threading's, as Python's).
local timeout_arg = threading._timeout

local function traceback (err)
  local tb = debug.traceback(threading._safestring(err), 2)
  -- Cut the frames of the machinery below the user's code.
  local cut = tb:find("\n\t[^\n]*%(%.%.%.tail calls%.%.%.%)\n\t%[C%]: in function 'xpcall'")
              or tb:find("\n\t%[C%]: in function 'xpcall'")
  local own = tb:find("\n\tstdlib/multiprocessing%.lua:")
  if own and (not cut or own < cut) then cut = own end
  return cut and tb:sub(1, cut - 1) or tb
end


-- }======================================================


-- {======================================================
-- Process
-- =======================================================

local getters, setters = {}, {}

local Process = threading._class("multiprocessing.Process", PRIV, getters,
                                 setters)

local function state (self, fname)
  local p = type(self) == "table" and rawget(self, PRIV)
  if not p or p.name == nil then
    argerror(1, fname, "Process expected", 3)
  end
  return p
end

-- Process{target=, args=, name=, daemon=}
function Process:new (opts)
  if type(self) ~= "table" or type(rawget(self, PRIV)) ~= "table" then
    argerror(1, "new", "multiprocessing.Process expected, got "
                       .. threading._typename(self))
  end
  opts = opts or {}
  if type(opts) ~= "table" then
    argerror(1, "Process", "table expected, got " .. type(opts), 3)
  end
  if opts.target ~= nil and not callable(opts.target) then
    argerror(1, "Process", "target must be callable", 3)
  end
  if opts.args ~= nil and type(opts.args) ~= "table" then
    argerror(1, "Process", "args must be a table", 3)
  end
  local p = rawget(self, PRIV)
  p.target, p.args = opts.target, opts.args or {}
  counter = counter + 1
  p.identity = {unpack(identity)}
  p.identity[#p.identity + 1] = counter
  p.name = opts.name ~= nil and tostring(opts.name)
           or "Process-" .. table.concat(p.identity, ":")
  if opts.daemon ~= nil then
    p.daemon = not not opts.daemon
  else
    p.daemon = current and state(current, "Process").daemon or false
  end
  p.parent_pid = getpid()
end

-- The body of a process; subclasses override it.
function Process:run ()
  local p = state(self, "run")
  if p.target then
    local args = p.args
    return p.target(unpack(args, 1, args.n or #args))
  end
end

-- Drop the children that ended (Python's _cleanup).
local function cleanup ()
  for c in pairs(children) do
    local h = rawget(c, PRIV).handle
    if h:poll() ~= nil then children[c] = nil end
  end
end

-- In a forked child: the parent's children, pools and queues are not ours.
local function after_fork (proc)
  for c in pairs(children) do rawget(c, PRIV).handle:forget() end
  children = {}
  for pool in pairs(pools) do pool:_forget() end
  current = proc
  local p = rawget(proc, PRIV)
  identity, counter = p.identity, 0
  p.pid = getpid()
end

local exit_function  -- below: join or terminate our own children

-- Run 'body' as the whole life of a forked child, then end the process.
local function child_main (proc, body)
  local code = 0
  local ok, err = xpcall(function ()
    after_fork(proc)
    return body()
  end, traceback)
  if not ok then
    io.stderr:write(("Process %s:\n%s\n"):format(rawget(proc, PRIV).name,
                                                  err))
    code = 1
  end
  pcall(exit_function)
  -- As Python's child, join the non-daemon threads the target started
  -- before ending the process (issue 19, case 16).
  if threading._shutdown then
    local ok2, err2 = xpcall(threading._shutdown, traceback)
    if not ok2 then
      io.stderr:write(("Process %s:\n%s\n"):format(rawget(proc, PRIV).name,
                                                    err2))
      if code == 0 then code = 1 end
    end
  end
  _mp._exit(code)
end

function Process:start ()
  local p = state(self, "start")
  if p.handle then error("cannot start a process twice", 2) end
  if p.parent_pid ~= getpid() then
    error("can only start a process object created by current process", 2)
  end
  if current and state(current, "start").daemon then
    error("daemonic processes are not allowed to have children", 2)
  end
  cleanup()
  local pid = _mp.fork()
  if pid == 0 then
    child_main(self, function () return self:run() end)
  end
  p.pid = pid
  p.handle = _mp.handle(pid)
  children[self] = true
end

local function checkchild (p, fname)
  if p.parent_pid ~= getpid() then
    error("can only " .. fname .. " a child process", 3)
  end
  if not p.handle then
    error("can only " .. fname .. " a started process", 3)
  end
end

-- p:join([timeout])
function Process:join (timeout)
  local p = state(self, "join")
  timeout = timeout_arg(timeout, 1, "join", 2)
  checkchild(p, "join")
  if p.handle:wait(timeout) ~= nil then children[self] = nil end
end

-- p:is_alive() -> boolean
function Process:is_alive ()
  local p = state(self, "is_alive")
  if self == current then return true end
  if not p.handle or p.parent_pid ~= getpid() then return false end
  return p.handle:poll() == nil
end

-- p:terminate(): SIGTERM
function Process:terminate ()
  local p = state(self, "terminate")
  checkchild(p, "terminate")
  p.handle:signal(_mp.SIGTERM)
end

-- p:kill(): SIGKILL
function Process:kill ()
  local p = state(self, "kill")
  checkchild(p, "kill")
  p.handle:signal(_mp.SIGKILL)
end

function Process:__tostring ()
  local p = state(self, "__tostring")
  local st
  if self == current then st = "started"
  elseif not p.handle then st = "initial"
  else
    local code = p.parent_pid == getpid() and p.handle:poll()
    st = code and ("stopped exitcode=%d"):format(code) or "started"
  end
  return ("<Process name='%s' pid=%s %s%s>"):format(p.name, p.pid or "None",
    st, p.daemon and " daemon" or "")
end

function getters.name (self) return rawget(self, PRIV).name end
function getters.daemon (self) return rawget(self, PRIV).daemon end
function getters.pid (self) return rawget(self, PRIV).pid end
getters.ident = getters.pid
function getters.exitcode (self)
  local p = rawget(self, PRIV)
  if not p.handle or p.parent_pid ~= getpid() then return nil end
  return p.handle:poll()
end
function getters.sentinel (self) return rawget(self, PRIV).handle end

function setters.name (self, v)
  rawget(self, PRIV).name = tostring(v)
end
function setters.daemon (self, v)
  local p = rawget(self, PRIV)
  if p.handle then error("process has already started", 2) end
  p.daemon = not not v
end
local function readonly (k)
  return function () error(("cannot set field '%s' of a Process"):format(k), 2) end
end
setters.pid, setters.ident, setters.exitcode, setters.sentinel =
  readonly "pid", readonly "ident", readonly "exitcode", readonly "sentinel"

-- The main process.
current = Process{name = "MainProcess", daemon = false}
counter = 0
rawget(current, PRIV).identity = {}
rawget(current, PRIV).pid = getpid()

function mp.current_process () return current end

-- active_children() -> list of the children still running
function mp.active_children ()
  cleanup()
  local list = {}
  for c in pairs(children) do list[#list + 1] = c end
  table.sort(list, function (a, b) return a.pid < b.pid end)
  return list
end

-- At exit (and at the end of a child): terminate the daemonic children,
-- join the others, and let the queues' feeders write what they hold.
function exit_function ()
  for c in pairs(children) do
    if rawget(c, PRIV).daemon and c:is_alive() then c:terminate() end
  end
  for c in pairs(children) do c:join() end
  for pool in pairs(pools) do
    if pool._owner == getpid() then pool:terminate() end
  end
  _mp.flush_feeders()
end

if threading._register_atexit then
  threading._register_atexit(function ()
    if rawget(current, PRIV).pid == getpid() then exit_function() end
  end)
end

mp.Process = Process

-- }======================================================


-- {======================================================
-- Pool
-- =======================================================

local TimeoutError  -- _multiprocessing.TimeoutError, set below
local monotonic = require("time").monotonic

local Pool = {__name = "multiprocessing.Pool"}
Pool.__index = Pool

local AsyncResult = {__name = "multiprocessing.AsyncResult"}
AsyncResult.__index = AsyncResult

local RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"
-- How a value that cannot go to a worker, or back, is refused.
local TOWORKER = "cannot be sent to a pool worker"
local TOPOOL = "cannot be sent back from a pool worker"
local MAX_PROCESSES = 4096  -- one fork each: more is a typo, not a pool
local poolcount = 0

-- The loop of a pool worker (in the child): tasks in, results out.
local function worker_loop (conn, initializer, initargs)
  if initializer then initializer(unpack(initargs, 1, initargs.n or #initargs)) end
  local blob, fn
  while true do
    local ok, msg = pcall(conn.recv_bytes, conn)
    if not ok then break end          -- the pool's end is closed
    local task = _mp.loads(msg, true)
    if not task then break end        -- stop
    if task.f ~= blob then blob, fn = task.f, _mp.loads(task.f, true) end
    local results = {n = #task.args}
    local done, err = xpcall(function ()
      for i, a in ipairs(task.args) do
        if task.star then
          results[i] = fn(unpack(a, 1, a.n or #a))
        else
          results[i] = fn(a)
        end
      end
    end, traceback)
    local reply
    if done then
      ok, reply = pcall(_mp.dumps, {id = task.id, ok = true, r = results}, true)
      if not ok then  -- name the result that cannot go back
        for i = 1, results.n do
          local ok2, err2 = pcall(_mp.dumps, results[i], true, "result",
                                  TOPOOL)
          if not ok2 then reply = err2; break end
        end
        reply = _mp.dumps({id = task.id, ok = false, err = reply})
      end
    else
      local me = current
      reply = _mp.dumps({id = task.id, ok = false, err = err ..
        ("\n(in pool worker %s, pid %d)"):format(me.name, me.pid)})
    end
    conn:send_bytes(reply)
  end
end

-- Fork one worker into slot i of the pool.
local function spawn (self, i)
  local pc, cc = _mp.Pipe(true)
  poolcount = poolcount + 1
  local w = {conn = pc, name = "ForkPoolWorker-" .. poolcount}
  local proc = Process{name = w.name, daemon = true}
  local pid = _mp.fork()
  if pid == 0 then
    pc:close()
    child_main(proc, function ()
      worker_loop(cc, self._initializer, self._initargs)
    end)
  end
  cc:close()
  w.pid, w.handle = pid, _mp.handle(pid)
  self._workers[i] = w
end

-- Pool([processes [, initializer [, initargs]]]) or Pool{processes=, ...}
function mp.Pool (processes, initializer, initargs)
  if type(processes) == "table" then
    processes, initializer, initargs =
      processes.processes, processes.initializer, processes.initargs
  end
  if processes == nil then processes = _mp.cpu_count() end
  if math.type(processes) ~= "integer" then
    argerror(1, "Pool", "integer expected, got "
                        .. (math.type(processes) or type(processes)))
  end
  if processes < 1 then
    argerror(1, "Pool", "Number of processes must be at least 1")
  end
  if processes > MAX_PROCESSES then
    argerror(1, "Pool", "too many processes (at most "
                        .. MAX_PROCESSES .. ")")
  end
  if initializer ~= nil and not callable(initializer) then
    argerror(2, "Pool", "initializer must be a callable")
  end
  local self = setmetatable({
    _processes = processes, _initializer = initializer,
    _initargs = initargs or {}, _workers = {}, _pending = {}, _jobs = {},
    _state = RUN, _owner = getpid(), _lock = threading.Lock(), _nextid = 0,
  }, Pool)
  -- A fork that fails (out of processes) takes the workers made so far
  -- down with it, instead of leaving them waiting for tasks.
  local ok, err = pcall(function ()
    for i = 1, processes do spawn(self, i) end
  end)
  if not ok then
    self._owner = getpid()
    Pool.terminate(self)
    error(err, 2)
  end
  pools[self] = true
  return self
end

-- In a forked child: the pool is the parent's.
function Pool:_forget ()
  for _, w in pairs(self._workers) do
    w.conn:close()
    w.handle:forget()
  end
  self._workers, self._pending, self._jobs = {}, {}, {}
  self._state, self._owner = TERMINATE, -1
end

local function checkowner (self, fname)
  if getmetatable(self) ~= Pool then
    argerror(1, fname, "Pool expected", 3)
  end
  if self._owner ~= getpid() then
    error("pool objects cannot be used in a process that did not create them", 3)
  end
end

-- Record the outcome of a chunk of 'job' (results or an error).
local function finish (self, job, first, reply)
  if reply.ok then
    for i = 1, reply.r.n do job.value[first + i - 1] = reply.r[i] end
  else
    job.chunkerr[first] = reply.err
    if job.err == nil then job.err = reply.err end
  end
  job.left = job.left - 1
  job.chunksdone[first] = true
  if job.left == 0 then job.ready = true end
end

-- A worker is gone: fail its task, replace it (unless the pool stops).
local function lost (self, i, w)
  local code = w.handle:wait()
  local how = code and code < 0 and ("killed by signal %d"):format(-code)
              or ("exit code %s"):format(code)
  if w.task then
    local t = w.task
    finish(self, t.job, t.first, {ok = false, err =
      ("pool worker %s (pid %d) died while running a task (%s)")
      :format(w.name, w.pid, how)})
  end
  w.conn:close()
  self._workers[i] = nil
  if self._state == RUN then spawn(self, i) end
end

-- One round of driving (pool lock held): dispatch, wait up to 'timeout'
-- for one event, take in what came.
local function step (self, timeout)
  local idle, busy = {}, {}
  for i, w in pairs(self._workers) do
    if w.task then busy[#busy + 1] = i else idle[#idle + 1] = i end
  end
  while #idle > 0 and #self._pending > 0 do
    local i = table.remove(idle)
    local w = self._workers[i]
    local t = table.remove(self._pending, 1)
    w.task = t
    local ok = pcall(w.conn.send_bytes, w.conn, t.msg)
    busy[#busy + 1] = i
    if not ok then lost(self, i, w) return end
  end
  if #busy == 0 then return end
  local objs = {}
  for _, i in ipairs(busy) do
    local w = self._workers[i]
    objs[#objs + 1] = w.conn
    objs[#objs + 1] = w.handle
  end
  local ready = _mp.wait(objs, timeout)
  local seen = {}
  for _, obj in ipairs(ready) do
    for _, i in ipairs(busy) do
      local w = self._workers[i]
      if w and not seen[i] and (w.conn == obj or w.handle == obj) then
        seen[i] = true
        -- Read a last answer before calling the worker lost.
        local ok, msg = false, nil
        if w.conn:poll(0) then ok, msg = pcall(w.conn.recv_bytes, w.conn) end
        if ok then
          local reply = _mp.loads(msg, true)
          local t = w.task
          w.task = nil
          finish(self, t.job, t.first, reply)
        else
          lost(self, i, w)
        end
      end
    end
  end
end

-- Drive the pool until pred() or the deadline; returns pred().
local function drive (self, pred, timeout)
  local deadline = timeout and monotonic() + timeout
  while not pred() do
    local left
    if deadline then
      left = deadline - monotonic()
      if left <= 0 then return pred() end
    end
    if self._lock:acquire(true, left or -1) then
      local ok, err = true, nil
      if not pred() then
        if not next(self._workers) and #self._pending > 0 then
          ok, err = false, "pool has no workers left"
        else
          ok, err = pcall(step, self, left)
        end
      end
      self._lock:release()
      if not ok then error(err, 0) end
    end
  end
  return true
end

-- Submit a job: 'items' is a list of argument tables (star) or arguments.
local function submit (self, fname, fn, items, star, chunksize)
  checkowner(self, fname)
  if self._state ~= RUN then error("Pool not running", 3) end
  if not callable(fn) then argerror(1, fname, "function expected", 3) end
  if type(items) ~= "table" then
    argerror(2, fname, "table expected, got " .. type(items), 3)
  end
  local n = #items
  if chunksize ~= nil then
    if math.type(chunksize) ~= "integer" then
      local ok, i = pcall(math.tointeger, chunksize)
      if not ok or i == nil then
        argerror(3, fname, math.type(chunksize)
                 and "number has no integer representation"
                 or "number expected, got " .. type(chunksize), 3)
      end
      chunksize = i
    end
    if chunksize < 1 then
      argerror(3, fname, ("Chunksize must be 1+, not %d"):format(chunksize),
               3)
    end
  end
  if chunksize == nil then
    chunksize = n // (self._processes * 4)
    if n % (self._processes * 4) ~= 0 then chunksize = chunksize + 1 end
  end
  if chunksize < 1 then chunksize = 1 end  -- the default, for an empty list
  local ok, blob = pcall(_mp.dumps, fn, true, "func", TOWORKER)
  if not ok then error(blob, 3) end
  self._nextid = self._nextid + 1
  local job = {value = {}, left = 0, chunksdone = {}, chunkerr = {},
               ready = n == 0,
               n = n, chunksize = chunksize, id = self._nextid}
  local tasks = {}
  for first = 1, n, chunksize do
    local args = {}
    for k = first, math.min(first + chunksize - 1, n) do
      local a = items[k]
      if star and type(a) ~= "table" then
        argerror(2, fname, ("table of argument lists expected, got %s at [%d]")
                           :format(type(a), k), 3)
      end
      args[#args + 1] = a
    end
    local ok2, msg = pcall(_mp.dumps, {id = job.id, f = blob, args = args,
                                       star = star}, true)
    if not ok2 then  -- name the argument, as the caller numbers it
      for k = first, first + #args - 1 do
        local root = fname:find("^apply") and "args" or "list[" .. k .. "]"
        local ok3, err = pcall(_mp.dumps, items[k], true, root, TOWORKER)
        if not ok3 then msg = err; break end
      end
      error(msg, 3)
    end
    tasks[#tasks + 1] = {job = job, first = first, msg = msg}
    job.left = job.left + 1
  end
  for _, t in ipairs(tasks) do self._pending[#self._pending + 1] = t end
  -- Start the work now, without waiting for anything.
  if #self._pending > 0 and self._lock:acquire(false) then
    local ok3, err = pcall(step, self, 0)
    self._lock:release()
    if not ok3 then error(err, 0) end
  end
  return setmetatable({_pool = self, _job = job}, AsyncResult)
end

-- pool:map_async(fn, list [, chunksize]) -> AsyncResult
function Pool:map_async (fn, list, chunksize)
  return submit(self, "map_async", fn, list, false, chunksize)
end

-- pool:map(fn, list [, chunksize]) -> list of fn(item)
function Pool:map (fn, list, chunksize)
  return submit(self, "map", fn, list, false, chunksize):get()
end

-- pool:starmap_async(fn, list_of_arg_lists [, chunksize]) -> AsyncResult
function Pool:starmap_async (fn, list, chunksize)
  return submit(self, "starmap_async", fn, list, true, chunksize)
end

-- pool:starmap(fn, list_of_arg_lists [, chunksize]) -> list
function Pool:starmap (fn, list, chunksize)
  return submit(self, "starmap", fn, list, true, chunksize):get()
end

-- pool:apply_async(fn [, args]) -> AsyncResult (get() -> fn(args...))
function Pool:apply_async (fn, args)
  checkowner(self, "apply_async")
  if args ~= nil and type(args) ~= "table" then
    argerror(2, "apply_async", "table expected, got " .. type(args))
  end
  local r = submit(self, "apply_async", fn, {args or {}}, true, 1)
  r._single = true
  return r
end

-- pool:apply(fn [, args]) -> fn(args...)
function Pool:apply (fn, args)
  checkowner(self, "apply")
  return self:apply_async(fn, args):get()
end

-- pool:imap(fn, list [, chunksize]) -> iterator of (i, fn(list[i])) in order
function Pool:imap (fn, list, chunksize)
  local r = submit(self, "imap", fn, list, false, chunksize or 1)
  local job, i = r._job, 0
  return function ()
    if i >= job.n then return nil end
    i = i + 1
    local first = i - (i - 1) % job.chunksize
    drive(self, function () return job.chunksdone[first] end)
    if job.chunkerr[first] then error(job.chunkerr[first], 0) end
    return i, job.value[i]
  end
end

-- pool:close(): no more tasks
function Pool:close ()
  checkowner(self, "close")
  if self._state == RUN then self._state = CLOSE end
end

-- pool:terminate(): stop the workers at once; pending tasks fail
function Pool:terminate ()
  if getmetatable(self) ~= Pool or self._owner ~= getpid() then return end
  self._state = TERMINATE
  for _, w in pairs(self._workers) do w.handle:signal(_mp.SIGTERM) end
  for i, w in pairs(self._workers) do
    w.handle:wait()
    w.conn:close()
    self._workers[i] = nil
  end
  for _, t in ipairs(self._pending) do
    finish(self, t.job, t.first, {ok = false, err = "pool was terminated"})
  end
  self._pending = {}
end

-- pool:join(): wait for the tasks and the workers (after close/terminate)
function Pool:join ()
  checkowner(self, "join")
  if self._state == RUN then error("Pool is still running", 2) end
  drive(self, function ()
    if #self._pending > 0 then return false end
    for _, w in pairs(self._workers) do
      if w.task then return false end
    end
    return true
  end)
  local stop = _mp.dumps(false)
  for _, w in pairs(self._workers) do pcall(w.conn.send_bytes, w.conn, stop) end
  for i, w in pairs(self._workers) do
    w.handle:wait()
    w.conn:close()
    self._workers[i] = nil
  end
end

Pool.__close = Pool.terminate

-- pool:guard() -> pool, a to-be-closed value that terminates the pool, as
-- Python's `with Pool() as pool:` does; the pool must be running.
function Pool:guard ()
  checkowner(self, "guard")
  if self._state ~= RUN then error("Pool not running", 2) end
  return self
end

-- A pool collected unterminated: its workers end (no wait in a finalizer).
function Pool:__gc ()
  if getmetatable(self) ~= Pool or self._owner ~= getpid() or
     self._state == TERMINATE then return end
  for _, w in pairs(self._workers) do w.handle:signal(_mp.SIGTERM) end
end

function Pool:__tostring ()
  if getmetatable(self) ~= Pool then
    argerror(1, "__tostring", "multiprocessing.Pool expected, got "
                              .. type(self))
  end
  return ("<multiprocessing.Pool state=%s pool_size=%d>")
         :format(self._state, self._processes)
end

-- The AsyncResult at 'self', or a bad argument error for 'fname'.
local function checkresult (self, fname)
  if getmetatable(self) ~= AsyncResult then
    argerror(1, fname, "multiprocessing.AsyncResult expected, got "
                       .. type(self), 3)
  end
  return self
end

-- r:ready() -> boolean
function AsyncResult:ready ()
  local job = checkresult(self, "ready")._job
  if not job.ready then
    local pool = self._pool
    if pool._owner == getpid() and pool._lock:acquire(false) then
      local ok, err = pcall(step, pool, 0)
      pool._lock:release()
      if not ok then error(err, 0) end
    end
  end
  return job.ready
end

-- r:wait([timeout])
function AsyncResult:wait (timeout)
  checkresult(self, "wait")
  timeout = timeout_arg(timeout, 1, "wait", 2)
  local job = self._job
  drive(self._pool, function () return job.ready end, timeout)
end

-- r:successful() -> boolean (the result must be ready)
function AsyncResult:successful ()
  checkresult(self, "successful")
  if not self:ready() then error(("%s not ready"):format(tostring(self)), 2) end
  return self._job.err == nil
end

-- r:get([timeout]) -> the result; re-raises the task's error
function AsyncResult:get (timeout)
  checkresult(self, "get")
  timeout = timeout_arg(timeout, 1, "get", 2)
  local job = self._job
  if not drive(self._pool, function () return job.ready end, timeout) then
    error(TimeoutError("result not ready after " .. tostring(timeout)
                       .. " seconds"), 2)
  end
  if job.err ~= nil then error(job.err, 0) end
  if self._single then return job.value[1] end
  local v = {}
  for i = 1, job.n do v[i] = job.value[i] end
  return v
end

function AsyncResult:__tostring ()
  checkresult(self, "__tostring")
  return ("<multiprocessing.AsyncResult %s>")
         :format(self._job.ready and "ready" or "pending")
end


-- }======================================================


-- The C half.
mp.Pipe, mp.Queue = _mp.Pipe, _mp.Queue
mp.Value, mp.Array = _mp.Value, _mp.Array
mp.Lock, mp.RLock = _mp.Lock, _mp.RLock
mp.cpu_count = _mp.cpu_count
mp.EOFError = _mp.EOFError
mp.TimeoutError = _mp.TimeoutError
TimeoutError = _mp.TimeoutError
local queue = require "queue"
mp.Empty, mp.Full = queue.Empty, queue.Full

-- parent_process() -> a Process for the parent, or nil in the main process
function mp.parent_process ()
  if #identity == 0 then return nil end
  local p = Process{name = "Parent"}
  rawget(p, PRIV).pid = _mp.getppid()
  return p
end

return mp
