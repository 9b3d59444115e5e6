#!/usr/bin/env python3
"""Render an SQ-CUDA metrics file (JSON lines written by apps/train_cifar) to PNG plots.

Usage: scripts/plot_metrics.py METRICS.jsonl [--out DIR] [--title TEXT]

Writes DIR/loss.png (training loss), DIR/error.png (train and test error: fully quantized and hybrid),
DIR/ratio.png (SQ ratio per stage and the quantized fraction per layer) and, when the file has per-layer SQ
statistics, DIR/sq_error.png (mean quantization error per layer). DIR defaults to the metrics file's folder.
Records repeated by a resumed run (same kind and global step) count once: the last one wins. A last line that is
not complete JSON (a write cut short by a crash or a full disk) is skipped with a warning; a bad line elsewhere is
an error naming the line.
"""
import argparse
import json
import math
import os
import sys

try:
    import matplotlib
except ImportError:
    # Debian's python3-matplotlib is installed for the system interpreter; a pyenv/venv python3 earlier on
    # PATH does not see it, so retry with /usr/bin/python3 before giving up.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("plot_metrics.py needs matplotlib: apt-get install python3-matplotlib (or pip install matplotlib)")

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    steps, epochs, stages = {}, {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    last = max((i for i, text in enumerate(lines) if text.strip()), default=-1)
    for index, line in enumerate(lines):
        number = index + 1
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if index == last:
                print(f"{path}:{number}: warning: skipping the incomplete last line (a write cut short?)",
                      file=sys.stderr)
                continue
            sys.exit(f"{path}:{number}: not a JSON line ({e})")
        if not isinstance(record, dict):
            sys.exit(f"{path}:{number}: not a JSON object")
        kind = record.get("kind")
        if kind == "step":
            steps[record["global_step"]] = record
        elif kind == "epoch":
            epochs[record["global_step"]] = record
        elif kind == "stage":
            stages[record["stage"]] = record
    ordered = lambda d: [d[k] for k in sorted(d)]  # noqa: E731
    return ordered(steps), ordered(epochs), ordered(stages)


def series(records, key):
    xs, ys = [], []
    for r in records:
        v = r.get(key)
        if v is not None and math.isfinite(v):
            xs.append(r["global_step"])
            ys.append(v)
    return xs, ys


def stage_starts(steps, epochs):
    starts, last = [], None
    for r in sorted(steps + epochs, key=lambda r: r["global_step"]):
        if r["stage"] != last:
            starts.append((r["global_step"] - r["step"], r["stage"], r["ratio"]))
            last = r["stage"]
    return starts


def mark_stages(ax, starts):
    for x, stage, ratio in starts:
        ax.axvline(x, color="0.7", linestyle=":", linewidth=1)
        ax.annotate(f"stage {stage + 1} (r={ratio:g})", (x, 1.0), xycoords=("data", "axes fraction"),
                    fontsize=7, color="0.4", rotation=90, va="top", ha="right")


def save(fig, ax, title, path):
    ax.set_xlabel("iteration")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="metrics.jsonl written by train_cifar")
    parser.add_argument("--out", help="output folder (default: the metrics file's folder)")
    parser.add_argument("--title", default="", help="prefix for the plot titles")
    args = parser.parse_args()

    steps, epochs, _ = load(args.metrics)
    if not steps and not epochs:
        sys.exit(f"{args.metrics}: no step or epoch records to plot")
    out = args.out or os.path.dirname(os.path.abspath(args.metrics))
    os.makedirs(out, exist_ok=True)
    prefix = f"{args.title}: " if args.title else ""
    starts = stage_starts(steps, epochs)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(*series(steps, "loss"), label="train loss (logged steps)", linewidth=1)
    ax.plot(*series(epochs, "train_loss"), "o-", label="train loss (epoch mean)", markersize=3)
    ax.plot(*series(epochs, "test_loss"), "s-", label="test loss (quantized)", markersize=3)
    mark_stages(ax, starts)
    ax.set_ylabel("cross-entropy loss")
    save(fig, ax, prefix + "loss", os.path.join(out, "loss.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(*series(epochs, "train_error"), "o-", label="train error", markersize=3)
    ax.plot(*series(epochs, "test_error_quantized"), "s-", label="test error, fully quantized (r=1)", markersize=3)
    ax.plot(*series(epochs, "test_error_hybrid"), "^-", label="test error, hybrid at stage ratio", markersize=3)
    mark_stages(ax, starts)
    ax.set_ylabel("error (%)")
    save(fig, ax, prefix + "error", os.path.join(out, "error.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    records = steps or epochs
    ax.step(*series(records, "ratio"), where="pre", label="SQ ratio r", linewidth=2)
    layer_names = []
    for r in steps:
        for layer in r.get("layers", []):
            if layer["name"] not in layer_names:
                layer_names.append(layer["name"])
    for name in layer_names:
        xs, ys = [], []
        for r in steps:
            for layer in r.get("layers", []):
                if layer["name"] == name and layer["units"]:
                    xs.append(r["global_step"])
                    ys.append(layer["quantized"] / layer["units"])
        ax.plot(xs, ys, linewidth=0.8, alpha=0.6, label=f"{name} N_q/m")
    mark_stages(ax, starts)
    ax.set_ylabel("fraction quantized")
    ax.set_ylim(-0.02, 1.05)
    save(fig, ax, prefix + "SQ ratio", os.path.join(out, "ratio.png"))

    if layer_names:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name in layer_names:
            xs, ys = [], []
            for r in steps:
                for layer in r.get("layers", []):
                    if layer["name"] == name and layer.get("mean_error") is not None:
                        xs.append(r["global_step"])
                        ys.append(layer["mean_error"])
            ax.plot(xs, ys, linewidth=0.8, label=name)
        mark_stages(ax, starts)
        ax.set_ylabel("mean quantization error e")
        save(fig, ax, prefix + "per-layer quantization error", os.path.join(out, "sq_error.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
