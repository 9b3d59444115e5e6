#!/usr/bin/env bash
# Checkpoint at N = 2, resume at N = 1 and at N = 2 (label mpi;e2e): train_cifar under mpirun stops at
# --max-steps with a checkpoint that records world_size 2; both resumes finish the same global steps as one
# uninterrupted process, with the same final test error (FWN, synchronised BN: fp32 rounding only), and the
# metrics of a distributed run are rank 0's alone (one start event, no duplicated step records).
# Usage: checkpoint_resume_test.sh TRAIN_CIFAR CONFIG WORK_DIR MPIRUN...
set -euo pipefail
train=$1 config=$2 work=$3
shift 3
mpirun=("$@")
rm -rf "$work" && mkdir -p "$work"
export OMP_NUM_THREADS=1
args=(--config "$config" --device cpu --train-limit 640 --test-limit 400 --batch 32 --iterations 20 --stages 1
      --eval-batch 100 --threads 1 --log-every 5 --bn-recalibrate-batches 2 --sync-bn --replica-check-every 4)
fail() { echo "FAIL: $*"; exit 1; }
final_error() { python3 -c "import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l)
    if j.get('event')=='finished': print(j['final_test_error_quantized'])" "$1/metrics.jsonl"; }

"$train" "${args[@]}" --output "$work/one" >/dev/null || fail "the uninterrupted single-process run failed"
set +e
"${mpirun[@]}" "$train" "${args[@]}" --output "$work/two" --max-steps 8 >"$work/two.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 75 ] || { cat "$work/two.log"; fail "the 2-rank run exited $rc, expected 75 (step limit)"; }
grep -q '"world_size":"2"' "$work/two/last.safetensors" || fail "the checkpoint does not record world_size 2"
cp -r "$work/two" "$work/two_then_one"
"${mpirun[@]}" "$train" "${args[@]}" --output "$work/two" --resume "$work/two/last.safetensors" >"$work/resume2.log" 2>&1 ||
  { cat "$work/resume2.log"; fail "the resume at N = 2 failed"; }
"$train" "${args[@]}" --output "$work/two_then_one" --resume "$work/two_then_one/last.safetensors" --allow-config-change \
  >"$work/resume1.log" 2>&1 || { cat "$work/resume1.log"; fail "the resume at N = 1 failed"; }
e1=$(final_error "$work/one") e2=$(final_error "$work/two") e21=$(final_error "$work/two_then_one")
echo "final test error: one process $e1, 2 ranks resumed at 2 ranks $e2, 2 ranks resumed at 1 process $e21"
[ -n "$e1" ] && [ "$e1" = "$e2" ] && [ "$e1" = "$e21" ] || fail "final test errors differ"
starts=$(grep -c '"event":"start"' "$work/two/metrics.jsonl")
[ "$starts" -eq 1 ] || fail "$starts start events in the 2-rank metrics (expected rank 0's one)"
steps=$(grep '"kind":"step"' "$work/two/metrics.jsonl" | python3 -c "import json,sys
g=[json.loads(l)['global_step'] for l in sys.stdin]; print(' '.join(map(str,g)))")
[ "$steps" = "5 10 15 20" ] || fail "2-rank step records at global steps '$steps', expected '5 10 15 20'"
grep -q '"world_size":2' "$work/two/metrics.jsonl" || fail "the metrics do not record the world size"
echo "OK"
