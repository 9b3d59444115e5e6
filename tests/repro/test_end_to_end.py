"""A tiny real grid (2 configs x 2 seeds, 20-step stages of train_cifar on 640 Fashion-MNIST images) runs end to
end, is interrupted (--max-steps, then SIGTERM) and resumed without re-running the finished runs."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from repro_test_util import ROOT, SCRIPT, reproduce, train_cifar, write_grid

from repro import metrics

TINY = ["--train-limit", "640", "--test-limit", "200", "--batch", "32", "--iterations", "20", "--log-every", "5",
        "--checkpoint-every", "0", "--eval-batch", "100", "--bn-recalibrate-batches", "2"]
GRID = {"name": "tiny", "seeds": [1, 2], "args": TINY,
        "runs": [{"id": "twn", "label": "TWN", "config": "configs/quick-twn-fashion-mnist.json", "table": "tiny"},
                 {"id": "sq-twn", "label": "SQ-TWN", "config": "configs/quick-sq-twn-fashion-mnist.json",
                  "args": ["--stages", "0.5,1"], "table": "tiny", "compare": ["twn"]}]}


def snapshot(out, run_id, seed):
    with open(os.path.join(out, run_id, f"seed{seed}", "metrics.jsonl"), "rb") as f:
        return f.read()


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


class TinyGrid(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "out")
        self.grid = os.path.join(self.dir.name, "tiny.json")
        write_grid(self.grid, GRID)

    def tearDown(self):
        self.dir.cleanup()

    def run_grid(self, *extra):
        return reproduce(self.grid, "--out", self.out, "--threads", "1", "--progress-every", "1", *extra)

    def test_runs_stops_resumes_and_skips_finished_runs(self):
        # 1. Only the TWN runs: both finish.
        rc, text = self.run_grid("--only", "twn", "--no-aggregate")
        self.assertEqual(rc, 0, text)
        self.assertIn("summary: 2/2 runs finished", text)
        before = {s: snapshot(self.out, "twn", s) for s in (1, 2)}
        for s in (1, 2):
            self.assertTrue(metrics.read(os.path.join(self.out, "twn", f"seed{s}", "metrics.jsonl")).finished)

        # 2. The whole grid with --max-steps 10: TWN skipped, the SQ runs (40 steps) stop with a checkpoint.
        rc, text = self.run_grid("--max-steps", "10", "--no-aggregate")
        self.assertEqual(rc, 75, text)
        self.assertNotIn("starting twn", text)
        self.assertIn("starting sq-twn seed 1", text)
        self.assertIn("stopped sq-twn seed 2: stopped at --max-steps", text)
        self.assertIn("summary: 2/4 runs finished, 2 stopped (resumable), 0 failed", text)
        sq1 = os.path.join(self.out, "sq-twn", "seed1")
        self.assertTrue(os.path.exists(os.path.join(sq1, "last.safetensors")))
        self.assertEqual(metrics.read(os.path.join(sq1, "metrics.jsonl")).last_step, 10)

        # 3. A dry run now says what is where.
        rc, text = self.run_grid("--dry-run")
        self.assertEqual(rc, 0, text)
        self.assertIn("2 finished, 2 resume", text)
        self.assertIn(f"--resume {os.path.join(sq1, 'last.safetensors')}", text)

        # 4. SIGTERM while running: the run checkpoints, reproduce.py exits 143 and says how to resume.
        process = subprocess.Popen([sys.executable, SCRIPT, self.grid, "--out", self.out, "--threads", "1",
                                    "--train-cifar", train_cifar(), "--no-aggregate"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = os.path.join(sq1, "metrics.jsonl")
        deadline = time.time() + 60
        while time.time() < deadline and '"event":"resume"' not in read(log):  # training again, handlers up
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        text, _ = process.communicate(timeout=120)
        if process.returncode != 0:  # the run may have finished before the signal arrived: both are fine here
            self.assertEqual(process.returncode, 143, text)
            self.assertIn("SIGTERM: stopping the running runs", text)

        # 5. Run again: the rest resumes, nothing finished is run again, the table has both rows with 2 seeds.
        rc, text = self.run_grid()
        self.assertEqual(rc, 0, text)
        self.assertNotIn("starting twn", text)
        self.assertNotIn("starting sq-twn", text)  # only resumed, never started over
        self.assertIn("summary: 4/4 runs finished", text)
        for s in (1, 2):
            self.assertEqual(snapshot(self.out, "twn", s), before[s], "a finished run was run again")
            m = metrics.read(os.path.join(self.out, "sq-twn", f"seed{s}", "metrics.jsonl"))
            self.assertTrue(m.finished)
            self.assertEqual(m.last_step, 40)
            self.assertIn(b'"event":"resume"', snapshot(self.out, "sq-twn", s))
        with open(os.path.join(self.out, "results-tiny.md"), encoding="utf-8") as f:
            text = f.read()
        self.assertRegex(text, r"\| TWN \| 2 \| \d+\.\d\d ± \d+\.\d\d \|")
        self.assertRegex(text, r"\| SQ-TWN \| 2 \| \d+\.\d\d ± \d+\.\d\d \| [^|]+ \|  \| 40 \|")
        self.assertIn("| SQ-TWN | TWN |", text)

        # 6. A changed grid is refused for the folders it would mix with, not silently resumed or skipped.
        changed = dict(GRID, args=TINY + ["--lr", "0.05"])
        write_grid(self.grid, changed)
        rc, text = self.run_grid("--no-aggregate")
        self.assertEqual(rc, 1, text)
        self.assertIn("REFUSED twn seed 1", text)
        self.assertIn("--redo-changed", text)


if __name__ == "__main__":
    unittest.main()
