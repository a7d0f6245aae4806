-- stdlib/logging.lua -- the 'logging' module: Python's logging, the part
-- that thread scripts use. Compiled into the binary
-- (cmake/embed.cmake).
-- See LICENSE for copyright and licence (MIT).
--
-- Loggers form Python's dotted hierarchy ("a.b" below "a" below the root);
-- a record climbs it to the root's handler, which basicConfig sets up.
-- A record is formatted into one string and written with one call to
-- write (then flushed), so the lines of many threads never interleave:
-- a C stream writes one buffer under its own lock. Fields that cost a
-- debug.getinfo (filename, lineno, funcName, module, pathname) are only
-- computed when the format names them.

local threading = require "threading"
local time = require "time"

local logging = {}

-- Python's logging.raiseExceptions: when a handler fails, print the
-- error to stderr (true) or ignore it (false); the log call goes on.
logging.raiseExceptions = true

local safestring = threading._safestring
local unpack = table.unpack

local CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET = 50, 40, 30, 20, 10, 0
logging.CRITICAL, logging.FATAL = CRITICAL, CRITICAL
logging.ERROR = ERROR
logging.WARNING, logging.WARN = WARNING, WARNING
logging.INFO, logging.DEBUG, logging.NOTSET = INFO, DEBUG, NOTSET

local names = {
  [CRITICAL] = "CRITICAL", [ERROR] = "ERROR", [WARNING] = "WARNING",
  [INFO] = "INFO", [DEBUG] = "DEBUG", [NOTSET] = "NOTSET",
  CRITICAL = CRITICAL, FATAL = CRITICAL, ERROR = ERROR, WARNING = WARNING,
  WARN = WARNING, INFO = INFO, DEBUG = DEBUG, NOTSET = NOTSET,
}

local BASIC_FORMAT = "%(levelname)s:%(name)s:%(message)s"
local start = time.time()  -- for relativeCreated
local lock = threading.RLock()  -- the logger tree and the configuration


-- logging.getLevelName(level) -> name, or level for a name
function logging.getLevelName (level)
  local v = names[level]
  if v ~= nil then return v end
  if type(level) == "number" then return "Level " .. level end
  return "Level " .. tostring(level)
end

-- logging.addLevelName(level, name)
function logging.addLevelName (level, name)
  if math.type(level) ~= "integer" then
    error(("bad argument #1 to 'addLevelName' (integer expected, got %s)")
          :format(threading._typename(level)), 2)
  end
  if type(name) ~= "string" then
    error(("bad argument #2 to 'addLevelName' (string expected, got %s)")
          :format(threading._typename(name)), 2)
  end
  names[level], names[name] = name, level
end

local function checklevel (level, fname)
  if math.type(level) == "integer" then return level end
  if type(level) == "string" then
    local v = names[level]
    if math.type(v) == "integer" then return v end
    error(("bad argument #1 to '%s' (Unknown level: '%s')")
          :format(fname, level), 3)
  end
  error(("bad argument #1 to '%s' (Level not an integer or a valid string: "
         .. "%s)"):format(fname, tostring(level)), 3)
end


-- {======================================================
-- Formatting
-- =======================================================

-- A record, argument #1 of 'fname' (a method).
local function checkrecord (record, fname)
  if type(record) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)")
          :format(fname, threading._typename(record)), 3)
  end
end

-- Which of a format's fields need debug.getinfo.
local located = {filename = true, lineno = true, funcName = true,
                 module = true, pathname = true}

local Formatter = {__name = "logging.Formatter"}
Formatter.__index = Formatter

-- logging.Formatter([fmt [, datefmt]])
function logging.Formatter (fmt, datefmt)
  fmt = fmt or "%(message)s"
  if type(fmt) ~= "string" then
    error(("bad argument #1 to 'Formatter' (string expected, got %s)")
          :format(threading._typename(fmt)), 2)
  end
  if datefmt ~= nil and type(datefmt) ~= "string" then
    error(("bad argument #2 to 'Formatter' (string expected, got %s)")
          :format(threading._typename(datefmt)), 2)
  end
  local f = setmetatable({fmt = fmt, datefmt = datefmt,
                          usestime = fmt:find("%(asctime%)") ~= nil},
                         Formatter)
  for field in fmt:gmatch("%%%((%w+)%)") do
    if located[field] then f.located = true end
  end
  return f
end

