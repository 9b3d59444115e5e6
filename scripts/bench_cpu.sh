#!/usr/bin/env bash
# Our CPU training step against PyTorch's (python3-torch), interleaved in one run: scripts/bench_cpu.py.
#   scripts/bench_cpu.sh [--install-torch] [bench_cpu.py options, e.g. --rounds 3 --arch resnet20 --batch 128]
# Builds first (scripts/common.sh). PyTorch is only the benchmark's peer: it is installed here when asked
# (--install-torch or SQ_INSTALL_TORCH=1), never by scripts/test.sh.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_torch="${SQ_INSTALL_TORCH:-0}"
if [ "${1:-}" = "--install-torch" ]; then
  install_torch=1
  shift
fi
sq_install_packages
if [ "$install_torch" = "1" ]; then
  SQ_DEBIAN_PACKAGES=("${SQ_BENCH_PACKAGES[@]}") sq_install_packages
fi
# Debian's python3-torch lives in the system interpreter's dist-packages (a pyenv or venv python3 on PATH lacks it).
python=""
for candidate in "${SQ_PYTHON:-python3}" /usr/bin/python3; do
  if "$candidate" -c "import torch" 2>/dev/null; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || {
  sq_log "python3-torch is missing: rerun with --install-torch (or install python3-torch)"
  exit 1
}
sq_configure_and_build
exec "$python" "$SQ_ROOT/scripts/bench_cpu.py" --sq-bench "$SQ_BUILD_DIR/apps/sq_bench/sq_bench" "$@"
