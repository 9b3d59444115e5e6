"""Aggregation on synthetic metrics files with known means and standard deviations; the t-test's numbers."""
import json
import math
import os
import tempfile
import unittest

from repro_test_util import reproduce, write_grid, write_metrics

from repro import grid as gridlib, metrics, report, stats


class Stats(unittest.TestCase):
    def test_t_distribution_matches_printed_tables(self):
        # Two-sided 5% critical values of Student's t (any statistics textbook).
        for t, df in ((12.706, 1), (4.303, 2), (2.776, 4), (2.228, 10), (2.042, 30), (1.960, 1e7)):
            self.assertAlmostEqual(stats.t_two_sided_p(t, df), 0.05, delta=2e-4, msg=f"t={t} df={df}")
            self.assertAlmostEqual(stats.t_quantile(0.975, df), t, delta=2e-3)
        self.assertAlmostEqual(stats.t_two_sided_p(0.0, 3), 1.0)
        self.assertAlmostEqual(stats.t_two_sided_p(1.0, 1), 0.5, places=12)  # Cauchy: P(|T| >= 1) = 1/2

    def test_welch_statistic_and_degrees_of_freedom(self):
        w = stats.Welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0])
        # by hand: s_a^2/n_a = 1/3, s_b^2/n_b = (5/3)/4; t = -3.5 / sqrt(0.75); Welch-Satterthwaite df
        self.assertAlmostEqual(w.diff, -3.5)
        self.assertAlmostEqual(w.t, -3.5 / math.sqrt(0.75))
        self.assertAlmostEqual(w.df, 0.75 ** 2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3))
        self.assertAlmostEqual(w.p, stats.t_two_sided_p(w.t, w.df))
        self.assertTrue(0.009 < w.p < 0.012 and w.significant)
        self.assertEqual(w.verdict(), f"better (p = {w.p:.3f})")
        near = stats.Welch([10.0, 10.4], [10.2, 10.5])
        self.assertFalse(near.significant)
        self.assertIn("within noise", near.verdict())
        self.assertIsNone(stats.Welch([1.0], [2.0, 3.0]).p)

    def test_std_is_the_sample_standard_deviation(self):
        self.assertAlmostEqual(stats.std([10.0, 12.0, 14.0]), 2.0)
        self.assertEqual(stats.std([5.0]), 0.0)


GRID = {"name": "syn", "seeds": [1, 2, 3], "paper": {"sq": 8.37},
        "runs": [{"id": "base", "label": "TWN", "config": "configs/quick-twn-fashion-mnist.json", "table": "T"},
                 {"id": "sq", "label": "SQ-TWN", "config": "configs/quick-sq-twn-fashion-mnist.json", "table": "T",
                  "compare": ["base"]},
                 {"id": "other", "label": "Other", "config": "configs/quick-twn-fashion-mnist.json", "table": "U"}]}


class Aggregation(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = self.dir.name
        self.grid_path = os.path.join(self.out, "syn.json")
        write_grid(self.grid_path, GRID)
        for seed, e in zip((1, 2, 3), (20.0, 21.0, 22.0)):  # mean 21, std 1
            write_metrics(os.path.join(self.out, "base", f"seed{seed}"), e, t0=1000.0 * seed)
        for seed, e in zip((1, 2, 3), (10.0, 12.0, 14.0)):  # mean 12, std 2
            write_metrics(os.path.join(self.out, "sq", f"seed{seed}"), e, stages=4, resume_gap=500.0)
        write_metrics(os.path.join(self.out, "other", "seed1"), 30.0)
        write_metrics(os.path.join(self.out, "other", "seed2"), 99.0, finished=False)  # still running: left out

    def tearDown(self):
        self.dir.cleanup()

    def test_metrics_reader_sums_wall_time_over_processes_and_finds_stages(self):
        m = metrics.read(os.path.join(self.out, "sq", "seed1", "metrics.jsonl"))
        self.assertTrue(m.finished)
        self.assertEqual(m.final_test_error, 10.0)
        self.assertEqual(m.last_step, 400)
        self.assertAlmostEqual(m.wall_s, 80.0)  # 8 step records 10 s apart; the 500 s before the resume not counted
        self.assertEqual([s[0] for s in m.stage_starts()], [0, 100, 200, 300])

    def test_table_has_mean_std_seeds_paper_steps_and_the_t_test(self):
        g = gridlib.load(self.grid_path)
        lines = []
        self.assertEqual(report.write(g, self.out, g.seeds, log=lines.append), 0)
        with open(os.path.join(self.out, "results-syn.md"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("| TWN | 3 | 21.00 ± 1.00 | 20.00, 21.00, 22.00 |  | 100 | 0:20 |", text)
        self.assertIn("| SQ-TWN | 3 | 12.00 ± 2.00 | 10.00, 12.00, 14.00 | 8.37 | 400 | 1:20 |", text)
        self.assertIn("| Other | 1 | 30.00 | 30.00 |  | 100 | 0:20 |", text)
        self.assertIn("Not finished (left out): other seed 2, other seed 3.", text)
        w = stats.Welch([10.0, 12.0, 14.0], [20.0, 21.0, 22.0])
        self.assertIn(f"| SQ-TWN | TWN | -9.00 | [{w.ci[0]:+.2f}, {w.ci[1]:+.2f}] | {w.t:+.2f} ({w.df:.1f}) | "
                      f"better (p = {w.p:.3f}) |", text)
        self.assertLess(w.p, 0.01)
        with open(os.path.join(self.out, "results-syn.json"), encoding="utf-8") as f:
            summary = json.load(f)
        row = summary["tables"][0]["rows"][1]
        self.assertEqual((row["id"], row["mean"], row["std"], row["paper"]), ("sq", 12.0, 2.0, 8.37))
        self.assertAlmostEqual(summary["tables"][0]["comparisons"][0]["p"], w.p)

    def test_reproduce_aggregate_only_writes_the_page_and_png_plots(self):
        rc, text = reproduce(self.grid_path, "--aggregate-only", "--out", self.out)
        self.assertEqual(rc, 0, text)
        for name in ("syn-t-error.png", "syn-t-curves.png", "syn-u-error.png"):
            with open(os.path.join(self.out, "plots", name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
        with open(os.path.join(self.out, "results-syn.md"), encoding="utf-8") as f:
            self.assertIn("![test error per method](plots/syn-t-error.png)", f.read())


if __name__ == "__main__":
    unittest.main()
