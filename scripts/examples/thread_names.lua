-- scripts/examples/thread_names.lua -- naming threads, default names
-- (Thread-N), the main thread's name, and the process id. Sleeps are a
-- tenth of the tutorial's.
local threading = require "threading"
local time = require "time"

local function worker2s ()
  print(threading.currentThread():getName(), "starting...")
  time.sleep(0.2)
  print(threading.currentThread():getName(), "exiting...")
end

local function worker3s ()
  print(threading.currentThread():getName(), "starting...")
  time.sleep(0.3)
  print(threading.currentThread():getName(), "exiting...")
end

local t1 = threading.Thread{target = worker3s, name = "wait_3"}
local t2 = threading.Thread{target = worker2s, name = "wait_2"}
local t3 = threading.Thread{target = worker2s}
t1:start()
t2:start()
t3:start()
t1:join(); t2:join(); t3:join()

-- current_thread().name, in the main thread and in two named threads
local function task ()
  print(threading.current_thread().name)
end
print("ID of process running main program:", os.getpid())
print("Main thread name:", threading.current_thread().name)
local a = threading.Thread{target = task, name = "t1"}
local b = threading.Thread{target = task, name = "t2"}
a:start(); a:join()
b:start(); b:join()
