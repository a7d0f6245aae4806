-- scripts/examples/bank_interference.lua -- thread interference: deposit
-- and withdraw read the balance, get suspended, and write back a value
-- computed from the stale read, so one update is lost. The suspension is
-- made certain with a short sleep between the read and the write.
local threading = require "threading"
local time = require "time"

local BankAccount = {}
BankAccount.__index = BankAccount

local function newaccount ()
  return setmetatable({bal = 0}, BankAccount)
end

function BankAccount:deposit (amt)
  local balance = self.bal
  time.sleep(0.01)  -- "gets suspended" here
  self.bal = balance + amt
end

function BankAccount:withdraw (amt)
  local balance = self.bal
  time.sleep(0.005)
  self.bal = balance - amt
end

local b = newaccount()
local t1 = threading.Thread{target = b.deposit, args = {b, 100}}
local t2 = threading.Thread{target = b.withdraw, args = {b, 50}}
t1:start()
t2:start()
t1:join(); t2:join()
print(("balance: %d (deposit 100, withdraw 50: should be 50)"):format(b.bal))
