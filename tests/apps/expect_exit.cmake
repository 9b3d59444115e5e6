# Runs one program and checks its exit code and output (ctest: tests/CMakeLists.txt, "apps." tests).
#   cmake -DPROGRAM=<exe> "-DARGS=a;b" -DEXPECT_RC=<n> "-DEXPECT_REGEX=<regex>" -P expect_exit.cmake
# A signal (an abort on an uncaught exception) is reported by execute_process as text, never as EXPECT_RC.
execute_process(COMMAND ${PROGRAM} ${ARGS} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
                TIMEOUT 120)
set(_all "${_out}${_err}")
if(NOT "${_rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: exit '${_rc}', expected ${EXPECT_RC}\n${_all}")
endif()
if(NOT _all MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: output does not match '${EXPECT_REGEX}':\n${_all}")
endif()
message(STATUS "${PROGRAM} ${ARGS}: exit ${_rc} as expected")
