#!/usr/bin/env bash
# The one prepared GPU check (DEVICE.md): on the lent GPU machine, configure with its cuDNN, build for sm_90,
# run the gpu-labelled tests (CUDA vs CPU parity) and the benchmarks, and write logs under $OUT.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-$PWD/out/gpu-check}"
mkdir -p "$OUT"
BUILD="${SQ_GPU_BUILD_DIR:-build-gpu}"

CUDNN="${CUDNN_ROOT:-$(python3 -c 'import nvidia.cudnn,os;print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)}"
if [ -n "$CUDNN" ]; then
  export LD_LIBRARY_PATH="$CUDNN/lib:${LD_LIBRARY_PATH:-}"
fi
nvidia-smi -L | tee "$OUT/device.txt"

{
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSQ_ENABLE_CUDA=ON -DSQ_CUDA_ARCHITECTURES=90 \
    ${CUDNN:+-DCUDNN_ROOT="$CUDNN"} &&
    cmake --build "$BUILD" -j "$(nproc)"
} 2>&1 | tee "$OUT/build.log" | tail -5
build_rc=${PIPESTATUS[0]}
[ "$build_rc" -eq 0 ] || { echo "build failed (see build.log)"; exit 1; }

(cd "$BUILD" && ctest -L gpu --output-on-failure --timeout 300) 2>&1 | tee "$OUT/gpu-tests.log" | tail -25
test_rc=${PIPESTATUS[0]}

if [ -x "$BUILD/apps/sq_bench/sq_bench" ]; then
  "$BUILD/apps/sq_bench/sq_bench" --device cuda 2>&1 | tee "$OUT/bench.log" | tail -30
fi
# The same training steps in PyTorch eager (SQ-TWN with torch.multinomial per layer), for docs/PERFORMANCE.md.
python3 scripts/bench_pytorch_step.py --device cuda 2>&1 | tee "$OUT/bench_pytorch.log" | tail -12
exit "$test_rc"
