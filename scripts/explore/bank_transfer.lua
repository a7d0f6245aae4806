-- scripts/explore/bank_transfer.lua -- a non-atomic bank transfer: each
-- account has its own lock, so a transfer is two steps, and an auditor
-- that sums the accounts between them sees money missing. Fixed twin:
-- bank_transfer_fixed.lua.
local threading = require "threading"

local accounts = {}
for i = 1, 2 do accounts[i] = {balance = 100, lock = threading.Lock()} end
local function withdraw (a, x) a.lock:with(function () a.balance = a.balance - x end) end
local function deposit (a, x) a.lock:with(function () a.balance = a.balance + x end) end
local teller = threading.Thread{target = function ()
  for i = 1, 5 do
    local from, to = accounts[i % 2 + 1], accounts[(i + 1) % 2 + 1]
    withdraw(from, 10)
    deposit(to, 10)
  end
end}
local auditor = threading.Thread{target = function ()
  for _ = 1, 5 do
    local total = 0
    for _, a in ipairs(accounts) do
      a.lock:with(function () total = total + a.balance end)
    end
    assert(total == 200, "bank transfer: the auditor counts " .. total)
  end
end}
teller:start(); auditor:start()
teller:join(); auditor:join()
