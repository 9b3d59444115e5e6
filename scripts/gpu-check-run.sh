#!/usr/bin/env bash
# The run half of the GPU check (docs/GPU_CHECK.md), packed as <pack>/scripts/run.sh by scripts/gpu-check.sh.
# Runs from the pack alone (no CMake, ctest or source tree): every phase under its own `timeout`, a log per phase
# and a one-screen summary table (summary.txt) under $OUT.
#
#   bash <pack>/scripts/run.sh          on the GPU machine (fails at once when no GPU is visible)
#   bash <pack>/scripts/run.sh --dry    anywhere: the GPU phases report skips (the gpu tests still run and skip,
#                                       the training run goes through its phases on the CPU)
#
# Phase limits (seconds) can be changed with SQ_GPU_CHECK_<PHASE>_TIMEOUT (SUITE, BENCH, TORCH, TRAIN); the whole
# run keeps within SQ_GPU_CHECK_BUDGET seconds (default 420): a phase gets at most what is left, and once less
# than 15 s is left the remaining phases are reported as skipped for lack of time.
set -uo pipefail
PACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$PACK/out}"
mkdir -p "$OUT"
DRY=0
for arg in "$@"; do
  case "$arg" in
    --dry) DRY=1 ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (use --dry or nothing)" >&2; exit 2 ;;
  esac
done

T_SUITE="${SQ_GPU_CHECK_SUITE_TIMEOUT:-120}"  # one gtest suite
T_BENCH="${SQ_GPU_CHECK_BENCH_TIMEOUT:-90}"   # one sq_bench invocation
T_TORCH="${SQ_GPU_CHECK_TORCH_TIMEOUT:-120}"  # one PyTorch baseline invocation
T_TRAIN="${SQ_GPU_CHECK_TRAIN_TIMEOUT:-150}"  # one train_cifar invocation
BUDGET="${SQ_GPU_CHECK_BUDGET:-420}"
DEADLINE=$(($(date +%s) + BUDGET))

# cuDNN: the Python wheel's on the GPU machine (DEVICE.md). cuDNN dlopens its engine libraries and nvrtc, which
# the executables' RUNPATH does not cover: LD_LIBRARY_PATH holds the wheel's lib/ and the toolkit's lib64.
CUDNN_DIR="${CUDNN_ROOT:-$(python3 -c 'import nvidia.cudnn;print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)}"
# NCCL (packs built with SQ_GPU_CHECK_NCCL=1): the nvidia-nccl wheel's lib/ when there is one.
NCCL_DIR="${NCCL_ROOT:-$(python3 -c 'import nvidia.nccl;print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)}"
export LD_LIBRARY_PATH="$PACK/lib${CUDNN_DIR:+:$CUDNN_DIR/lib}${NCCL_DIR:+:$NCCL_DIR/lib}:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BIN="$PACK/bin"

ROWS=()      # "phase|status|rc|seconds|note"
DETAILS=()   # lines printed under the table (failed tests, ...)
FAILED=0

row() { ROWS+=("$1|$2|$3|$4|$5"); }
# phase NAME LIMIT LOG COMMAND...: runs COMMAND under `timeout`, output to LOG; sets PHASE_RC and PHASE_SECONDS.
# Past the budget it runs nothing and sets PHASE_RC 124 (reported as a timeout).
phase() {
  local name="$1" limit="$2" logfile="$3"
  shift 3
  local start end left
  left=$((DEADLINE - $(date +%s) - 5))
  [ "$limit" -le "$left" ] || limit=$left
  start=$(date +%s.%N)
  echo "+ $*" >"$logfile"
  if [ "$limit" -lt 10 ]; then
    echo "not run: the check's budget of ${BUDGET}s is spent" >>"$logfile"
    PHASE_RC=124
  else
    timeout --kill-after=5 "$limit" "$@" >>"$logfile" 2>&1
    PHASE_RC=$?
  fi
  end=$(date +%s.%N)
  PHASE_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  echo "[$name] rc $PHASE_RC in ${PHASE_SECONDS}s" >&2
}
status_of() {  # rc -> status word
  case "$1" in
    0) echo pass ;;
    124 | 137) echo timeout ;;
    *) echo fail ;;
  esac
}
record() {  # record NAME NOTE: a row from the last phase; a failure counts
  local st
  st=$(status_of "$PHASE_RC")
  [ "$st" = pass ] || FAILED=1
  row "$1" "$st" "$PHASE_RC" "$PHASE_SECONDS" "$2"
}

