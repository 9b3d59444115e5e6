#!/usr/bin/env bash
# The one prepared GPU check (docs/GPU_CHECK.md). Build here, run there: the GPU machine's minutes go to tests and
# benchmarks, not to a build.
#
#   scripts/gpu-check.sh prepare [PACK]          here: build the sm_90 tree (SQ_GPU_BUILD_DIR, default build-sm90)
#                                                and pack it into PACK (default build-gpu-check, at most 64 MiB)
#   scripts/gpu-check.sh pack BUILD PACK [--link-data]
#                                                pack an existing CUDA build (prepare's second half; ctest uses it)
#   scripts/gpu-check.sh run [PACK] [--dry]      run PACK/scripts/run.sh (on the device; --dry: here, no GPU)
#
# The device call (run tool): command `bash build-gpu-check/scripts/run.sh`, carry ["build-gpu-check"]; logs and
# summary.txt come back under $OUT.
set -euo pipefail
SQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly SQ_PACK_LIMIT_BYTES=$((64 * 1024 * 1024))
# What the run needs from the build (nothing else travels: no CMake or ctest files, which hold absolute paths).
readonly SQ_PACK_BINARIES=(tests/sq_gpu_tests apps/sq_bench/sq_bench apps/train_cifar/train_cifar)
readonly SQ_FASHION_MNIST_DIR="${SQ_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"

