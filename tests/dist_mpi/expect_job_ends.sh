#!/usr/bin/env bash
# Runs an MPI job that must fail: it has to end (no hang) within TIMEOUT seconds with a non-zero status and print
# PATTERN (e.g. the dead rank's number). Usage: expect_job_ends.sh TIMEOUT PATTERN COMMAND...
set -u
timeout_s=$1 pattern=$2
shift 2
start=$(date +%s)
output=$(timeout --kill-after=10 "$timeout_s" "$@" 2>&1)
rc=$?
elapsed=$(($(date +%s) - start))
printf '%s\n' "$output" | tail -n 30
# timeout(1) exits 124 (or 137 after --kill-after); a job whose rank died of SIGKILL may also exit 137: the clock
# tells them apart.
if [ "$rc" -eq 124 ] || [ "$elapsed" -ge "$timeout_s" ]; then
  echo "FAIL: the job did not end within ${timeout_s} s (it hung)"; exit 1
fi
if [ "$rc" -eq 0 ]; then
  echo "FAIL: the job exited 0, expected a failure"; exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq -- "$pattern"; then
  echo "FAIL: the output does not match '$pattern'"; exit 1
fi
echo "OK: ended with status $rc after ${elapsed} s, output matches '$pattern'"
