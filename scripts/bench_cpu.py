#!/usr/bin/env python3
"""Our CPU training step against PyTorch's on the same machine, in one run, interleaved.

For every round, network, batch and method it times our step (apps/sq_bench, section step, as a child process)
and PyTorch's (scripts/bench_pytorch_step.py's networks, in this process), alternating which goes first, both
on the same number of threads. Each measurement is the median of --steps steps after one warm-up; the table
reports the median over --rounds rounds and the ratio PyTorch ms / our ms (above 1: ours is faster). On a shared
machine the load moves while this runs: `uptime` is printed before and after, and the interleaving puts both
sides under the same load. Usually run through scripts/bench_cpu.sh (installs python3-torch when asked).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

METHOD_LABEL = {"fwn": "FWN", "twn": "TWN", "sq-twn": "SQ-TWN"}
ARCH_LABEL = {"vgg9": "VGG-9", "resnet20": "ResNet-20", "resnet56": "ResNet-56", "small_cnn": "small_cnn"}


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        with open("/proc/loadavg") as f:
            return "load average " + " ".join(f.read().split()[:3])


def ours(args, arch, method, batch):
    cmd = [args.sq_bench, "--device", "cpu", "--only", "step", "--arch", arch, "--method", method, "--batch",
           str(batch), "--steps", str(args.steps), "--warmup", "1", "--threads", str(args.threads)]
    if args.cpu_conv:
        cmd += ["--cpu-conv", args.cpu_conv]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    m = re.search(rf"^{re.escape(arch)}\s+{re.escape(method)}\s+median\s+([0-9.]+) ms", out.stdout, re.M)
    if not m:
        raise SystemExit(f"no median for {arch} {method} in sq_bench's output:\n{out.stdout}")
    return float(m.group(1))


def pytorch(args, bench, arch, method, batch):
    ns = argparse.Namespace(batch=batch, warmup=1, iters=args.steps, ratio=0.5)
    median, _ = bench.time_steps(arch, method, ns, bench.torch.device("cpu"))
    return median


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sq-bench", default=os.path.join("build", "apps", "sq_bench", "sq_bench"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both sides")
    ap.add_argument("--arch", nargs="+", default=["vgg9", "resnet20", "resnet56", "small_cnn"])
    ap.add_argument("--batch", nargs="+", type=int, default=[64, 128])
    ap.add_argument("--methods", nargs="+", default=["fwn", "twn", "sq-twn"], choices=list(METHOD_LABEL))
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repetitions (the median is reported)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after 1 warm-up)")
    ap.add_argument("--cpu-conv", default="", help="our CPU backend: onednn or reference (default: the build's)")
    ap.add_argument("--pytorch-wait-policy", choices=["default", "passive"], default="default",
                    help="PyTorch's OpenMP waits: its default (spinning, what a user gets) or PASSIVE, as ours run "
                         "(sq_bench sets OMP_WAIT_POLICY=PASSIVE for itself unless it is set)")
    args = ap.parse_args()
    if args.pytorch_wait_policy == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch loads libgomp; sq_bench inherits the same
    if not os.access(args.sq_bench, os.X_OK):
        raise SystemExit(f"{args.sq_bench} is not an executable: build first (scripts/test.sh) or pass --sq-bench")
    try:
        import bench_pytorch_step as bench
    except ImportError as e:
        raise SystemExit(f"PyTorch is needed for the peer ({e}): install python3-torch, or run "
                         "scripts/bench_cpu.sh --install-torch")
    bench.torch.set_num_threads(args.threads)

    print(f"CPU step, ours vs PyTorch {bench.torch.__version__}: {args.threads} threads each, {args.rounds} "
          f"interleaved rounds of median-of-{args.steps} steps after 1 warm-up; PyTorch's OpenMP waits: "
          f"{args.pytorch_wait_policy}")
    print(f"before: {uptime()}", flush=True)
    cases = [(a, b, m) for a in args.arch for b in args.batch for m in args.methods]
    times = {(c, side): [] for c in cases for side in ("ours", "pytorch")}
    start = time.time()
    for r in range(args.rounds):
        for i, (arch, batch, method) in enumerate(cases):
            order = ("ours", "pytorch") if (r + i) % 2 == 0 else ("pytorch", "ours")
            for side in order:
                ms = ours(args, arch, method, batch) if side == "ours" else pytorch(args, bench, arch, method, batch)
                times[((arch, batch, method), side)].append(ms)
            o, p = times[((arch, batch, method), "ours")][-1], times[((arch, batch, method), "pytorch")][-1]
            print(f"round {r + 1}: {arch:<10} batch {batch:<4} {method:<7} ours {o:9.1f} ms  pytorch {p:9.1f} ms  "
                  f"{p / o:5.2f}x", flush=True)
    print(f"after:  {uptime()} ({time.time() - start:.0f} s)")

    def med(c, side):
        return statistics.median(times[(c, side)])

    labels = "/".join(METHOD_LABEL[m] for m in args.methods)
    print(f"\n| network | batch | ours {labels} (ms) | PyTorch {labels} (ms) | ours vs PyTorch {labels} |")
    print("|---|---|---|---|---|")
    for arch in args.arch:
        for batch in args.batch:
            cs = [(arch, batch, m) for m in args.methods]
            print(f"| {ARCH_LABEL.get(arch, arch)} | {batch} | "
                  + " / ".join(f"{med(c, 'ours'):.0f}" for c in cs) + " | "
                  + " / ".join(f"{med(c, 'pytorch'):.0f}" for c in cs) + " | "
                  + " / ".join(f"{med(c, 'pytorch') / med(c, 'ours'):.2f}x" for c in cs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
