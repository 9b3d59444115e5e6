# ctest driver of one mutation check (tests/emu/CMakeLists.txt): the emulated tests built on a copy of kernels/
# with one __syncthreads removed must fail, and fail because the schedules disagree (or on a sanitizer report).
execute_process(COMMAND ${SQ_EMU_MUTANT} --gtest_filter=${SQ_EMU_FILTER} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "mutation ${SQ_EMU_WHAT}: the emulated tests PASSED with the barrier removed: no teeth")
endif()
string(FIND "${out}" "an order dependence between barriers" at)
if(at EQUAL -1)
  # A sanitizer build that stops at its first report (-fno-sanitize-recover) may stop on the NaN the missing barrier
  # let through before the schedules are compared: that is caught too, by the sanitizer.
  string(REGEX MATCH "runtime error:[^\n]*|ERROR: AddressSanitizer[^\n]*" sanitizer "${out}${err}")
  if(sanitizer)
    message(STATUS "mutation ${SQ_EMU_WHAT} caught by the sanitizer (rc ${rc}): ${sanitizer}")
    return()
  endif()
  message(FATAL_ERROR "mutation ${SQ_EMU_WHAT}: the tests failed (rc ${rc}), but not by an order dependence:\n${out}\n${err}")
endif()
string(SUBSTRING "${out}" ${at} 400 excerpt)
message(STATUS "mutation ${SQ_EMU_WHAT} caught as it must be (rc ${rc}): ...${excerpt}")
