-- stdlib/threading.lua -- the 'threading' module: Python's threading API
-- on top of '_thread'. Compiled into the binary
-- (cmake/embed.cmake).
-- See LICENSE for copyright and licence (MIT).
--
-- Thread state that Python keeps in attributes lives in a private table
-- stored in the object under a key no one else has (PRIV), so that
-- 'daemon' and 'name' can check their writes and 'ident' cannot be
-- written at all. (A weak table keyed by object would do the same, but
-- the collector pays for ephemeron tables on every cycle.) Instances are plain tables whose
-- metatable is their class; classes chain to their parents with __index.

local _thread = require "_thread"
local gil = require "gil"

local getmetatable, rawget, rawequal, type = getmetatable, rawget,
                                             rawequal, type

local threading = {}

local PRIV = {}        -- the key of an object's private state
local function priv (obj)
  if type(obj) == "table" then return rawget(obj, PRIV) end
end
local active = {}     -- Thread -> true, from start() until it ends
local by_ident = {}   -- ident -> Thread running on that OS thread now
local counter = 0     -- for default names "Thread-N"
local dummies = 0     -- for "Dummy-N"


-- {======================================================
-- Classes
-- =======================================================

-- What Lua's own libraries name a value in their errors: the __name of
-- its metatable, or its type.
local function typename (v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return name end
  return type(v)
end

-- Lua's error for a method 'fname' of 'cname' called with a wrong self
-- 'v'; 'level' is error's, as seen from the caller.
local function selferror (fname, cname, v, level)
  error(("bad argument #1 to '%s' (%s expected, got %s)")
        :format(fname, cname, typename(v)), level + 1)
end

-- Is 'mt' the class 'cls' or one of its subclasses (made by extend)?
local function derives (mt, cls)
  while type(mt) == "table" do
    if rawequal(mt, cls) then return true end
    mt = rawget(mt, "super")
  end
  return false
end

-- checkmethods(cls, key): every method of 'cls' (a function field other
-- than the class machinery's own, which check themselves) checks its self
-- before it runs: an instance of 'cls' or of a subclass, a table holding
-- 'key' (a table whose metatable is 'cls' is taken on trust: that is
-- one C call on the way to the method); otherwise it raises bad argument
-- #1 (cls.__name expected, got ...), as Lua's own libraries do. Call it
-- once the methods are defined; a method defined later (a user's
-- subclass) is left as it is. A method with few parameters gets a
-- wrapper without varargs, which Lua calls faster. Shared with
-- concurrent.futures and logging (threading._checkmethods).
local machinery = {extend = true, __index = true, __newindex = true}
local checked = setmetatable({}, {__mode = "k"})  -- classes done already
local function checkmethods (cls, key)
  local cname = type(cls) == "table" and rawget(cls, "__name")
  if type(cname) ~= "string" then
    error(("bad argument #1 to '_checkmethods' (class expected, got %s)")
          :format(typename(cls)), 2)
  end
  if key == nil then
    error("bad argument #2 to '_checkmethods' (value expected)", 2)
  end
  if checked[cls] then return end
  checked[cls] = true
  for k, fn in pairs(cls) do
    if type(fn) == "function" and type(k) == "string" and not machinery[k]
    then
      -- a subclass's instance, or an error
      local function notinstance (self)
        if not derives(getmetatable(self), cls) or type(self) ~= "table"
           or rawget(self, key) == nil then
          selferror(k, cname, self, 3)
        end
      end
      local info = debug.getinfo(fn, "u")
      if not info.isvararg and info.nparams <= 2 then
        cls[k] = function (self, a)
          if getmetatable(self) ~= cls then notinstance(self) end
          return fn(self, a)
        end
      elseif not info.isvararg and info.nparams <= 4 then
        cls[k] = function (self, a, b, c)
          if getmetatable(self) ~= cls then notinstance(self) end
          return fn(self, a, b, c)
        end
      else
        cls[k] = function (self, ...)
          if getmetatable(self) ~= cls then notinstance(self) end
          return fn(self, ...)
        end
      end
    end
  end
end
threading._checkmethods = checkmethods

-- class(name, key, getters, setters) -> a root class. Its instances keep
-- their private state in a table under 'key'; the fields named in
-- 'getters' and 'setters' are computed (Python's properties); calling a
-- class makes an instance and runs its 'new'; cls:extend() makes a
-- subclass. Shared with multiprocessing (threading._class).
local function class (name, key, getters, setters)
  -- Lua calls these two with an instance; a call by hand may pass
  -- anything, which the checks (kept off the path to methods and plain
  -- fields) turn into Lua's bad argument error.
  local function index (self, k)
    local get = getters[k]
    if get then
      if type(self) ~= "table" or rawget(self, key) == nil then
        selferror("__index", name, self, 2)
      end
      return get(self)
    end
    local mt = getmetatable(self)
    if mt == nil then selferror("__index", name, self, 2) end
    return mt[k]
  end
  local function newindex (self, k, v)
    local set = setters[k]
    if set then
      if type(self) ~= "table" or rawget(self, key) == nil then
        selferror("__newindex", name, self, 2)
      end
      set(self, v)
    elseif type(self) ~= "table" then
      selferror("__newindex", name, self, 2)
    else
      rawset(self, k, v)
    end
  end
  local function construct (cls, ...)
    local obj = setmetatable({[key] = {}}, cls)
    obj:new(...)
    return obj
  end
  local function extend (parent)
    if type(parent) ~= "table" or rawget(parent, "__index") ~= index then
      selferror("extend", name .. " class", parent, 2)
    end
    local cls = {
      __index = index, __newindex = newindex,
      __tostring = parent.__tostring, __name = parent.__name,
      super = parent,
    }
    return setmetatable(cls, {__index = parent, __call = construct})
  end
  local root = {__index = index, __newindex = newindex, __name = name,
                extend = extend}
  return setmetatable(root, {__call = construct})
end
threading._class = class

local getters, setters = {}, {}

-- The private state of a Thread, with Python's error for a subclass
-- whose 'new' did not call its parent's.
local function state (self, fname)
  local p = priv(self)
  if p == nil or p.name == nil then
    error(("bad argument #1 to '%s' (Thread expected; did %s call "
           .. "Thread.new?)"):format(fname, "the subclass's new"), 3)
  end
  return p
end

-- }======================================================


-- {======================================================
-- Thread
-- =======================================================

local Thread = class("threading.Thread", PRIV, getters, setters)

-- Shared with concurrent.futures and multiprocessing (threading._callable).
local function callable (v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end
threading._callable = callable

-- Argument #n of 'fname', an optional timeout: nil, or a number, a
-- negative one made 0 (it polls, as in Python); NaN and one above
-- TIMEOUT_MAX are errors. 'level' is error's, as seen from the caller.
-- Shared as threading._timeout.
local TIMEOUT_MAX = _thread.TIMEOUT_MAX
local function timeout_arg (t, n, fname, level)
  if t == nil then return nil end
  if math.type(level) ~= "integer" then level = 1 end
  local why
  if type(t) ~= "number" then
    why = "number expected, got " .. typename(t)
  elseif t ~= t then
    why = "Invalid value NaN (not a number)"
  elseif t > TIMEOUT_MAX then
    why = "timeout value is too large"
  elseif t < 0 then
    return 0
  else
    return t
  end
  error(("bad argument #%s to '%s' (%s)")
        :format(tostring(n), tostring(fname), why), level + 1)
end
threading._timeout = timeout_arg

-- A bad argument to Thread:new, named after the class of 'self' (a
-- subclass's if it has a __name): only on the error path, as it is slow.
local function newerror (self, why)
  local mt = getmetatable(self)
  local cname = type(mt) == "table" and rawget(mt, "__name")
  cname = type(cname) == "string" and cname:match("[^.]*$") or "Thread"
  error(("bad argument #1 to '%s' (%s)"):format(cname, why), 4)
end

-- Thread{target=, args=, name=, daemon=}
function Thread:new (opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    newerror(self, "table expected, got " .. type(opts))
  end
  local p = priv(self)
  if opts.target ~= nil and not callable(opts.target) then
    newerror(self, "target must be callable")
  end
  if opts.args ~= nil and type(opts.args) ~= "table" then
    newerror(self, "args must be a table")
  end
  p.target, p.args = opts.target, opts.args or {}
  if opts.name ~= nil then
    p.name = tostring(opts.name)
  else
    counter = counter + 1
    p.name = "Thread-" .. counter
  end
  if opts.daemon ~= nil then
    p.daemon = not not opts.daemon
  else
    p.daemon = threading.current_thread().daemon
  end
  p.started = false
end

-- The body of a thread; subclasses override it.
function Thread:run ()
  local p = priv(self)
  if p.target then
    local args = p.args
    return p.target(table.unpack(args, 1, args.n or #args))
  end
end

-- tostring(v), or, when that raises (a __tostring that fails), what Lua
-- prints for an error object it cannot show; never raises.
local function safestring (v)
  if type(v) == "string" then return v end
  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then
    local ok, s = pcall(tostring, v)
    if ok and type(s) == "string" then return s end
  elseif type(v) == "number" then
    return tostring(v)
  end
  return ("(error object is a %s value)"):format(type(v))
end
threading._safestring = safestring
threading._typename = typename

-- The message handler of a thread's run: the error object itself, kept
-- as it is for value(), and its traceback.
local function traceback (err)
  if _thread.is_exit(err) then return err end
  return {err = err, traceback = debug.traceback(safestring(err), 2)}
end

-- The message handler of threading.excepthook; _thread.exit() in the
-- hook just ends it.
local function hooktraceback (err)
  if _thread.is_exit(err) then return err end
  return debug.traceback(safestring(err), 2)
end

-- What the failure of threading.excepthook itself prints, and then the
-- thread's own error that the hook failed to report, as Python does.
local function hookfailed (herr, tb, thread)
  local name = select(2, pcall(function () return thread.name end))
  io.stderr:write("Exception in threading.excepthook:\n", herr, "\n",
                  ("Exception in thread %s:\n"):format(safestring(name)),
                  tb, "\n")
  io.stderr:flush()
end

-- Runs on the new OS thread. Whatever the thread's run and
-- threading.excepthook do, the thread is forgotten when it ends. Only
-- run() can be cancelled (_thread._run: stdlib/cancel.c); a Cancelled
-- error that ends it is kept for value() but not reported.
local Cancelled = _thread.Cancelled
local function bootstrap (self)
  local p = priv(self)
  local ident = _thread.get_ident()
  by_ident[ident] = self
  local r = table.pack(_thread._run(self.run, traceback, self))
  if r[1] then
    p.results = table.pack(table.unpack(r, 2, r.n))
  elseif not _thread.is_exit(r[2]) then
    if type(r[2]) ~= "table" then  -- an error in the message handler
      r[2] = {err = r[2], traceback = safestring(r[2])}
    end
    p.failed = r[2]
  end
  if p.failed and not Cancelled:is(p.failed.err) then  -- not for a cancel
    pcall(function ()  -- for luagil --explore (stdlib/lglib.c)
      _thread._note("error", safestring(self.name), safestring(r[2].err))
    end)
    local ok, herr = xpcall(threading.excepthook, hooktraceback,
                            {exc_value = r[2].err,
                             exc_traceback = r[2].traceback, thread = self})
    if not ok and not _thread.is_exit(herr) then
      pcall(hookfailed, safestring(herr), r[2].traceback, self)
    end
  end
  by_ident[ident] = nil
  active[self] = nil
  p.locals = nil  -- its threading.local fields
end

-- t:start()
function Thread:start ()
  local p = state(self, "start")
  if p.started then error("threads can only be started once", 2) end
  p.started = true
  active[self] = true
  local ok, handle = pcall(_thread.start_joinable_thread,
                           function () bootstrap(self) end, p.name, true,
                           p.daemon)
  if not ok then
    active[self] = nil
    p.started = false
    error(handle, 2)
  end
  p.handle = handle
  p.ident = handle.ident  -- native_id is read from the handle when asked
end

-- Join the thread of 'p' (of 'self'); 'level' is error's, as seen from
-- the caller.
local function join (self, p, timeout, level)
  if not p.started then
    error("cannot join thread before it is started", level + 1)
  end
  if self == threading.current_thread() then
    error("cannot join current thread", level + 1)
  end
  if p.handle then p.handle:join(timeout) end
end

-- t:join([timeout]); a negative timeout polls, as in Python
function Thread:join (timeout)
  local p = state(self, "join")
  timeout = timeout_arg(timeout, 1, "join", 2)
  join(self, p, timeout, 2)
end

function Thread:is_alive ()
  local p = state(self, "is_alive")
  if not p.started then return false end
  if p.handle == nil then return true end  -- the main or a dummy thread
  return not p.handle:is_done()
end

-- t:value() -> the results of run(), after joining; re-raises its error.
function Thread:value ()
  local p = state(self, "value")
  if p.started and p.handle == nil then
    self:join()  -- the main or a dummy thread: as its join says
  else
    join(self, p, nil, 2)
  end
  if p.failed then error(p.failed.err, 0) end
  local r = p.results or {n = 0}
  return table.unpack(r, 1, r.n)
end

-- t:cancel([message]) -> true if the thread was still running: asks it
-- to stop; threading.Cancelled is raised in it at its next checkpoint
-- (every blocking wait, and running Lua at its next switch point), and
-- again at every one after that until its function ends.
local function cancelmessage (message, level)
  if message ~= nil and type(message) ~= "string" then
    error(("bad argument #1 to 'cancel' (string expected, got %s)")
          :format(typename(message)), level + 1)
  end
  return message or "cancelled by " .. threading.current_thread().name
end

function Thread:cancel (message)
  local p = state(self, "cancel")
  message = cancelmessage(message, 2)
  if not p.started then
    error("cannot cancel thread before it is started", 2)
  end
  if p.handle == nil then return false end
  local was = p.cancelled
  p.cancelled = true  -- first: a thread that cancels itself raises soon
  local applied = p.handle:_cancel(message)
  if not applied then p.cancelled = was end
  return applied
end

function Thread:__tostring ()
  local p = priv(self) or {}
  local status = not p.started and "initial"
                 or (self:is_alive() and "started" or "stopped")
  if p.daemon then status = status .. " daemon" end
  if p.ident then status = status .. " " .. p.ident end
  return ("<%s(%s, %s)>"):format(getmetatable(self).__name:match("[^.]*$"),
                                 p.name, status)
end

getters.name = function (self) return priv(self).name end
getters.ident = function (self) return priv(self).ident end
getters.native_id = function (self)
  local p = priv(self)
  if p.native_id == nil and p.handle then p.native_id = p.handle.native_id end
  return p.native_id
end
getters.daemon = function (self) return priv(self).daemon end
getters.cancelled = function (self) return priv(self).cancelled or false end
setters.name = function (self, v)
  local p = priv(self)
  p.name = tostring(v)
  if p.handle then p.handle:_setname(p.name) end  -- what the dumps show
end
setters.daemon = function (self, v)
  local p = state(self, "daemon")
  if p.started then
    error("cannot set daemon status of active thread", 3)
  end
  p.daemon = not not v
end
local function readonly (k)
  return function () error(("field '%s' is read-only"):format(k), 3) end
end
setters.ident, setters.native_id = readonly "ident", readonly "native_id"
setters.cancelled = readonly "cancelled"

-- The Python 2 era spellings.
function Thread:getName () return self.name end
function Thread:setName (name) self.name = name end
function Thread:isDaemon () return self.daemon end
function Thread:setDaemon (d)
  local p = state(self, "setDaemon")
  if p.started then error("cannot set daemon status of active thread", 2) end
  p.daemon = not not d
end
Thread.isAlive = Thread.is_alive

checkmethods(Thread, PRIV)
threading.Thread = Thread

-- A Thread object for a thread that threading did not start.
local function adopt (cls, name, daemon, ident)
  return setmetatable({[PRIV] = {name = name, daemon = daemon,
                                 started = true, ident = ident}}, cls)
end

local MainThread = Thread:extend()
MainThread.__name = "threading._MainThread"
local main = adopt(MainThread, "MainThread", false, _thread.main_ident())
by_ident[_thread.main_ident()] = main
if _thread.get_ident() == _thread.main_ident() then
  priv(main).native_id = _thread.get_native_id()
end

-- The main thread's cancel is as _thread.interrupt_main() with the
-- Cancelled kind: it raises once.
function MainThread:cancel (message)
  message = cancelmessage(message, 2)
  local p = priv(self)
  local was = p.cancelled
  p.cancelled = true
  local applied = _thread._cancel_main(message)
  if not applied then p.cancelled = was end
  return applied
end
checkmethods(MainThread, PRIV)

local DummyThread = Thread:extend()
DummyThread.__name = "threading._DummyThread"
function DummyThread:join ()
  error("cannot join a dummy thread", 2)
end
function DummyThread:cancel ()
  error("cannot cancel a dummy thread", 2)
end
checkmethods(DummyThread, PRIV)

-- }======================================================


-- {======================================================
-- Synchronisation objects. Lock, RLock, Condition, Semaphore,
-- BoundedSemaphore and Event are C types (stdlib/lock.c,
-- stdlib/semaphore.c); Barrier, Timer and local are built on them here.
-- =======================================================

threading.Lock = _thread.allocate_lock
threading.RLock = _thread.RLock
threading.Condition = _thread._Condition
threading.Semaphore = _thread._Semaphore
threading.BoundedSemaphore = _thread._BoundedSemaphore
threading.Event = _thread._Event
threading.BrokenBarrierError = _thread._errorkind "threading.BrokenBarrierError"

local BrokenBarrierError = threading.BrokenBarrierError

-- Barrier. A cycle fills (threads arrive and wait), then drains (the
-- last arrival ran the action and woke the others, who leave one by one);
-- threads of the next cycle wait in enter() until the draining is over.
-- reset() and abort() make the waiting threads raise BrokenBarrierError:
-- after reset() the barrier fills again once they have all left; after
-- abort() it stays broken until reset().
local FILLING, DRAINING, RESETTING, BROKEN = "filling", "draining",
                                             "resetting", "broken"

local Barrier = class("threading.Barrier", PRIV, {
  parties = function (self) return priv(self).parties end,
  n_waiting = function (self)
    local p = priv(self)
    return p.state == FILLING and p.count or 0
  end,
  broken = function (self) return priv(self).state == BROKEN end,
}, {})

local function broken ()
  return BrokenBarrierError "barrier is broken"
end

-- Barrier(parties [, action [, timeout]])
function Barrier:new (parties, action, timeout)
  if math.type(parties) ~= "integer" then
    error(("bad argument #1 to 'Barrier' (integer expected, got %s)")
          :format(math.type(parties) or type(parties)), 3)
  end
  if parties < 1 then
    error("bad argument #1 to 'Barrier' (parties must be > 0)", 3)
  end
  if action ~= nil and not callable(action) then
    error("bad argument #2 to 'Barrier' (action must be callable)", 3)
  end
  timeout_arg(timeout, 3, "Barrier", 3)
  local p = priv(self)
  p.cond = threading.Condition(threading.Lock())
  _thread._label(p.cond, "Barrier")  -- as the dumps name its waits
  p.parties, p.action, p.timeout = parties, action, timeout
  p.state, p.count = FILLING, 0
end

local function breakbarrier (p)
  p.state = BROKEN
  p.cond:notify_all()
end

-- The part of wait() between arriving and leaving; the lock is held.
local function await (p, index, timeout)
  if index + 1 == p.parties then  -- the last to arrive
    if p.action then
      local ok, err = pcall(p.action)
      if not ok then
        breakbarrier(p)
        error(err, 0)
      end
    end
    p.state = DRAINING
    p.cond:notify_all()
  elseif not p.cond:wait_for(function () return p.state ~= FILLING end,
                             timeout) then
    error(broken(), 0)  -- timed out: breaks the barrier
  elseif p.state == BROKEN or p.state == RESETTING then
    error(broken(), 0)
  end
end

-- Leaving a cycle, after await; 'ok' says whether it failed. Shielded
-- from a cancel, which would leave the count wrong.
local function leave (p, ok)
  if not ok and p.state == FILLING then
    breakbarrier(p)  -- a timeout, an interrupted or cancelled wait
  end
  p.count = p.count - 1
  if p.count == 0 and (p.state == DRAINING or p.state == RESETTING) then
    p.state = FILLING  -- the last one out lets the next cycle in
    p.cond:notify_all()
  end
end

local function cycle (p, timeout)
  while p.state == DRAINING or p.state == RESETTING do
    p.cond:wait()  -- the previous cycle is still leaving
  end
  if p.state == BROKEN then error(broken(), 0) end
  local index = p.count
  p.count = index + 1
  local ok, err = pcall(await, p, index, timeout)
  _thread.shield(leave, p, ok)
  if not ok then error(err, 0) end
  return index
end

-- barrier:wait([timeout]) -> index (0 .. parties-1); a negative timeout
-- polls, as in Python
function Barrier:wait (timeout)
  local p = priv(self)
  if timeout == nil then timeout = p.timeout end
  timeout = timeout_arg(timeout, 1, "wait", 2)
  return p.cond:with(cycle, p, timeout)
end

-- barrier:reset()
function Barrier:reset ()
  local p = priv(self)
  p.cond:with(function ()
    if p.count > 0 then
      if p.state == FILLING or p.state == BROKEN then p.state = RESETTING end
    else
      p.state = FILLING
    end
    p.cond:notify_all()
  end)
end

-- barrier:abort()
function Barrier:abort ()
  local p = priv(self)
  p.cond:with(breakbarrier, p)
end

function Barrier:__tostring ()
  local p = priv(self)
  if p.state == BROKEN then
    return ("<threading.Barrier: broken>")
  end
  return ("<threading.Barrier: waiters=%d/%d>")
         :format(self.n_waiting, p.parties)
end

checkmethods(Barrier, PRIV)
threading.Barrier = Barrier

-- Timer(interval, fn [, args]): a Thread that calls fn(args...) after
-- 'interval' seconds unless cancel() came first; at once for a negative
-- interval, as in Python.
local Timer = Thread:extend()
Timer.__name = "threading.Timer"

function Timer:new (interval, fn, args)
  if interval == nil then
    error("bad argument #1 to 'Timer' (number expected, got nil)", 3)
  end
  timeout_arg(interval, 1, "Timer", 3)
  if not callable(fn) then
    error(("bad argument #2 to 'Timer' (function expected, got %s)")
          :format(type(fn)), 3)
  end
  if args ~= nil and type(args) ~= "table" then
    error(("bad argument #3 to 'Timer' (table expected, got %s)")
          :format(type(args)), 3)
  end
  Timer.super.new(self)
  self.interval, self["function"], self.args = interval, fn, args or {}
  self.finished = threading.Event()
  priv(self).claim = threading.Lock()  -- taken by whichever comes first:
                                       -- the firing or the cancel
end

-- timer:cancel([message]): stop the timer if it has not fired yet, else
-- cancel the function it runs (Thread.cancel), if it still runs
function Timer:cancel (message)
  local p = priv(self)
  message = cancelmessage(message, 2)
  if p.claim:acquire(false) then  -- first: it will never fire
    p.stopped = true
    self.finished:set()
    return false
  end
  if p.stopped then return false end  -- a cancel came first
  return Thread.cancel(self, message)  -- run() came first
end

function Timer:run ()
  local interval = self.interval
  if not (interval > 0) then interval = 0 end  -- negative (or NaN): now
  self.finished:wait(interval)
  if not self.finished:is_set() and priv(self).claim:acquire(false) then
    local args = self.args
    self["function"](table.unpack(args, 1, args.n or #args))
  end
  self.finished:set()
end

checkmethods(Timer, PRIV)
threading.Timer = Timer

-- local: each thread sees its own fields. The fields live in the private
-- state of the running Thread object (not of the OS thread, which a later
-- Thread may reuse), in a weak table keyed by the local object, and go
-- when the thread ends.
local Local = {__name = "threading.local"}
setmetatable(Local, {__call = function (cls) return setmetatable({}, cls) end})

-- The check of a local's metamethod 'fname' on its self; 'level' is
-- error's, as seen from the caller.
local function checklocal (self, fname, level)
  if getmetatable(self) ~= Local or type(self) ~= "table" then
    selferror(fname, "threading.local", self, level + 1)
  end
end

local function fields (self, fname)
  checklocal(self, fname, 3)
  local p = priv(threading.current_thread())
  local all = p.locals
  if all == nil then
    all = setmetatable({}, {__mode = "k"})
    p.locals = all
  end
  local f = all[self]
  if f == nil then
    f = {}
    all[self] = f
  end
  return f
end

function Local:__index (k) return fields(self, "__index")[k] end
function Local:__newindex (k, v) fields(self, "__newindex")[k] = v end
function Local:__pairs () return next, fields(self, "__pairs"), nil end
function Local:__tostring ()
  checklocal(self, "__tostring", 2)
  return ("<threading.local at %p>"):format(self)
end

threading["local"] = Local
threading.Local = Local

-- }======================================================


-- {======================================================
-- Module functions
-- =======================================================

function threading.current_thread ()
  local ident = _thread.get_ident()
  local t = by_ident[ident]
  if t == nil then
    dummies = dummies + 1
    t = adopt(DummyThread, "Dummy-" .. dummies, true, ident)
    priv(t).native_id = _thread.get_native_id()
    by_ident[ident] = t
    active[t] = true
  end
  return t
end

-- A host thread that entered Lua through luagil_ensure has exited
-- (interp/embed.c): forget its dummy, as its ident may be reused.
function threading._forget_dummy (ident)
  local t = by_ident[ident]
  if t ~= nil and getmetatable(t) == DummyThread then
    by_ident[ident] = nil
    active[t] = nil
  end
end

function threading.main_thread ()
  return main
end

function threading.enumerate ()
  local list = {main}
  for t in pairs(active) do
    if t ~= main then list[#list + 1] = t end
  end
  return list
end

function threading.active_count ()
  return #threading.enumerate()
end

threading.get_ident = _thread.get_ident
threading.get_native_id = _thread.get_native_id
threading.stack_size = _thread.stack_size
threading.TIMEOUT_MAX = _thread.TIMEOUT_MAX

-- The default excepthook: what Python prints, in Lua's traceback format.
function threading.excepthook (args)
  if type(args) ~= "table" then
    error(("bad argument #1 to 'excepthook' (table expected, got %s)")
          :format(typename(args)), 2)
  end
  io.stderr:write(("Exception in thread %s:\n%s\n")
                  :format(args.thread and args.thread.name or "?",
                          args.exc_traceback or tostring(args.exc_value)))
  io.stderr:flush()
end

threading.setswitchinterval = gil.setswitchinterval
threading.getswitchinterval = gil.getswitchinterval

-- Functions that _shutdown calls first, newest first, before it joins the
-- threads (Python's threading._register_atexit): concurrent.futures tells
-- its idle pool workers to finish there.
local atexits = {}
function threading._register_atexit (fn)
  if not callable(fn) then
    error(("bad argument #1 to '_register_atexit' (function expected, got "
           .. "%s)"):format(typename(fn)), 2)
  end
  atexits[#atexits + 1] = fn
end

-- Called when the main chunk ends: join every non-daemon thread, newest
-- arrivals included, as Python does.
function threading._shutdown ()
  _thread._end()  -- the main chunk has ended: nothing left to cancel
  local fns = atexits  -- each runs once; one that fails is reported
  atexits = {}
  for i = #fns, 1, -1 do
    local ok, err = xpcall(fns[i], hooktraceback)
    if not ok and not _thread.is_exit(err) then
      pcall(io.stderr.write, io.stderr,
            "Exception ignored in a threading atexit function:\n",
            safestring(err), "\n")
    end
  end
  while true do
    local pending = {}
    for t in pairs(active) do
      local p = priv(t)
      if not p.daemon and p.handle and t ~= main then
        pending[#pending + 1] = t
      end
    end
    if #pending == 0 then return end
    for _, t in ipairs(pending) do
      t:join()
      active[t] = nil  -- even if its bootstrap never ran to the end
    end
  end
end

-- In the child of a fork only the forking thread exists: it becomes the
-- main thread, as in Python. Called by _thread's fork.
function threading._after_fork ()
  local me = threading.current_thread()
  for t in pairs(active) do active[t] = nil end
  by_ident = {[_thread.get_ident()] = me}
  priv(me).native_id = _thread.get_native_id()
  main = me
end

-- }======================================================


-- {======================================================
-- When threads go wrong: every thread's traceback, deadlocks
-- (stdlib/diag.c)
-- =======================================================

threading.DeadlockError = _thread.DeadlockError
threading.Cancelled = Cancelled

-- threading.shield(fn, ...) -> fn's results: runs fn with cancellation
-- held off; a cancel that came meanwhile raises when it returns
threading.shield = _thread.shield

-- The file argument #n of 'fname': nil (io.stderr) or a file.
local function outfile (f, n, fname)
  if f == nil then return io.stderr end
  if io.type(f) == nil then
    error(("bad argument #%d to '%s' (file expected, got %s)")
          :format(n, fname, typename(f)), 3)
  end
  return f
end

-- threading.dump_tracebacks([file]): every thread's state and traceback
-- to 'file' (default io.stderr)
function threading.dump_tracebacks (file)
  file = outfile(file, 1, "dump_tracebacks")
  local s = _thread._dump(2)
  file:write(s)
  file:flush()
end

-- threading.tracebacks() -> {[ident] = {name=, ident=, native_id=,
-- daemon=, state=, waiting=, since=, holds=, traceback=, thread=}}
function threading.tracebacks ()
  local all = _thread._tracebacks(2)
  for ident, t in pairs(all) do t.thread = by_ident[ident] end
  return all
end

threading.deadlocks = _thread.deadlocks

-- threading.dump_tracebacks_later(seconds [, {rep=, exit=, file=}]): a
-- watchdog that dumps every thread to 'file' (default io.stderr) if the
-- program still runs after 'seconds' (and every 'seconds' after that if
-- rep), then exits with status 1 if exit. Replaces the last one.
function threading.dump_tracebacks_later (seconds, opts)
  if type(seconds) ~= "number" then
    error(("bad argument #1 to 'dump_tracebacks_later' (number expected, "
           .. "got %s)"):format(typename(seconds)), 2)
  end
  if not (seconds > 0) then  -- NaN too
    error("bad argument #1 to 'dump_tracebacks_later' (timeout must be "
          .. "greater than 0)", 2)
  end
  if seconds > TIMEOUT_MAX then  -- inf too
    error("bad argument #1 to 'dump_tracebacks_later' (timeout value is "
          .. "too large)", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #2 to 'dump_tracebacks_later' (table expected, "
           .. "got %s)"):format(typename(opts)), 2)
  end
  opts = opts or {}
  local file = opts.file
  if file ~= nil then outfile(file, 2, "dump_tracebacks_later") end
  if file == io.stderr then file = nil end
  if file then file:flush() end
  _thread._dump_later(seconds, not not opts.rep, not not opts.exit, file)
end

-- threading.cancel_dump_tracebacks_later()
threading.cancel_dump_tracebacks_later = _thread._cancel_dump_later

-- threading.setcheckdeadlocks(on) -> was it on
function threading.setcheckdeadlocks (on)
  if type(on) ~= "boolean" then
    error(("bad argument #1 to 'setcheckdeadlocks' (boolean expected, "
           .. "got %s)"):format(typename(on)), 2)
  end
  return _thread.setcheckdeadlocks(on)
end

-- threading.setchecklocks(on) -> was it on: lock-order checking
-- (stdlib/lockorder.c), for every interpreter of the process
function threading.setchecklocks (...)
  local on = ...
  if type(on) ~= "boolean" then
    error(("bad argument #1 to 'setchecklocks' (boolean expected, "
           .. "got %s)"):format(select("#", ...) == 0 and "no value"
                                or typename(on)), 2)
  end
  return _thread.setchecklocks(on)
end

-- threading.lockorder_violations() -> {{taken=, held=, here=, there=,
-- message=}, ...}: the pairs of locks taken in both orders so far
threading.lockorder_violations = _thread.lockorder_violations

-- }======================================================


-- {======================================================
-- The Python 2 era spellings
-- =======================================================

threading.currentThread = threading.current_thread
threading.activeCount = threading.active_count

-- }======================================================

return threading