# --- device -------------------------------------------------------------------------------------------------
GPU_NAME=""
if command -v nvidia-smi >/dev/null && nvidia-smi -L >"$OUT/device.txt" 2>&1 && grep -q '^GPU' "$OUT/device.txt"; then
  GPU_NAME="$(sed -n '1s/ (UUID.*//p' "$OUT/device.txt")"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >>"$OUT/device.txt" 2>&1
fi
{
  echo "pack: $PACK"
  cat "$PACK/manifest.txt" 2>/dev/null
  echo "cudnn: ${CUDNN_DIR:-not found (python3 -c 'import nvidia.cudnn' failed)}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
} >>"$OUT/device.txt"
if [ -z "$GPU_NAME" ]; then
  if [ "$DRY" -eq 0 ]; then
    echo "run.sh: no GPU visible (nvidia-smi -L); use --dry to check the script without one" >&2
    exit 1
  fi
  row device skip - 0 "no GPU (dry run)"
else
  row device ok 0 0 "$GPU_NAME; cuDNN ${CUDNN_DIR:+from $CUDNN_DIR}"
fi
# Every shared library the pack needs must resolve here (cuDNN, cuBLAS, OpenBLAS, ...): one row names the missing.
missing=$(for f in "$BIN"/* "$PACK"/lib/libsq_cuda.so.*; do ldd "$f" 2>&1 | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p'; done | sort -u | paste -sd ' ')
ldd "$BIN/sq_gpu_tests" "$PACK"/lib/libsq_cuda.so.* >"$OUT/ldd.txt" 2>&1
if [ -n "$missing" ]; then
  row libraries fail 1 0 "not found: $missing (ldd.txt)"
  FAILED=1
else
  row libraries ok 0 0 "all resolve (ldd.txt)"
fi
DEVICE_ARGS=(--device cuda)
[ -n "$GPU_NAME" ] || DEVICE_ARGS=(--device cpu)

# --- gpu tests: the gtest binary directly, one `timeout` per suite ---------------------------------------------
mkdir -p "$OUT/gpu-tests"
suites=$("$BIN/sq_gpu_tests" --gtest_list_tests 2>"$OUT/gpu-tests/list.err" | sed -n 's/^\([^ #][^ ]*\)\..*/\1/p')
if [ -z "$suites" ]; then
  row gpu-tests fail 1 0 "sq_gpu_tests lists no suites (see gpu-tests/list.err)"
  FAILED=1
else
  total_s=0 n_suites=0 passed=0 failed=0 skipped=0 bad_suites=""
  for suite in $suites; do
    n_suites=$((n_suites + 1))
    logfile="$OUT/gpu-tests/${suite//\//_}.log"
    phase "gpu-tests/$suite" "$T_SUITE" "$logfile" "$BIN/sq_gpu_tests" --gtest_filter="$suite.*" --gtest_color=no
    total_s=$(awk -v a="$total_s" -v b="$PHASE_SECONDS" 'BEGIN { printf "%.1f", a + b }')
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logfile" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$logfile" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$logfile" | tail -1)
    passed=$((passed + ${p:-0})) skipped=$((skipped + ${s:-0})) failed=$((failed + ${f:-0}))
    if [ "$PHASE_RC" -ne 0 ]; then
      bad_suites="$bad_suites $suite($(status_of "$PHASE_RC"))"
      while IFS= read -r line; do DETAILS+=("  $line"); done < <(sed -n 's/^\[  FAILED  \] \([^ ]*\.[^ ]*\).*/FAILED \1/p' "$logfile" | sort -u | head -8)
      [ "$PHASE_RC" -eq 124 ] || [ "$PHASE_RC" -eq 137 ] && DETAILS+=("  TIMEOUT $suite (its ${T_SUITE}s or the budget; gpu-tests/${suite//\//_}.log)")
    fi
  done
  note="$n_suites suites: $passed passed, $failed failed, $skipped skipped${bad_suites:+; bad:$bad_suites}"
  if [ -n "$bad_suites" ]; then
    row gpu-tests fail 1 "$total_s" "$note"
    FAILED=1
  elif [ -z "$GPU_NAME" ]; then
    # Without a GPU every gpu test must skip (SQ_REQUIRE_GPU): a pass here would be a test that checks nothing.
    if [ "$passed" -eq 0 ] && [ "$skipped" -gt 0 ]; then
      row gpu-tests skip 0 "$total_s" "$note (no GPU)"
    else
      row gpu-tests fail 1 "$total_s" "$note: without a GPU every gpu test should skip"
      FAILED=1
    fi
  elif [ "$skipped" -gt 0 ]; then
    # On the GPU nothing may skip: a skip there means CUDA was not usable from the tests.
    DETAILS+=("  $skipped gpu tests skipped on the GPU (CUDA not usable?): grep -A2 SKIPPED gpu-tests/*.log")
    row gpu-tests fail 1 "$total_s" "$note"
    FAILED=1
  else
    row gpu-tests pass 0 "$total_s" "$note"
  fi
fi

# --- sq_bench: SQ pipeline, training steps (graph / eager x tf32 / fp32) ----------------------------------------
mkdir -p "$OUT/bench"
bench_note() {  # the medians of a step log, shortened: "vgg9 fwn 12.3ms, ..."
  sed -n 's/^\([a-z0-9]*\) *\([a-z-]*\) *median *\([0-9.]*\) ms.*/\1 \2 \3ms/p' "$1" | paste -sd ',' | cut -c1-60
}
if [ -z "$GPU_NAME" ]; then
  phase bench/list "$T_BENCH" "$OUT/bench/list.log" "$BIN/sq_bench" --list
  if [ "$PHASE_RC" -eq 0 ]; then
    row bench skip 0 "$PHASE_SECONDS" "no GPU; sq_bench loads, $(grep -c . "$OUT/bench/list.log") lines listed"
  else
    record bench "sq_bench --list failed (bench/list.log)"
  fi
else
  phase bench/sq "$T_BENCH" "$OUT/bench/sq.log" "$BIN/sq_bench" --device cuda --only sq
  record bench.sq "$(grep -c '^validated' "$OUT/bench/sq.log") validated; bench/sq.log"
  for math in tf32 fp32; do
    for mode in graph eager; do
      extra=()
      [ "$mode" = eager ] && extra=(--no-graph)
      logfile="$OUT/bench/step-$math-$mode.log"
      phase "bench/step-$math-$mode" "$T_BENCH" "$logfile" "$BIN/sq_bench" --device cuda --only step --math "$math" "${extra[@]}"
      record "bench.step.$math.$mode" "$(bench_note "$logfile")"
    done
  done
fi

# --- PyTorch baseline: the same steps in PyTorch eager, in the same call --------------------------------------
mkdir -p "$OUT/torch"
if [ -z "$GPU_NAME" ]; then
  if python3 -c 'import torch' 2>/dev/null; then
    row torch skip - 0 "no GPU; torch $(python3 -c 'import torch;print(torch.__version__)') importable"
  else
    row torch skip - 0 "no GPU; no torch here"
  fi
else
  for math in tf32 fp32; do
    logfile="$OUT/torch/step-$math.log"
    phase "torch/$math" "$T_TORCH" "$logfile" python3 "$PACK/scripts/bench_pytorch_step.py" --device cuda --math "$math" \
      --warmup 5 --iters 30 --json "$OUT/torch/step-$math.json"
    record "torch.step.$math" "$(tail -3 "$logfile" | tr -s ' ' | paste -sd ';' | cut -c1-60)"
  done
fi

# --- one short real training run: evaluation (eval batch != training batch), BN recalibration, checkpoint, resume
mkdir -p "$OUT/train"
RUN_DIR="$OUT/train/run"
rm -rf "$RUN_DIR"
ARCH="${SQ_GPU_CHECK_ARCH:-resnet20}"
[ -n "$GPU_NAME" ] || ARCH=small_cnn  # the dry run goes through the same phases on the CPU, smaller
TRAIN_ARGS=("${DEVICE_ARGS[@]}" --dataset fashion-mnist --data "$PACK/data/fashion-mnist" --arch "$ARCH"
  --method sq-twn --stages 0.5,1 --train-limit 2560 --test-limit 1000 --batch 128 --eval-batch 200
  --iterations 40 --log-every 10 --checkpoint-every 0 --eval-every 1 --bn-recalibrate-batches 4
  --output "$RUN_DIR")
[ -n "$GPU_NAME" ] || TRAIN_ARGS=("${DEVICE_ARGS[@]}" --dataset fashion-mnist --data "$PACK/data/fashion-mnist"
  --arch "$ARCH" --method sq-twn --stages 0.5,1 --train-limit 256 --test-limit 100 --batch 32 --eval-batch 50
  --iterations 12 --log-every 4 --checkpoint-every 0 --eval-every 1 --bn-recalibrate-batches 2 --output "$RUN_DIR")
FIRST_STEPS=30
[ -n "$GPU_NAME" ] || FIRST_STEPS=16
phase train/first "$T_TRAIN" "$OUT/train/first.log" "$BIN/train_cifar" "${TRAIN_ARGS[@]}" --max-steps "$FIRST_STEPS"
[ "$PHASE_RC" -ne 75 ] || PHASE_RC=0  # 75: stopped at --max-steps with a checkpoint, as asked
record train.first "$ARCH to step $FIRST_STEPS, checkpoint; train/first.log"
if [ "$PHASE_RC" -eq 0 ] && [ -f "$RUN_DIR/last.safetensors" ]; then
  phase train/resume "$T_TRAIN" "$OUT/train/resume.log" "$BIN/train_cifar" --resume "$RUN_DIR/last.safetensors" --max-steps 0
  # The metrics must show evaluations (quantized and hybrid), the resume and the end of the run.
  resume_note=$(python3 "$PACK/scripts/gpu-check-metrics.py" "$RUN_DIR/metrics.jsonl" 2>&1)
  metrics_rc=$?
  if [ "$metrics_rc" -ne 0 ] && [ "$PHASE_RC" -eq 0 ]; then PHASE_RC=1; fi
  record train.resume "$resume_note"
else
  row train.resume fail - 0 "not run: the first run left no last.safetensors"
  FAILED=1
fi

# --- summary ----------------------------------------------------------------------------------------------------
{
  echo "SQ-CUDA GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), ${GPU_NAME:-no GPU (dry run)}, $(sed -n 's/^commit: //p' "$PACK/manifest.txt" 2>/dev/null)"
  printf '%-22s %-8s %4s %7s  %s\n' phase status rc seconds note
  for r in "${ROWS[@]}"; do
    IFS='|' read -r name st rc secs note <<<"$r"
    printf '%-22s %-8s %4s %7s  %s\n' "$name" "$st" "$rc" "$secs" "$note"
  done
  for d in "${DETAILS[@]:0:12}"; do echo "$d"; done
  [ "${#DETAILS[@]}" -le 12 ] || echo "  ... $((${#DETAILS[@]} - 12)) more in the logs"
  echo "logs: $OUT (device.txt, gpu-tests/, bench/, torch/, train/)"
  [ "$FAILED" -eq 0 ] && echo "result: OK" || echo "result: FAILED"
} | tee "$OUT/summary.txt"
exit "$FAILED"
