#!/usr/bin/env bash
# Makes the Python virtual environment the ONNX export and its tests use: onnx + onnxruntime + numpy from PyPI,
# in DIR (default build/deploy-venv). Idempotent: an existing venv that imports both is kept.
# Usage: scripts/deploy/make-venv.sh [DIR]
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/deploy-venv}"
mkdir -p "$(dirname "$dir")"
# ctest runs test cases in parallel processes: one of them makes the venv, the others wait for it.
exec 9>"$dir.lock"
flock 9
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "$dir"
  exit 0
fi
python3 -m venv "$dir" >&2
# Pinned to versions that know opset 21 / INT4 (onnx >= 1.16, onnxruntime >= 1.18).
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "onnx>=1.16,<2" "onnxruntime>=1.18,<2" "numpy<3" >&2
"$dir/bin/python" -c "import onnx, onnxruntime; print('onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)" >&2
echo "$dir"
