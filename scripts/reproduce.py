#!/usr/bin/env python3
"""Run a grid of train_cifar runs (configs/grids/<grid>.json) over seeds, then aggregate it into tables and plots.

Usage: scripts/reproduce.py GRID [--seeds 1,2,3] [--jobs N] [--devices cpu|cuda:0,cuda:1] [--threads N]
                            [--out DIR] [--dry-run] [--max-steps N] [--aggregate-only] [--redo-changed]

GRID is a name in configs/grids/ (table1, ablations, budget, quick) or a path to a grid file. Each (run, seed) gets
the folder OUT/<run id>/seed<k>/ (OUT defaults to runs/repro/<grid>): a finished run is skipped, an interrupted one
(a checkpoint, no "finished" event) is resumed with train_cifar --resume, so the same command continues a grid
after a crash, a Ctrl-C or a --max-steps slice. --jobs runs that many at once, each on the next of --devices (one
job per GPU on a multi-GPU machine; --jobs 1 on a 2-core CPU). Progress with an ETA for the whole grid is printed
every --progress-every seconds; at the end a summary names every failed run with the tail of its log, and the
finished runs are aggregated into OUT/results-<grid>.md (mean +- std over seeds of the final fully quantized test
error, the paper's numbers beside, Welch t-tests between the rows a grid compares) and OUT/plots/<grid>-*.png.

Exit codes: 0 every run finished; 1 a run failed or a folder belongs to a changed grid; 2 usage; 75 some runs
stopped at --max-steps (run again to continue); 130/143 interrupted (run again to resume). docs/REPRODUCE.md.
"""
import argparse
import fnmatch
import json
import os
import signal
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from repro import folders, grid as gridlib  # noqa: E402
from repro.system_python import reexec_for_matplotlib  # noqa: E402
from repro.runner import Runner  # noqa: E402


