# Sanitized builds, off by default (scripts/test-sanitizers.sh and scripts/fuzz.sh turn them on; see docs/TESTING.md).
#   SQ_SANITIZE=address,undefined  instruments every target of the build; a report aborts the process
#                                  (-fno-sanitize-recover), so ctest counts it as a failure.
#   SQ_BUILD_FUZZERS=ON            adds fuzz/ (libFuzzer targets, clang only) and instruments the library for
#                                  coverage (-fsanitize=fuzzer-no-link) on top of SQ_SANITIZE.
set(SQ_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined (empty: none)")
option(SQ_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (clang only; CPU-only builds)" OFF)

if(SQ_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SQ_BUILD_FUZZERS needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}; "
                        "configure with -DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh does)")
  endif()
  if(SQ_ENABLE_CUDA)
    message(FATAL_ERROR "SQ_BUILD_FUZZERS builds the CPU path only: add -DSQ_ENABLE_CUDA=OFF")
  endif()
  if(NOT SQ_SANITIZE)
    set(SQ_SANITIZE "address,undefined" CACHE STRING "" FORCE)
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()

if(SQ_SANITIZE)
  if(SQ_ENABLE_CUDA)
    message(FATAL_ERROR "SQ_SANITIZE instruments host code only: configure with -DSQ_ENABLE_CUDA=OFF")
  endif()
  message(STATUS "SQ-CUDA: sanitizers ${SQ_SANITIZE} (reports abort)")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${SQ_SANITIZE}> -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${SQ_SANITIZE})
  # Tests that repeat a case only to compare orders of execution run it once here (tests/emu/emu_support.hpp).
  add_compile_definitions(SQ_SANITIZED_BUILD=1)
endif()