-- Python's time format: "2016-11-02 18:21:44,252".
function Formatter:formatTime (record, datefmt)
  checkrecord(record, "formatTime")
  if type(record.created) ~= "number" or type(record.msecs) ~= "number" then
    error("bad argument #1 to 'formatTime' (record without a number "
          .. "'created' and 'msecs')", 2)
  end
  if datefmt ~= nil and type(datefmt) ~= "string" then
    error(("bad argument #2 to 'formatTime' (string expected, got %s)")
          :format(threading._typename(datefmt)), 2)
  end
  local secs = math.floor(record.created)
  if datefmt then return os.date(datefmt, secs) end
  return ("%s,%03d"):format(os.date("%Y-%m-%d %H:%M:%S", secs),
                            record.msecs)
end

-- One %(field)<spec> of a format: Python's %-conversions map onto Lua's.
local function field (record, name, spec)
  local v = record[name]
  if v == nil then
    error(("logging format: no field '%s'"):format(name), 0)
  end
  local conv = spec:sub(-1)
  if conv == "s" or conv == "r" then
    return ("%" .. spec:sub(1, -2) .. "s"):format(tostring(v))
  elseif conv == "d" then
    return ("%" .. spec):format(math.floor(tonumber(v)))
  end
  return ("%" .. spec):format(v)
end

-- The record's message: its msg with its arguments (Python's
-- LogRecord.getMessage); raises on a bad format, inside the handler.
local function getmessage (record)
  local args = record.args
  if type(args) == "table" and (args.n or 0) > 0 then
    return string.format(tostring(record.msg), unpack(args, 1, args.n))
  end
  return tostring(record.msg)
end

function Formatter:format (record)
  checkrecord(record, "format")
  record.message = getmessage(record)
  if self.usestime then record.asctime = self:formatTime(record, self.datefmt) end
  local s = self.fmt:gsub("%%(%b())([-#0 +]*%d*%.?%d*[sdifgeExXr])",
    function (name, spec) return field(record, name:sub(2, -2), spec) end)
  s = s:gsub("%%%%", "%%")
  if record.exc_text then s = s .. "\n" .. record.exc_text end
  return s
end

threading._checkmethods(Formatter, "fmt")

-- }======================================================