log() { printf '[gpu-check] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# prepare: configure and build the sm_90 tree with the toolkit's cuDNN (the binaries load the wheel's cuDNN 9
# there: same major version, same ABI), then pack it.
cmd_prepare() {
  local pack="${1:-$SQ_ROOT/build-gpu-check}"
  local build="${SQ_GPU_BUILD_DIR:-$SQ_ROOT/build-sm90}"
  # shellcheck source=common.sh
  source "$SQ_ROOT/scripts/common.sh"
  set -euo pipefail
  sq_install_packages
  local nvcc
  nvcc="$(sq_find_nvcc)" || die "no nvcc: prepare builds the CUDA tree (install the CUDA toolkit under /usr/local/cuda)"
  if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER="${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}"
    export CMAKE_CUDA_COMPILER_LAUNCHER="${CMAKE_CUDA_COMPILER_LAUNCHER:-ccache}"
  fi
  export CUDACXX="$nvcc"
  log "configuring $build (Release, sm_90, cuDNN from ${CUDNN_ROOT:-/usr/local/cuda})"
  # No oneDNN in the pack: libdnnl.so is 40 MB (the pack would pass 64 MiB) and the GPU machine has none. The CPU
  # side of the parity tests then runs the im2col + OpenBLAS reference convolutions, the documented reference.
  # No MPI either (the GPU machine has no Open MPI); NCCL only with SQ_GPU_CHECK_NCCL=1, when the machine has
  # libnccl.so.2 (the toolkit's or the nvidia-nccl wheel's, which run.sh puts on LD_LIBRARY_PATH): a missing one
  # would stop libsq_cuda from loading at all.
  cmake -S "$SQ_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSQ_ENABLE_CUDA=ON -DSQ_ENABLE_ONEDNN=OFF -DSQ_ENABLE_MPI=OFF \
    -DSQ_ENABLE_NCCL="$([ "${SQ_GPU_CHECK_NCCL:-0}" = 1 ] && echo ON || echo OFF)" \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DSQ_CUDA_ARCHITECTURES=90 -DCUDNN_ROOT="${CUDNN_ROOT:-/usr/local/cuda}" >/dev/null
  log "building sq_gpu_tests, sq_bench, train_cifar with ${SQ_JOBS} jobs"
  cmake --build "$build" -j "$SQ_JOBS" --target sq_gpu_tests sq_bench train_cifar
  cmd_pack "$build" "$pack"
}

# pack: copy (stripped) binaries, libsq_cuda, the run scripts and Fashion-MNIST into one folder.
cmd_pack() {
  [ $# -ge 2 ] || die "pack needs BUILD and PACK folders"
  local build="$1" pack="$2" link_data="${3:-}"
  [ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build folder"
  grep -q '^SQ_ENABLE_CUDA:BOOL=ON' "$build/CMakeCache.txt" || die "$build is a CPU-only build: pack needs CUDA"
  if ldd "$build"/src/libsq_cuda.so 2>/dev/null | grep -q libdnnl; then
    log "warning: $build links oneDNN (libdnnl.so), which the GPU machine lacks: fine for --dry here; for the device"
    log "         use prepare, which builds with -DSQ_ENABLE_ONEDNN=OFF"
  fi
  rm -rf "$pack"
  mkdir -p "$pack/bin" "$pack/lib" "$pack/scripts" "$pack/data"
  local rel
  for rel in "${SQ_PACK_BINARIES[@]}"; do
    [ -x "$build/$rel" ] || die "$build/$rel is missing: build it first (prepare builds it)"
    cp "$build/$rel" "$pack/bin/"
  done
  # libsq_cuda.so and its soname links; the run puts lib/ first on LD_LIBRARY_PATH (which beats the build's RUNPATH).
  local lib
  for lib in "$build"/src/libsq_cuda.so*; do
    [ -e "$lib" ] || continue
    cp -P "$lib" "$pack/lib/"
  done
  ls "$pack/lib"/libsq_cuda.so* >/dev/null 2>&1 || die "no libsq_cuda.so in $build/src"
  if command -v strip >/dev/null; then
    strip --strip-unneeded "$pack"/bin/* 2>/dev/null || true
    find "$pack/lib" -type f -name 'libsq_cuda.so*' -exec strip --strip-unneeded {} + 2>/dev/null || true
  fi
  cp "$SQ_ROOT/scripts/gpu-check-run.sh" "$pack/scripts/run.sh"
  cp "$SQ_ROOT/scripts/bench_pytorch_step.py" "$SQ_ROOT/scripts/gpu-check-metrics.py" "$pack/scripts/"
  chmod +x "$pack/scripts/run.sh"
  # The training run's data: the four Fashion-MNIST files (the GPU machine has no data package).
  local f
  mkdir -p "$pack/data/fashion-mnist"
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$SQ_FASHION_MNIST_DIR/$f" ] || die "$SQ_FASHION_MNIST_DIR/$f is missing (Debian package dataset-fashion-mnist)"
    if [ "$link_data" = "--link-data" ]; then
      ln -s "$SQ_FASHION_MNIST_DIR/$f" "$pack/data/fashion-mnist/$f"
    else
      cp "$SQ_FASHION_MNIST_DIR/$f" "$pack/data/fashion-mnist/"
    fi
  done
  {
    echo "SQ-CUDA GPU check pack"
    echo "commit: $(git -C "$SQ_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SQ_ROOT" diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
    echo "packed: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    echo "build: $build"
    echo "cuda architectures: $(sed -n 's/^SQ_CUDA_ARCHITECTURES:STRING=//p' "$build/CMakeCache.txt")"
    echo "cudnn at build: $(sed -n 's/^CUDNN_LIBRARY:FILEPATH=//p' "$build/CMakeCache.txt")"
  } >"$pack/manifest.txt"
  local bytes
  bytes=$(du -sbL "$pack" | cut -f1)
  echo "bytes: $bytes" >>"$pack/manifest.txt"
  [ "$bytes" -le "$SQ_PACK_LIMIT_BYTES" ] ||
    die "$pack holds $bytes bytes, over the 64 MiB a device call carries (du -ah $pack shows what)"
  log "packed $pack: $((bytes / 1024 / 1024)) MiB ($bytes bytes)"
}

cmd_run() {
  local pack="$SQ_ROOT/build-gpu-check" args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry) args+=(--dry) ;;
      *) pack="$1" ;;
    esac
    shift
  done
  [ -x "$pack/scripts/run.sh" ] || die "$pack/scripts/run.sh is missing: run scripts/gpu-check.sh prepare first"
  exec bash "$pack/scripts/run.sh" "${args[@]}"
}

case "${1:-}" in
  prepare) shift; cmd_prepare "$@" ;;
  pack) shift; cmd_pack "$@" ;;
  run) shift; cmd_run "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
