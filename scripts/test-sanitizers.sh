#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of the CPU test suite (CI runs it after scripts/test.sh):
# installs clang and its runtimes, builds the CPU path (SQ_ENABLE_CUDA=OFF) with clang in build-asan/ with
# -fsanitize=address,undefined -fno-sanitize-recover=all, and runs ctest on the labels cpu|emu. Any report aborts
# the test binary, so a report is a failed test. Extra arguments go to ctest (e.g. -R Idx).
# Honours SQ_ASAN_BUILD_DIR (default build-asan), SQ_ASAN_BUILD_TYPE (RelWithDebInfo), SQ_ASAN_LABELS (cpu|emu),
# SQ_JOBS. See docs/TESTING.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SQ_BUILD_DIR="${SQ_ASAN_BUILD_DIR:-$SQ_ROOT/build-asan}"
SQ_BUILD_TYPE="${SQ_ASAN_BUILD_TYPE:-RelWithDebInfo}"
labels="${SQ_ASAN_LABELS:-cpu|emu}"
# Not run under the sanitizers: the install-tree consumer test builds an outside project with the system compiler
# against the instrumented library (a packaging test, not a memory-safety one; scripts/test.sh runs it); and the
# emulator's mutation checks, which prove the harness has teeth (scripts/test.sh runs them) and under ASan run a
# whole mutated parity suite each (minutes).
exclude="${SQ_ASAN_EXCLUDE:-^(consumer\.|emu\.mutation\.)}"

sq_install_packages
sq_install_sanitizer_packages
start=$(date +%s)
sq_forget_other_compiler "$SQ_CLANG_CXX"
SQ_ENABLE_CUDA=OFF sq_configure_and_build -DCMAKE_CXX_COMPILER="$SQ_CLANG_CXX" -DSQ_SANITIZE=address,undefined
built=$(date +%s)

# One OpenBLAS thread: the suite already runs two test processes on two cores, and OpenBLAS' own thread pool
# (spawned per process, never joined before exit) only adds noise to the sanitizers' bookkeeping.
export OPENBLAS_NUM_THREADS=1
# LeakSanitizer needs to stop the process' threads (ptrace-like); some sandboxes forbid that and LSan then fails
# every test at exit. Probe once; without it, leaks go unchecked (said in the log) and ASan/UBSan still run.
leaks=1
probe="$(ASAN_OPTIONS=detect_leaks=1 "$SQ_BUILD_DIR/tests/sq_core_tests" --gtest_filter=NoSuchTest 2>&1 || true)"
if grep -q "LeakSanitizer has encountered a fatal error\|does not work under ptrace" <<<"$probe"; then
  sq_log "LeakSanitizer cannot run in this environment (ptrace refused): leak checking is off for this run"
  leaks=0
fi
export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

sq_log "running ctest -L '$labels' under ASan+UBSan (leak checks: $leaks)"
cd "$SQ_BUILD_DIR"
status=0
ctest --output-on-failure -j "$SQ_JOBS" --timeout 1800 -L "$labels" -E "$exclude" "$@" || status=$?
sq_log "sanitizer stage: build $((built - start)) s, tests $(($(date +%s) - built)) s"
exit $status
