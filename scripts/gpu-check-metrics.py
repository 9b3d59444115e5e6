#!/usr/bin/env python3
"""Checks a train_cifar metrics.jsonl for the GPU check (scripts/gpu-check-run.sh): evaluations of the quantized
and the hybrid network, a resume and the end of the run. Prints one summary line; exit 1 when one is missing."""
import json
import sys


def main(path):
    try:
        lines = [json.loads(line) for line in open(path) if line.strip()]
    except (OSError, ValueError) as e:
        print("cannot read %s: %s" % (path, e))
        return 1
    epochs = [l for l in lines if l.get("kind") == "epoch" and l.get("test_error_quantized") is not None]
    hybrid = [l for l in epochs if l.get("test_error_hybrid") is not None]
    events = [l.get("event") for l in lines if l.get("kind") == "event"]
    last = epochs[-1]["test_error_quantized"] if epochs else float("nan")
    print("%d evals (%d hybrid), resumed=%s, finished=%s, last test err %.1f%%"
          % (len(epochs), len(hybrid), "resume" in events, "finished" in events, last))
    return 0 if epochs and hybrid and "resume" in events and "finished" in events else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