def parse_seeds(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, e.g. 1,2,3 (got {text!r})")
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds needs distinct non-negative integers (got {text!r})")
    return seeds


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def default_train_cifar():
    for candidate in (os.environ.get("SQ_TRAIN_CIFAR", ""),
                      os.path.join(os.environ.get("SQ_BUILD_DIR", os.path.join(ROOT, "build")),
                                   "apps", "train_cifar", "train_cifar")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return os.path.join(ROOT, "build", "apps", "train_cifar", "train_cifar")


def total_steps(train_cifar, job):
    """iterations x stages of the run's resolved configuration (train_cifar --print-config)."""
    try:
        done = subprocess.run([train_cifar] + job.identity + ["--print-config"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    except OSError as e:
        sys.exit(f"reproduce.py: cannot run {train_cifar} ({e.strerror}); build it first (scripts/train.sh or "
                 "ninja -C build train_cifar) or name it with --train-cifar / SQ_TRAIN_CIFAR")
    if done.returncode != 0:
        sys.exit(f"reproduce.py: {job.name}: train_cifar refuses the run's options (exit {done.returncode}):\n"
                 f"  {' '.join(job.identity)}\n{done.stderr.strip()}")
    config = json.loads(done.stdout)
    return config["optim"]["iterations"] * len(config["quant"]["stages"])


def main(argv=None):
    reexec_for_matplotlib(__file__)
    parser = argparse.ArgumentParser(prog="reproduce.py", description=__doc__.splitlines()[0],
                                     epilog="docs/REPRODUCE.md explains grids, folders and the results page.")
    parser.add_argument("grid", help="grid name in configs/grids/ (table1, ablations, budget, quick) or a grid file")
    parser.add_argument("--seeds", type=parse_seeds, help="comma-separated seeds (default: the grid's, else 1,2,3)")
    parser.add_argument("--jobs", type=positive, help="runs at once (default: the number of --devices)")
    parser.add_argument("--devices", default="cpu",
                        help="comma-separated train_cifar devices, one per job slot in turn (default cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="train_cifar --threads for CPU runs (default: the cores divided by --jobs)")
    parser.add_argument("--out", help="output folder (default runs/repro/<grid>)")
    parser.add_argument("--train-cifar", default=None, help="the train_cifar binary (default build/apps/...)")
    parser.add_argument("--max-steps", type=positive, default=None,
                        help="each run stops after N more steps (train_cifar --max-steps); run again to go on")
    parser.add_argument("--only", default=None,
                        help="only these run ids: comma-separated, shell wildcards allowed ('sq-*,twn')")
    parser.add_argument("--dry-run", action="store_true", help="list the runs, their state and commands; run nothing")
    parser.add_argument("--aggregate-only", action="store_true", help="aggregate what is finished; run nothing")
    parser.add_argument("--no-aggregate", action="store_true", help="run, but do not write the results")
    parser.add_argument("--redo-changed", action="store_true",
                        help="start over the folders whose options differ from the grid's now")
    parser.add_argument("--progress-every", type=float, default=60.0, help="seconds between progress lines")
    args = parser.parse_args(argv)

    try:
        grid = gridlib.load(gridlib.resolve(args.grid, ROOT))
    except gridlib.GridError as e:
        print(f"reproduce.py: {e}", file=sys.stderr)
        return 2
    seeds = args.seeds or grid.seeds
    out = args.out or os.path.join(ROOT, "runs", "repro", grid.name)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    if not devices:
        parser.error("--devices needs at least one device")
    slots = args.jobs or len(devices)
    threads = args.threads if args.threads is not None else max(1, (os.cpu_count() or 1) // slots)
    train_cifar = os.path.abspath(args.train_cifar) if args.train_cifar else default_train_cifar()

    jobs = folders.jobs_for(grid, seeds, out)
    if args.only:
        patterns = [p.strip() for p in args.only.split(",") if p.strip()]
        jobs = [j for j in jobs if any(fnmatch.fnmatchcase(j.run.id, p) for p in patterns)]
        if not jobs:
            parser.error(f"--only {args.only!r} matches no run id of grid {grid.name}")
    steps_of = {}
    for job in jobs:
        folders.plan(job)
        if job.state == "changed" and args.redo_changed:
            job.state = "new"
        if job.run.id not in steps_of and not args.aggregate_only:
            steps_of[job.run.id] = total_steps(train_cifar, job)
        job.total_steps = steps_of.get(job.run.id, 0)

    if args.aggregate_only:
        return aggregate(grid, out, seeds)
    if args.dry_run:
        counts = {}
        for j in jobs:
            counts[j.state] = counts.get(j.state, 0) + 1
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # piped into head: end quietly
        selected = f", {len(jobs)} selected by --only" if args.only else ""
        print(f"grid {grid.name} ({grid.path}): {len(grid.runs)} runs x {len(seeds)} seeds = "
              f"{len(grid.runs) * len(seeds)} jobs{selected} in {out}")
        print("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) +
              f"; {sum(j.total_steps for j in jobs if j.state != 'finished')} steps to run; "
              f"{slots} at once on {','.join(devices)}")
        for i, j in enumerate(jobs):
            device = devices[i % slots % len(devices)]
            cmd = j.command(train_cifar, device, threads if device == "cpu" else 0, args.max_steps)
            print(f"{j.state:9s} {j.run.id} seed {j.seed} ({j.total_steps} steps): {' '.join(cmd)}")
        return 0

    runner = Runner(jobs, ROOT, train_cifar, devices, slots, threads, args.max_steps, args.progress_every)
    runner.run()
    code = runner.summary()
    if not args.no_aggregate:
        aggregate(grid, out, seeds)
    return code


def aggregate(grid, out, seeds):
    try:
        from repro import report
    except ImportError as e:  # matplotlib missing: the table still comes
        print(f"reproduce.py: cannot aggregate ({e})", file=sys.stderr)
        return 1
    return report.write(grid, out, seeds)


if __name__ == "__main__":
    sys.exit(main())
