lua_test(lock)
lua_test(semaphore)
lua_test(condition)
lua_test(event)
lua_test(barrier)
lua_test(interrupt)
lua_test(thread)
lua_test(gil LABELS preempt)
lua_test(require LABELS preempt)
lua_test(sleep)
lua_test(lifecycle LABELS preempt ENV ASAN_OPTIONS=detect_leaks=0)
add_test(NAME lua.race_any COMMAND ${LUAGIL_BIN} --switch-interval=0.000001
  --preempt=any ${SRC}/tests/lua/race.lua)
add_test(NAME lua.race_safe COMMAND ${LUAGIL_BIN} --switch-interval=0.000001
  --preempt=safe ${SRC}/tests/lua/race.lua)
set_tests_properties(lua.race_any PROPERTIES ENVIRONMENT RACE_EXPECT=lost
  LABELS preempt RUN_SERIAL TRUE TIMEOUT 300)
set_tests_properties(lua.race_safe PROPERTIES ENVIRONMENT RACE_EXPECT=none
  LABELS preempt TIMEOUT 300)
lua_test(dis)
lua_test(debug)
lua_test(guard)
lua_test(io)
lua_test(queue)
lua_test(futures)
lua_test(interp_pool)
lua_test(logging)
lua_test(gilstats LABELS preempt)
lua_test(gil_policies)
add_test(NAME lua.giltrace COMMAND bash ${SRC}/tests/lua/giltrace.sh ${LUAGIL_BIN}
  WORKING_DIRECTORY ${SRC}/tests/lua)
add_test(NAME lua.gilhtml COMMAND bash ${SRC}/tests/lua/gilhtml.sh ${LUAGIL_BIN} 8
  WORKING_DIRECTORY ${SRC}/tests/lua)
set_tests_properties(lua.giltrace lua.gilhtml PROPERTIES TIMEOUT 300
  SKIP_RETURN_CODE 77)
lua_test(socket)
lua_test(gallery LABELS preempt)
# The GIL lab (scripts/lab/) at small sizes, as smoke tests; the timelines
# go to the build tree. All but io_bound spin in pure Lua: 'preempt';
# threads_vs_processes and parallel fork: 'fork'.
foreach(lab atomic cpu_bound io_bound convoy ticks deterministic
    threads_vs_processes parallel)
  add_test(NAME lab.${lab} COMMAND ${LUAGIL_BIN}
    ${SRC}/scripts/lab/${lab}.lua --small
    --html=${CMAKE_CURRENT_BINARY_DIR}/luagil-lab-${lab}.html)
  set_tests_properties(lab.${lab} PROPERTIES TIMEOUT 300)
  if(NOT lab STREQUAL "io_bound")
    set_tests_properties(lab.${lab} PROPERTIES LABELS preempt)
  endif()
endforeach()
set_tests_properties(lab.threads_vs_processes lab.parallel PROPERTIES
  LABELS "preempt;fork")
# The explore lab: --explore forks, its stress baseline spins.
add_test(NAME lab.explore COMMAND ${LUAGIL_BIN}
  ${SRC}/scripts/lab/explore.lua --quick)
set_tests_properties(lab.explore PROPERTIES TIMEOUT 300
  LABELS "preempt;fork" ENVIRONMENT ASAN_OPTIONS=detect_leaks=0)
# The fidelity lab runs real runtimes as children: its own test checks the
# tables' shape and the notes for what is absent (tests/lua/lab_fidelity.lua).
lua_test(lab_fidelity LABELS preempt)
set_tests_properties(lua.lab_fidelity PROPERTIES TIMEOUT 600)
lua_test(time)
lua_test(io_threads)
lua_test(multiprocessing LABELS fork)
lua_test(tasks)
lua_test(misuse_net)
lua_test(misuse_lua)
lua_test(fork_fault LABELS fork)
set_tests_properties(lua.fork_fault PROPERTIES TIMEOUT 300)
lua_test(misuse_mp LABELS fork)
lua_test(copy LABELS fork)
lua_test(misuse_vm LABELS preempt)
# thousands of threads, in children, under ulimit and on a loaded machine
set_tests_properties(lua.misuse_vm PROPERTIES TIMEOUT 600)
lua_test(misuse_io)
# The soak (tests/stress/soak.lua) for 10 s and the scale run at 10,000
# threads; scripts/stress runs the soak for longer and 100,000 threads.
add_test(NAME stress.soak_short
  COMMAND ${LUAGIL_BIN} ${SRC}/tests/stress/soak.lua 10)
add_test(NAME stress.scale
  COMMAND ${LUAGIL_BIN} ${SRC}/tests/stress/scale.lua 10000)
set_tests_properties(stress.soak_short stress.scale PROPERTIES TIMEOUT 300)
lua_test(socket_fork LABELS fork)
lua_test(misuse_sync)
lua_test(interpreters)
lua_test(interpqueue)
lua_test(interpreters_fork LABELS fork)
# socket.lua again with LuaSocket's socket.lua out of reach (LUA_PATH has
# no absolute entry): on luagil's own Lua layer.
add_test(NAME lua.socket_ownlayer COMMAND ${LUAGIL_BIN}
  ${SRC}/tests/lua/socket.lua WORKING_DIRECTORY ${SRC}/tests/lua)
set_tests_properties(lua.socket_ownlayer PROPERTIES TIMEOUT 120
  ENVIRONMENT "LUAGIL=${LUAGIL_BIN};LUA_PATH=./?.lua;SOCKET_LAYER=own")
# LuaSocket's own suite from ../shared/conformance (skipped without it):
# tests/lua/luasocket_suite.sh says what each mode runs.
foreach(mode client server self files udp)
  add_test(NAME conformance.luasocket_${mode} COMMAND bash
    ${SRC}/tests/lua/luasocket_suite.sh ${LUAGIL_BIN} ${mode})
  set_tests_properties(conformance.luasocket_${mode} PROPERTIES
    TIMEOUT 400 SKIP_RETURN_CODE 77)
endforeach()
# socket.http from 16 threads beside a CPU-bound one (pure Lua: 'preempt');
# skipped without Debian's lua-socket.
lua_test(socket_http LABELS preempt)
set_tests_properties(lua.socket_http PROPERTIES SKIP_RETURN_CODE 77)
# LuaSec's TLS from 8 threads to a local openssl s_server; skipped
# without lua-sec or openssl.
lua_test(socket_tls)
set_tests_properties(lua.socket_tls PROPERTIES SKIP_RETURN_CODE 77)
set_property(TEST lua.socket_tls APPEND PROPERTY ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${SRC}/tests/lua/lsan_openssl.supp")
if(TSAN)
  set_property(TEST lua.socket_tls APPEND PROPERTY ENVIRONMENT
    "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${SRC}/tests/lua/tsan_openssl.supp")
endif()
lua_test(deadlock)
lua_test(lockorder)
lua_test(gilwarn)
lua_test(tracebacks)
lua_test(cancel)
lua_test(watchdog)
# luagil --explore forks a child per run: 'fork'. LeakSanitizer's check
# at each child's exit would make a run ten times slower.
lua_test(explore LABELS fork ENV ASAN_OPTIONS=detect_leaks=0)
set_tests_properties(lua.explore PROPERTIES TIMEOUT 600)
