-- scripts/examples/fibonacci_thread.lua -- a Thread subclass that
-- computes a Fibonacci number in run().
local threading = require "threading"

local FibonacciThread = threading.Thread:extend()

function FibonacciThread:new (num)
  FibonacciThread.super.new(self)
  self.num = num
end

function FibonacciThread:run ()
  local fib = {[0] = 0, [1] = 1}
  for i = 2, self.num do
    fib[i] = fib[i - 1] + fib[i - 2]
  end
  print(fib[self.num])
end

local task1 = FibonacciThread(9)
local task2 = FibonacciThread(12)
task1:start()
task2:start()
task1:join()
task2:join()
