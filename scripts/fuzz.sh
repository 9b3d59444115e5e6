#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan+UBSan, CPU path) in build-fuzz/ and runs each for a bounded
# time, then prints executions, coverage and findings per target. Run it after every change to a parser it covers.
# Usage: scripts/fuzz.sh [-t SECONDS] [TARGET...]   (default: 60 s each; targets: see fuzz/CMakeLists.txt)
# Honours SQ_FUZZ_BUILD_DIR (default build-fuzz), SQ_FUZZ_MAX_LEN (libFuzzer -max_len; default: its own), SQ_JOBS.
# Inputs it finds go to build-fuzz/corpus/TARGET (fuzz/corpus/TARGET stays read-only); crashes, leaks, timeouts
# and out-of-memory inputs to build-fuzz/findings/TARGET/. Exit status: 0 when no target found anything, 1 when
# one did, 2 on a usage error. Reproduce one: build-fuzz/fuzz/fuzz_TARGET FILE. See docs/TESTING.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) [ $# -ge 2 ] || { echo "fuzz.sh: -t needs a number of seconds" >&2; exit 2; }; seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: -t wants a positive number of seconds, got '$seconds'" >&2; exit 2; }
all_targets=(idx idx_gzip cifar config_json config_cli checkpoint)
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

SQ_BUILD_DIR="${SQ_FUZZ_BUILD_DIR:-$SQ_ROOT/build-fuzz}"
SQ_BUILD_TYPE=RelWithDebInfo
sq_install_packages
sq_install_sanitizer_packages
sq_forget_other_compiler "$SQ_CLANG_CXX"
SQ_ENABLE_CUDA=OFF sq_configure_and_build -DCMAKE_CXX_COMPILER="$SQ_CLANG_CXX" -DSQ_BUILD_FUZZERS=ON \
  -DSQ_BUILD_TESTS=OFF -DSQ_BUILD_APPS=OFF -DBUILD_SHARED_LIBS=OFF

export OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="abort_on_error=1:strict_string_checks=1"
report=()
found=0
for t in "${targets[@]}"; do
  corpus="$SQ_BUILD_DIR/corpus/$t"
  findings="$SQ_BUILD_DIR/findings/$t"
  log="$SQ_BUILD_DIR/findings/$t.log"
  rm -rf "$findings" && mkdir -p "$corpus" "$findings"  # a previous run's findings: keep them in fuzz/corpus/
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$findings/")
  [ -f "$SQ_ROOT/fuzz/dict/$t.dict" ] && args+=(-dict="$SQ_ROOT/fuzz/dict/$t.dict")
  [ -n "${SQ_FUZZ_MAX_LEN:-}" ] && args+=(-max_len="$SQ_FUZZ_MAX_LEN")
  sq_log "fuzzing $t for ${seconds} s (log: $log)"
  rc=0
  "$SQ_BUILD_DIR/fuzz/fuzz_$t" "${args[@]}" "$corpus" "$SQ_ROOT/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1)"
  artifacts=$(find "$findings" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$artifacts" -gt 0 ]; then
    found=1
    summary="$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|deadly signal|out-of-memory|timeout' "$log" || echo "exit $rc")"
    report+=("$(printf '%-12s %10s execs %7s/s  %-9s  FINDING (%s file(s) in %s): %s' "$t" "${runs:-?}" "${rate:-?}" \
      "${cov:-cov: ?}" "$artifacts" "$findings" "$summary")")
  else
    report+=("$(printf '%-12s %10s execs %7s/s  %-9s  corpus %s files, no findings' "$t" "${runs:-?}" "${rate:-?}" \
      "${cov:-cov: ?}" "$(find "$corpus" -type f | wc -l)")")
  fi
done
sq_log "fuzzing report (${seconds} s per target; uptime: $(uptime | sed 's/.*load/load/'))"
printf '%s\n' "${report[@]}"
exit $found
