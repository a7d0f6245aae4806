-- scripts/explore/bank_transfer_fixed.lua -- bank_transfer.lua's twin:
-- one bank lock covers a whole transfer and a whole audit.
local threading = require "threading"

local accounts = {}
for i = 1, 2 do accounts[i] = {balance = 100} end
local bank = threading.Lock()
local teller = threading.Thread{target = function ()
  for i = 1, 5 do
    local from, to = accounts[i % 2 + 1], accounts[(i + 1) % 2 + 1]
    bank:with(function ()
      from.balance = from.balance - 10
      to.balance = to.balance + 10
    end)
  end
end}
local auditor = threading.Thread{target = function ()
  for _ = 1, 5 do
    local total = 0
    bank:with(function ()
      for _, a in ipairs(accounts) do total = total + a.balance end
    end)
    assert(total == 200, "bank transfer: the auditor counts " .. total)
  end
end}
teller:start(); auditor:start()
teller:join(); auditor:join()
