#!/usr/bin/env bash
# The README's main command: installs what is missing, builds in Release, and trains SQ-TWN on Fashion-MNIST:
# the full VGG-9 config (configs/vgg9-sq-twn-fashion-mnist.json) when a GPU is visible and the build has CUDA,
# otherwise the quick CPU config (configs/quick-sq-twn-fashion-mnist.json, about 15 minutes on 2 cores), then
# prints the per-stage table and renders the metrics to PNG.
# Arguments go to train_cifar: e.g. `scripts/train.sh --device cpu`, `scripts/train.sh --output runs/mine`, or
# `scripts/train.sh --config configs/vgg9-sq-bwn-cifar10.json` to run another experiment. With --config or
# --resume nothing is added: `scripts/train.sh --resume runs/x/last.safetensors` continues run x with the
# configuration (and device) saved in its checkpoint.
# SQ_TRAIN_NO_BUILD=1 skips the package check and the build (use the binary already in SQ_BUILD_DIR).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# CPU: OpenMP threads that sleep, not spin, between parallel loops (docs/CPU.md); a value of your own is kept.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

if [ "${SQ_TRAIN_NO_BUILD:-0}" != 1 ]; then
  sq_install_packages
  sq_configure_and_build
fi

bin="$SQ_BUILD_DIR/apps/train_cifar/train_cifar"
[ -x "$bin" ] || { sq_log "apps/train_cifar was not built ($bin missing)"; exit 1; }

args=("$@")
explicit=0  # --config or --resume: the run's configuration is given; add no default config or device
for arg in "$@"; do
  case "$arg" in --config | --config=* | --resume | --resume=*) explicit=1 ;; esac
done
if [ "$explicit" = 0 ]; then
  gpu=0
  if grep -q '#define SQ_WITH_CUDA 1' "$SQ_BUILD_DIR/generated/sq/config.hpp" 2>/dev/null &&
     command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    gpu=1
  fi
  if printf '%s\n' "$@" | grep -qx -- '--device=cpu\|cpu'; then gpu=0; fi
  if [ "$gpu" = 1 ]; then
    config="$SQ_ROOT/configs/vgg9-sq-twn-fashion-mnist.json"
    sq_log "GPU visible: full VGG-9 SQ-TWN on Fashion-MNIST ($config)"
  else
    config="$SQ_ROOT/configs/quick-sq-twn-fashion-mnist.json"
    sq_log "no GPU: quick SQ-TWN on Fashion-MNIST on the CPU ($config), about 15 minutes on 2 cores"
    args=(--device cpu "${args[@]}")
  fi
  args=(--config "$config" "${args[@]}")
fi

cd "$SQ_ROOT"
status=0
"$bin" "${args[@]}" || status=$?

# The run's metrics, rendered next to them (the output folder is the config's, or --output).
out_dir="$("$bin" "${args[@]}" --print-config 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(c["run"]["output"] or "runs/" + c["name"])' 2>/dev/null || true)"
if [ -n "$out_dir" ] && [ -s "$out_dir/metrics.jsonl" ]; then
  python3 "$SQ_ROOT/scripts/plot_metrics.py" "$out_dir/metrics.jsonl" >/dev/null 2>&1 &&
    sq_log "plots: $out_dir/{loss,error,ratio}.png" || sq_log "plots skipped (matplotlib missing?)"
fi
exit "$status"
