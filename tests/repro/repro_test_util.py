"""Shared by the tests of scripts/reproduce.py (tests/repro/): paths, a metrics-file writer, running the script."""
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "reproduce.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def train_cifar():
    path = os.environ.get("SQ_TRAIN_CIFAR", os.path.join(ROOT, "build", "apps", "train_cifar", "train_cifar"))
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"train_cifar not found at {path}: build it or set SQ_TRAIN_CIFAR")
    return path


def reproduce(*args, timeout=300):
    """Runs scripts/reproduce.py; returns (exit code, stdout + stderr)."""
    done = subprocess.run([sys.executable, SCRIPT, *args, "--train-cifar", train_cifar()], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def write_grid(path, grid):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(grid, f)


def write_metrics(folder, final_error, stages=1, steps_per_stage=100, t0=1000.0, finished=True, resume_gap=None):
    """A metrics.jsonl as train_cifar writes it: start event, step/epoch records per stage, stage records, the
    finished event; resume_gap inserts a resume event after stage 1 (that many idle seconds before it)."""
    os.makedirs(folder, exist_ok=True)
    records = [{"kind": "event", "event": "start", "global_step": 0, "time": t0}]
    t, g = t0, 0
    for stage in range(stages):
        for step in (50, 100):
            g = stage * steps_per_stage + step * steps_per_stage // 100
            t += 10.0
            records.append({"kind": "step", "stage": stage, "ratio": 1.0, "epoch": 0,
                            "step": g - stage * steps_per_stage, "global_step": g, "loss": 1.0,
                            "train_error": 30.0 - stage, "time": t})
        records.append({"kind": "epoch", "stage": stage, "ratio": 1.0, "epoch": 0, "step": steps_per_stage,
                        "global_step": g, "test_error_quantized": final_error + stages - 1 - stage, "time": t})
        records.append({"kind": "stage", "stage": stage, "global_step": g, "time": t})
        if resume_gap is not None and stage == 0:
            t += resume_gap
            records.append({"kind": "event", "event": "resume", "global_step": g, "time": t})
    if finished:
        records.append({"kind": "event", "event": "finished", "global_step": g,
                        "final_test_error_quantized": final_error, "time": t})
    with open(os.path.join(folder, "metrics.jsonl"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
