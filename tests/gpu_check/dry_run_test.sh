#!/usr/bin/env bash
# ctest gpu_check.dry_run: packs this CUDA build the way `scripts/gpu-check.sh prepare` does, then runs the packed
# run script with --dry (no GPU needed): every phase must run from the pack alone and report what it skipped.
# Usage: dry_run_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src="$1" build="$2" work="$3"
rm -rf "$work"
mkdir -p "$work"
bash "$src/scripts/gpu-check.sh" pack "$build" "$work/pack" --link-data
# The pack holds no CMake or ctest files (they carry absolute paths of this machine).
if find "$work/pack" -name 'CMakeCache.txt' -o -name 'CTestTestfile.cmake' -o -name '*.cmake' | grep -q .; then
  echo "the pack holds CMake/ctest files" >&2
  exit 1
fi
status=0
OUT="$work/out" bash "$work/pack/scripts/run.sh" --dry || status=$?
summary="$work/out/summary.txt"
[ -f "$summary" ] || { echo "no summary.txt" >&2; exit 1; }
fail() { echo "dry run: $*" >&2; cat "$summary" >&2; exit 1; }
[ "$status" -eq 0 ] || fail "run.sh --dry exited $status"
grep -q '^device  *skip .*no GPU' "$summary" || fail "the device row does not report the missing GPU"
grep -q '^gpu-tests  *skip .*skipped' "$summary" || fail "the gpu tests are not reported as skipped"
grep -q '^bench  *skip' "$summary" || fail "the benchmarks are not reported as skipped"
grep -q '^infer  *skip .*CPU packed bench runs' "$summary" || fail "the packed-inference bench is not reported"
grep -q '^torch  *skip' "$summary" || fail "the PyTorch baseline is not reported as skipped"
grep -q '^train.first  *pass' "$summary" || fail "the first training run did not pass"
grep -q '^train.resume  *pass .*resumed=True, finished=True' "$summary" || fail "the resumed run did not pass"
grep -q '^result: OK' "$summary" || fail "no OK result"
# Without --dry and without a GPU the run refuses at once.
if OUT="$work/out-nodry" bash "$work/pack/scripts/run.sh" >/dev/null 2>&1; then
  fail "run.sh without --dry and without a GPU should fail"
fi
cat "$summary"
