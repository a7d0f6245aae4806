-- stdlib/interpreters.lua -- the 'interpreters' module: many interpreters
-- in one process, each with its own GIL (PEP 734's shape, in Lua), on top
-- of '_interpreters' (interp/interpreters.c). Compiled into the binary
-- (cmake/embed.cmake). See LICENSE for copyright and licence (MIT).
--
-- An Interpreter runs code in the caller's OS thread while the caller's
-- own GIL is let go, so two interpreters' Lua runs in parallel. Values
-- cross by copy (multiprocessing's serializer): nil, booleans, numbers,
-- strings, tables of them, and functions with their upvalues; a Queue of
-- create_queue() crosses as itself (stdlib/interpqueue.c).

local _interpreters = require "_interpreters"

local M = {
  create = _interpreters.create,
  list_all = _interpreters.list_all,
  get_current = _interpreters.get_current,
  get_main = _interpreters.get_main,
  create_queue = _interpreters.create_queue,
  ExecutionFailed = _interpreters.ExecutionFailed,
}

local methods = _interpreters._methods

-- interp:call_in_thread(fn, ...) -> a threading.Thread of the calling
-- interpreter, started, that runs interp:call(fn, ...); its value() gives
-- the results (and raises ExecutionFailed if the call failed).
function methods:call_in_thread (fn, ...)
  local threading = require "threading"
  local args = table.pack(...)
  local t = threading.Thread{target = function ()
    return self:call(fn, table.unpack(args, 1, args.n))
  end}
  t:start()
  return t
end

return M
