"""Runs a grid's jobs: several at once (one per device slot), progress and ETA, resume, a summary of failures.

train_cifar's exit codes (apps/train_cifar/README.md): 0 finished, 75 stopped at --max-steps, 130/143 stopped by a
signal (all three leave a checkpoint: the next reproduce.py resumes them), anything else failed.
"""
import signal
import subprocess
import sys
import time

from . import folders, metrics

STOPPED = {75: "stopped at --max-steps", 130: "interrupted (SIGINT)", 143: "interrupted (SIGTERM)"}


def _clock(seconds):
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def log_tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()[-lines:]
    except OSError:
        return ["(no log)"]


class Runner:
    def __init__(self, jobs, root, train_cifar, devices, slots, threads, max_steps, progress_every, out=sys.stdout):
        self.jobs = jobs
        self.root = root
        self.train_cifar = train_cifar
        self.devices = devices
        self.slots = slots
        self.threads = threads
        self.max_steps = max_steps
        self.progress_every = progress_every
        self.out = out
        self.results = {}  # job -> (rc, what)
        self.stop_signal = None

    def say(self, text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.out, flush=True)

    def _start(self, job, slot):
        device = self.devices[slot % len(self.devices)]
        cmd = job.command(self.train_cifar, device, self.threads if device == "cpu" else 0, self.max_steps)
        folders.record_identity(job)
        log = open(job.log_path, "a", encoding="utf-8")
        log.write(f"\n==== reproduce.py {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {job.state}\n"
                  f"==== cwd {self.root}\n==== {' '.join(cmd)}\n")
        log.flush()
        process = subprocess.Popen(cmd, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        what = "resuming" if job.state == "resume" else "starting"
        self.say(f"{what} {job.name} on {device} (log {job.log_path})")
        return process

    def _on_signal(self, signum, _frame):
        if self.stop_signal is None:
            self.stop_signal = signum
            self.say(f"{signal.Signals(signum).name}: stopping the running runs (they write a checkpoint); "
                     "run the same command again to resume")

    def _progress(self, running, started_at, done_at_start=None):
        total = sum(j.total_steps for j in self.jobs)
        done = 0
        for j in self.jobs:
            if j.state == "finished" or self.results.get(j, (None,))[0] == 0:
                done += j.total_steps
            else:
                done += min(j.total_steps, metrics.last_global_step(j.metrics_path))
        finished = sum(1 for j in self.jobs if j.state == "finished" or self.results.get(j, (None,))[0] == 0)
        elapsed = time.time() - started_at
        if done_at_start is None:  # the first line: nothing measured yet
            self.say(f"{finished}/{len(self.jobs)} runs done; steps {done}/{total} "
                     f"({100.0 * done / max(1, total):.0f}%)")
            return done
        rate = (done - done_at_start) / elapsed if elapsed > 0 else 0
        eta = _clock((total - done) / rate) if rate > 0 else "-"
        now = ", ".join(f"{j.name} {metrics.last_global_step(j.metrics_path)}/{j.total_steps}" for j in running)
        self.say(f"{finished}/{len(self.jobs)} runs done, {len(running)} running ({now}); "
                 f"steps {done}/{total} ({100.0 * done / max(1, total):.0f}%), {rate:.1f} steps/s, ETA {eta}")
        return done

    def run(self):
        todo = [j for j in self.jobs if j.state in ("new", "resume")]
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        running = {}  # slot -> (job, process)
        started_at = time.time()
        done_at_start = self._progress([], started_at) if todo else 0
        next_report = started_at + self.progress_every
        try:
            while todo or running:
                if self.stop_signal is None:
                    for slot in range(self.slots):
                        if slot not in running and todo:
                            job = todo.pop(0)
                            running[slot] = (job, self._start(job, slot))
                else:
                    todo = []
                    for job, process in running.values():
                        if process.poll() is None:
                            try:
                                process.send_signal(signal.SIGTERM if self.stop_signal == signal.SIGTERM
                                                    else signal.SIGINT)
                            except ProcessLookupError:
                                pass
                time.sleep(0.5)
                for slot, (job, process) in list(running.items()):
                    rc = process.poll()
                    if rc is None:
                        continue
                    del running[slot]
                    if rc < 0 and self.stop_signal is not None:
                        rc = 128 + self.stop_signal  # signalled before its handler was up: the last checkpoint stands
                    if rc == 0:
                        what = "finished"
                    elif rc in STOPPED:
                        what = STOPPED[rc]
                    elif rc < 0:
                        what = (f"FAILED (killed by {signal.Signals(-rc).name}; "
                                "the next run resumes its last checkpoint)")
                    else:
                        what = f"FAILED (exit {rc})"
                    self.results[job] = (rc, what)
                    self.say(f"{job.name}: {what}")
                if time.time() >= next_report and (todo or running):
                    self._progress([j for j, _ in running.values()], started_at, done_at_start)
                    next_report = time.time() + self.progress_every
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return self.results

    def summary(self):
        """Prints what happened; returns reproduce.py's exit code (0 all finished, 1 failures, 75 stopped)."""
        failed = [(j, rc) for j, (rc, _) in self.results.items() if rc != 0 and rc not in STOPPED]
        changed = [j for j in self.jobs if j.state == "changed"]
        stopped = [j for j, (rc, _) in self.results.items() if rc in STOPPED]
        finished = [j for j in self.jobs if j.state == "finished" or self.results.get(j, (None,))[0] == 0]
        self.say(f"summary: {len(finished)}/{len(self.jobs)} runs finished, {len(stopped)} stopped (resumable), "
                 f"{len(failed)} failed, {len(changed)} refused (grid changed)")
        for j in changed:
            print(f"  REFUSED {j.name} ({j.folder}): {j.note}", file=self.out)
        for j, rc in failed:
            print(f"  FAILED {j.name} (exit {rc}); log {j.log_path}, last lines:", file=self.out)
            for line in log_tail(j.log_path):
                print(f"    | {line}", file=self.out)
        for j in stopped:
            print(f"  stopped {j.name}: {self.results[j][1]}; the next run of this command resumes it", file=self.out)
        self.out.flush()
        if failed or changed:
            return 1
        if self.stop_signal is not None:
            return 128 + self.stop_signal
        return 75 if stopped else 0
