lua_test(lock)
lua_test(condition)
lua_test(barrier)
lua_test(interrupt)
