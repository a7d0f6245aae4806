-- scripts/examples/account.lua -- a thread-safe class: every method that
-- reads and writes the balance holds the account's Lock, and misuse
-- raises errors (amount must be positive; insufficient balance).
local threading = require "threading"

local InsufficientBalance = require("_thread")._errorkind
  "account.InsufficientBalance"

local Account = {}
Account.__index = Account

local function newaccount (iban, balance)
  return setmetatable({iban = iban, balance = balance or 100.0,
                       lock = threading.Lock()}, Account)
end

function Account:withdraw (amount)
  local _ <close> = self.lock:guard()
  if amount <= 0 then error("amount must be positive.", 2) end
  if amount > self.balance then
    error(InsufficientBalance(("negative balance. (short by %.2f)")
                              :format(amount - self.balance)), 2)
  end
  self.balance = self.balance - amount
end

function Account:deposit (amount)
  local _ <close> = self.lock:guard()
  if amount <= 0 then error("amount must be positive.", 2) end
  self.balance = self.balance + amount
end

local acc = newaccount("DE00 1234", 100.0)
local threads = {}
for i = 1, 4 do
  threads[i] = threading.Thread{target = function ()
    for _ = 1, 10000 do
      acc:deposit(2)
      acc:withdraw(1)
    end
  end}
  threads[i]:start()
end
for _, t in ipairs(threads) do t:join() end
print(("balance of %s: %.2f (expected %.2f)"):format(acc.iban, acc.balance,
                                                   100 + 4 * 10000))
print(select(2, pcall(acc.withdraw, acc, -5)))
local ok, err = pcall(acc.withdraw, acc, 1e9)
print(err, InsufficientBalance:is(err))
