print("testing interpreters and fork")
local interpreters = require "interpreters"
local checkerror = require("testlib").checkerror

-- fork while another interpreter is open is refused; once it is closed,
-- fork works again (the child exits at once)
do
  local a = interpreters.create()
  checkerror("cannot fork while 2 interpreters are open",
             require("_thread")._fork)
  a:close()
  local pid = require("_thread")._fork()
  if pid == 0 then os.exit(0) end
  assert(pid > 0)
end

print("OK")