-- {======================================================
-- Handlers
-- =======================================================

local Handler = {__name = "logging.StreamHandler"}
Handler.__index = Handler

-- logging.StreamHandler([stream]): io.stderr by default
function logging.StreamHandler (stream)
  return setmetatable({stream = stream or io.stderr, level = NOTSET,
                       formatter = logging.Formatter()}, Handler)
end

-- logging.FileHandler(filename [, mode])
function logging.FileHandler (filename, mode)
  if type(filename) ~= "string" then
    error(("bad argument #1 to 'FileHandler' (string expected, got %s)")
          :format(threading._typename(filename)), 2)
  end
  if mode ~= nil and type(mode) ~= "string" then
    error(("bad argument #2 to 'FileHandler' (string expected, got %s)")
          :format(threading._typename(mode)), 2)
  end
  if mode ~= nil and not mode:match("^[rwa]%+?b*$") then  -- io.open's
    error("bad argument #2 to 'FileHandler' (invalid mode)", 2)
  end
  local f, err = io.open(filename, mode or "a")
  if not f then error(err, 2) end
  local h = logging.StreamHandler(f)
  h.baseFilename = filename
  return h
end

function Handler:setFormatter (fmt)
  if getmetatable(fmt) ~= Formatter then
    error(("bad argument #1 to 'setFormatter' (logging.Formatter expected, "
           .. "got %s)"):format(threading._typename(fmt)), 2)
  end
  self.formatter = fmt
end
function Handler:setLevel (level) self.level = checklevel(level, "setLevel") end

-- The message handler for a failing handler: the error and where.
local function errtraceback (err)
  return debug.traceback(safestring(err), 2)
end

-- The stack of the code that called logging, for "Call stack:": from
-- the first frame, counted from the top, that is neither ours nor C.
local SOURCE = debug.getinfo(1, "S").source
local function callstack ()
  local level = 2
  while true do
    local info = debug.getinfo(level + 1, "S")
    if info == nil then return "Call stack:" end
    if info.source ~= SOURCE and info.what ~= "C" then
      return debug.traceback("Call stack:", level + 1)
    end
    level = level + 1
  end
end

local function repr (v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return safestring(v)
end

-- What Python's Handler.handleError prints to stderr when a handler
-- failed with 'err' (its traceback): then the log call goes on.
local function report (record, err)
  if not logging.raiseExceptions then return end
  pcall(function ()
    local args, a = {}, record.args
    for i = 1, a.n do args[i] = repr(a[i]) end
    io.stderr:write("--- Logging error ---\n", safestring(err), "\n",
                    callstack(), "\n",
                    "Message: ", repr(record.msg), "\n",
                    "Arguments: (", table.concat(args, ", "), ")\n")
    io.stderr:flush()
  end)
end

-- One record, one write: the lines of two threads never mix.
local function write (self, record)
  local line = self.formatter:format(record)
  local stream = self.stream
  local ok, err = stream:write(line .. "\n")
  if ok == nil and err ~= nil then error(err, 0) end
  ok, err = stream:flush()
  if ok == nil and err ~= nil then error(err, 0) end
end

-- handler:emit(record): a failure (a closed or bad stream, a bad format)
-- goes to handleError, never to the caller
function Handler:emit (record)
  local ok, err = xpcall(write, errtraceback, self, record)
  if not ok then self:handleError(record, err) end
end

-- handler:handleError(record [, err]): Python's "--- Logging error ---"
function Handler:handleError (record, err)
  report(record, err or "(no error)")
end

function Handler:handle (record)
  checkrecord(record, "handle")
  if (record.levelno or NOTSET) >= self.level then self:emit(record) end
end

function Handler:close ()
  local f = self.stream
  if self.baseFilename and io.type(f) == "file" then f:close() end
end

threading._checkmethods(Handler, "level")

-- Where records go when nothing is configured: warnings and up, the bare
-- message, to stderr (Python's lastResort).
local lastresort = logging.StreamHandler()
lastresort.level = WARNING

-- }======================================================


-- {======================================================
-- Loggers
-- =======================================================

local Logger = {__name = "logging.Logger"}
Logger.__index = Logger

local root = setmetatable({name = "root", level = WARNING, handlers = {},
                           propagate = false}, Logger)
local loggers = {}
logging.root = root

local function newlogger (name)
  local l = loggers[name]
  if not l then
    l = setmetatable({name = name, level = NOTSET, handlers = {},
                      propagate = true}, Logger)
    loggers[name] = l
  end
  return l
end

-- logging.getLogger([name]) -> Logger; the same one for the same name
function logging.getLogger (name)
  if name == nil or name == "" or name == "root" then return root end
  if type(name) ~= "string" then
    error(("bad argument #1 to 'getLogger' (string expected, got %s)")
          :format(type(name)), 2)
  end
  return loggers[name] or lock:with(newlogger, name)
end

-- The logger above 'l' in the dotted hierarchy that exists, or the root.
local function parent (l)
  local name = l.name
  while true do
    name = name:match("^(.*)%.[^.]*$")
    if name == nil then return root end
    local p = loggers[name]
    if p then return p end
  end
end

function Logger:setLevel (level)
  self.level = checklevel(level, "setLevel")
end

function Logger:getEffectiveLevel ()
  local l = self
  while l.level == NOTSET and l ~= root do l = parent(l) end
  return l.level
end

function Logger:isEnabledFor (level)
  return checklevel(level, "isEnabledFor") >= self:getEffectiveLevel()
end

function Logger:addHandler (h)
  local hs = self.handlers
  hs[#hs + 1] = h
end

function Logger:removeHandler (h)
  for i, x in ipairs(self.handlers) do
    if x == h then table.remove(self.handlers, i) return end
  end
end

-- The record Python's LogRecord holds, for the format's fields.
local function makerecord (logger, level, located, msg, ...)
  local now = time.time()
  local t = threading.current_thread()
  local record = {
    name = logger.name, levelno = level, levelname = logging.getLevelName(level),
    msg = msg, created = now, msecs = math.floor((now % 1) * 1000),
    relativeCreated = (now - start) * 1000, thread = t.ident,
    threadName = t.name, process = os.getpid and os.getpid() or 0,
    processName = "MainProcess", args = table.pack(...),
  }
  if located then  -- the caller of the logging function
    local info = debug.getinfo(4, "Sln") or {}
    local src = info.short_src or "?"
    record.pathname, record.lineno = src, info.currentline or 0
    record.filename = src:match("[^/]*$")
    record.module = record.filename:gsub("%.lua$", "")
    record.funcName = info.name or "<main>"
  end
  return record
end

local function needslocation (l)
  while l do
    for _, h in ipairs(l.handlers) do
      local f = type(h) == "table" and h.formatter
      if type(f) == "table" and f.located then return true end
    end
    if not l.propagate then return false end
    l = parent(l)
  end
  return false
end

local function handle (h, record)
  h:handle(record)
end

-- Give 'record' to handler 'h'; if it fails (a handler of the user's,
-- one that is not a handler), report that and go on.
local function tohandler (h, record)
  local ok, err = xpcall(handle, errtraceback, h, record)
  if not ok then report(record, err) end
end

-- Log at 'level' if enabled: every handler from 'self' up to the root.
-- A handler that fails never makes the log call fail.
local function log (self, level, exc, msg, ...)
  if level < self:getEffectiveLevel() then return end
  local record = makerecord(self, level, needslocation(self), msg, ...)
  if exc then record.exc_text = debug.traceback("", 3):sub(2) end
  local l, found = self, false
  while l do
    for _, h in ipairs(l.handlers) do
      found = true
      tohandler(h, record)
    end
    if not l.propagate then break end
    l = parent(l)
  end
  if not found then tohandler(lastresort, record) end
end

function Logger:log (level, msg, ...)
  log(self, checklevel(level, "log"), false, msg, ...)
end
function Logger:debug (msg, ...) log(self, DEBUG, false, msg, ...) end
function Logger:info (msg, ...) log(self, INFO, false, msg, ...) end
function Logger:warning (msg, ...) log(self, WARNING, false, msg, ...) end
function Logger:error (msg, ...) log(self, ERROR, false, msg, ...) end
function Logger:critical (msg, ...) log(self, CRITICAL, false, msg, ...) end
-- logger:exception(msg, ...): error level, with the traceback of the call
-- (inside an xpcall handler: of the error)
function Logger:exception (msg, ...) log(self, ERROR, true, msg, ...) end
Logger.warn, Logger.fatal = Logger.warning, Logger.critical

function Logger:__tostring ()
  return ("<Logger %s (%s)>"):format(self.name,
                                     names[self:getEffectiveLevel()])
end

threading._checkmethods(Logger, "handlers")

-- }======================================================


-- {======================================================
-- Module functions
-- =======================================================

-- basicConfig's work, holding 'lock' (lock:with releases it on every
-- error path).
local function configure (opts)
  if opts.force then
    for _, h in ipairs(root.handlers) do
      if type(h) == "table" and h.close then h:close() end
    end
    root.handlers = {}
  end
  if #root.handlers > 0 then return end
  if opts.filename and opts.stream then
    error("'stream' and 'filename' should not be specified together", 0)
  end
  local fmt = logging.Formatter(opts.format or BASIC_FORMAT, opts.datefmt)
  local level = opts.level ~= nil and checklevel(opts.level, "basicConfig")
  local h = opts.filename
            and logging.FileHandler(opts.filename, opts.filemode or "a")
            or logging.StreamHandler(opts.stream)
  h:setFormatter(fmt)
  root:addHandler(h)
  if level then root.level = level end
end

-- logging.basicConfig{level=, format=, datefmt=, filename=, filemode=,
-- stream=, force=}: sets up the root once (again with force=true)
function logging.basicConfig (opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error(("bad argument #1 to 'basicConfig' (table expected, got %s)")
          :format(type(opts)), 2)
  end
  local ok, err = pcall(lock.with, lock, configure, opts)
  if not ok then error(err, 2) end
end

-- The module-level functions log on the root, configuring it first.
local function rootlog (level, exc)
  return function (msg, ...)
    if #root.handlers == 0 then logging.basicConfig() end
    log(root, level, exc, msg, ...)
  end
end

logging.debug = rootlog(DEBUG)
logging.info = rootlog(INFO)
logging.warning = rootlog(WARNING)
logging.warn = logging.warning
logging.error = rootlog(ERROR)
logging.critical = rootlog(CRITICAL)
logging.fatal = logging.critical
logging.exception = rootlog(ERROR, true)

-- logging.log(level, msg, ...)
function logging.log (level, msg, ...)
  level = checklevel(level, "log")
  if #root.handlers == 0 then logging.basicConfig() end
  log(root, level, false, msg, ...)
end

-- }======================================================

return logging
