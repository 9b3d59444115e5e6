#!/usr/bin/env bash
# The README's main command: installs what is missing, builds in Release, and runs the main training job.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

sq_install_packages

sq_configure_and_build
if [ ! -x "$SQ_BUILD_DIR/apps/train_cifar/train_cifar" ]; then
  sq_log "apps/train_cifar is not built yet: this command will train SQ-TWN on Fashion-MNIST"
  sq_log "(full VGG-9 on a GPU, a quick config on the CPU) once the training issues land."
  exit 0
fi
exec "$SQ_BUILD_DIR/apps/train_cifar/train_cifar" "$@"
