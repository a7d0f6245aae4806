# tests/cli/tests.cmake -- the command line compared with stock lua5.4, the
# REPL driven through tmux (skipped when tmux is missing), Ctrl-C in reads.
add_test(NAME cli COMMAND bash ${SRC}/tests/cli/cli_test.sh ${LUAGIL_BIN})
add_test(NAME repl COMMAND bash ${SRC}/tests/cli/repl_test.sh ${LUAGIL_BIN})
# Ctrl-C (SIGINT) ends every read of the main thread.
add_test(NAME sigint_read COMMAND bash ${SRC}/tests/cli/sigint_read_test.sh
  ${LUAGIL_BIN})
set_tests_properties(cli repl sigint_read PROPERTIES TIMEOUT 300)
# The REPL test interrupts 'while true do end': it needs preemption.
set_tests_properties(repl PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
  LABELS preempt)
# Lua 5.4.4's own test suite, when ../shared/conformance is beside the
# source tree (skipped otherwise).
add_test(NAME conformance.lua_testes COMMAND bash
  ${SRC}/tests/cli/lua_testes.sh ${LUAGIL_BIN} ${SRC})
set_tests_properties(conformance.lua_testes PROPERTIES TIMEOUT 600
  SKIP_RETURN_CODE 77)
