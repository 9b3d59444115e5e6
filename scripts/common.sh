# Shared by the README's commands: install missing Debian packages, then configure and build SQ-CUDA.
# Sourced, not run. Honours: SQ_BUILD_DIR (default build), SQ_BUILD_TYPE (Release), SQ_CUDA_ARCHITECTURES,
# SQ_ENABLE_CUDA (ON/OFF; default: ON when nvcc is found), SQ_JOBS (default: number of cores).
set -euo pipefail

SQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SQ_BUILD_DIR="${SQ_BUILD_DIR:-$SQ_ROOT/build}"
SQ_BUILD_TYPE="${SQ_BUILD_TYPE:-Release}"
SQ_JOBS="${SQ_JOBS:-$(nproc)}"

# Debian packages the build, tests and scripts need. The CUDA toolkit and cuDNN come from NVIDIA's installers
# (/usr/local/cuda); without them the CPU path is built.
# libdnnl-dev: oneDNN, the CPU's convolutions and matmuls (optional at build time: without it the im2col + OpenBLAS
# reference runs, several times slower).
# libturbojpeg0-dev, libjpeg62-turbo-dev: JPEG decoding of ImageNet / image folders (optional at build time: without
# them --dataset imagenet is unavailable); python3-pil: the ImageNet tests' reference decoder and JPEG writer.
# libopenmpi-dev, openmpi-bin: MPI for data-parallel training (mpirun; optional at build time, SQ_ENABLE_MPI;
# docs/DISTRIBUTED.md).
SQ_DEBIAN_PACKAGES=(cmake ninja-build g++ pkg-config libgtest-dev libgmock-dev libopenblas-dev libdnnl-dev
  libcli11-dev nlohmann-json3-dev zlib1g-dev libboost-context-dev dataset-fashion-mnist python3 python3-matplotlib
  python3-venv libopenmpi-dev openmpi-bin libturbojpeg0-dev libjpeg62-turbo-dev python3-pil)

# clang and its runtimes (ASan, UBSan, libFuzzer) for scripts/test-sanitizers.sh and scripts/fuzz.sh only: the
# normal build does not need them.
SQ_SANITIZER_PACKAGES=(clang-14 libclang-rt-14-dev)
SQ_CLANG_CXX="${SQ_CLANG_CXX:-clang++-14}"
# Only for scripts/bench_cpu.sh --install-torch: PyTorch (on oneDNN 2.6 too) as the CPU benchmark's peer.
# python3-torchvision: the ImageNet loader benchmark's peer (scripts/bench_loader.py torch).
SQ_BENCH_PACKAGES=(python3-torch python3-torchvision)

sq_log() { printf '\033[1m[sq]\033[0m %s\n' "$*" >&2; }

sq_install_packages() { sq_install_debian_packages "${SQ_DEBIAN_PACKAGES[@]}"; }
sq_install_sanitizer_packages() { sq_install_debian_packages "${SQ_SANITIZER_PACKAGES[@]}"; }
# A build folder configured with another compiler: CMake would drop the cache, and with it this run's -D options.
sq_forget_other_compiler() {
  local cache="$SQ_BUILD_DIR/CMakeCache.txt" cxx
  cxx="$(command -v "$1" || echo "$1")"
  if [ -f "$cache" ] && ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$cxx" "$cache"; then
    sq_log "$SQ_BUILD_DIR was configured with another compiler: reconfiguring it for $cxx"
    rm -f "$cache"
  fi
}

sq_install_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  sq_log "installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { sq_log "need root (or sudo) to install: ${missing[*]}"; return 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

sq_find_nvcc() {
  if command -v nvcc >/dev/null; then command -v nvcc; return 0; fi
  if [ -x /usr/local/cuda/bin/nvcc ]; then echo /usr/local/cuda/bin/nvcc; return 0; fi
  return 1
}

sq_configure_and_build() {
  # ccache, when installed, makes rebuilds in a fresh tree cheap; the build does not need it.
  if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER="${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}"
    export CMAKE_CUDA_COMPILER_LAUNCHER="${CMAKE_CUDA_COMPILER_LAUNCHER:-ccache}"
  fi
  local args=(-S "$SQ_ROOT" -B "$SQ_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$SQ_BUILD_TYPE")
  local nvcc=""
  if [ "${SQ_ENABLE_CUDA:-}" != "OFF" ] && nvcc="$(sq_find_nvcc)"; then
    args+=(-DSQ_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc")
    [ -n "${SQ_CUDA_ARCHITECTURES:-}" ] && args+=(-DSQ_CUDA_ARCHITECTURES="$SQ_CUDA_ARCHITECTURES")
    [ -n "${CUDNN_ROOT:-}" ] && args+=(-DCUDNN_ROOT="$CUDNN_ROOT")
  else
    [ "${SQ_ENABLE_CUDA:-}" = "ON" ] && { sq_log "SQ_ENABLE_CUDA=ON but no nvcc found"; return 1; }
    sq_log "no CUDA toolkit found: building the CPU path only"
    args+=(-DSQ_ENABLE_CUDA=OFF)
  fi
  sq_log "configuring in $SQ_BUILD_DIR"
  cmake "${args[@]}" "$@" >/dev/null
  sq_log "building with $SQ_JOBS jobs"
  cmake --build "$SQ_BUILD_DIR" -j "$SQ_JOBS"
}
