#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole test suite with ctest.
# Extra arguments go to ctest (e.g. scripts/test.sh -L cpu, or -R Philox).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

sq_install_packages
sq_configure_and_build
sq_log "running ctest"
cd "$SQ_BUILD_DIR"
ctest --output-on-failure -j "$SQ_JOBS" --timeout 1800 "$@"
