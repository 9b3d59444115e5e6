"""Run folders of a grid: OUT/<run id>/seed<k>/, what state each is in, and the train_cifar command for it.

A folder is finished when its metrics.jsonl holds the "finished" event, resumable when it holds last.safetensors,
and new otherwise (a folder that a killed process left without a checkpoint is started over). repro.json records
the options the folder was started with; a grid that changed since (other iterations, another config) is refused
rather than silently mixed with the old run.
"""
import json
import os

from . import metrics

# Options that belong to one process, not to the run: they may differ between the start and a resume.
PER_PROCESS = ("--device", "--threads", "--max-steps")


class Job:
    """One (run, seed): its folder, the options that define it and, once planned, its state."""

    def __init__(self, run, seed, folder, identity):
        self.run = run
        self.seed = seed
        self.folder = folder
        self.identity = identity  # train_cifar options without the per-process ones
        self.state = None  # finished / resume / new / changed
        self.total_steps = None
        self.note = ""

    @property
    def name(self):
        return f"{self.run.id} seed {self.seed}"

    @property
    def metrics_path(self):
        return os.path.join(self.folder, "metrics.jsonl")

    @property
    def checkpoint(self):
        return os.path.join(self.folder, "last.safetensors")

    @property
    def log_path(self):
        return os.path.join(self.folder, "train.log")

    def command(self, train_cifar, device, threads, max_steps):
        cmd = [train_cifar]
        if self.state == "resume":
            cmd += ["--resume", self.checkpoint]
        cmd += self.identity
        if self.state == "new" and os.path.isdir(self.folder) and os.listdir(self.folder):
            cmd.append("--overwrite")  # only leftovers without a checkpoint: nothing to resume from
        cmd += ["--device", device]
        if threads:
            cmd += ["--threads", str(threads)]
        if max_steps:
            cmd += ["--max-steps", str(max_steps)]
        return cmd


def jobs_for(grid, seeds, out):
    """One Job per (seed, run), seed-major: a partial grid then holds whole seeds. Configs are relative to the
    repository root (train_cifar runs there), so a grid's identity does not depend on where the checkout is."""
    jobs = []
    for seed in seeds:
        for run in grid.runs:
            folder = os.path.join(out, run.id, f"seed{seed}")
            identity = (["--config", run.config] + grid.args + run.args +
                        ["--seed", str(seed), "--name", run.id, "--output", os.path.abspath(folder)])
            jobs.append(Job(run, seed, folder, identity))
    return jobs


def _recorded_identity(folder):
    path = os.path.join(folder, "repro.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("identity")
    except (OSError, ValueError):
        return None


def record_identity(job):
    os.makedirs(job.folder, exist_ok=True)
    tmp = os.path.join(job.folder, "repro.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"identity": job.identity, "grid_run": job.run.id, "seed": job.seed}, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(job.folder, "repro.json"))


def plan(job):
    """Sets job.state from what the folder holds."""
    recorded = _recorded_identity(job.folder)
    has_run = os.path.exists(job.metrics_path) or os.path.exists(job.checkpoint)
    if has_run and recorded is not None and recorded != job.identity:
        job.state = "changed"
        job.note = ("the grid changed since this folder was started (options were "
                    f"{' '.join(recorded)}); delete the folder or pass --redo-changed to start it over")
    elif os.path.exists(job.metrics_path) and metrics.read(job.metrics_path).finished:
        job.state = "finished"
    elif os.path.exists(job.checkpoint):
        job.state = "resume"
    else:
        job.state = "new"
    return job.state
