"""Grid files parse and expand to the right runs; bad grids are refused naming the problem; a dry run lists them."""
import os
import tempfile
import unittest

from repro_test_util import ROOT, reproduce, write_grid

from repro import folders, grid as gridlib


def shipped(name):
    return gridlib.load(gridlib.resolve(name, ROOT))


class ShippedGrids(unittest.TestCase):
    def test_every_shipped_grid_loads_and_names_existing_configs(self):
        names = sorted(n[:-5] for n in os.listdir(os.path.join(ROOT, "configs", "grids")) if n.endswith(".json"))
        self.assertTrue({"table1", "ablations", "budget", "quick"} <= set(names), names)
        for name in names:
            g = shipped(name)
            for r in g.runs:
                self.assertTrue(os.path.isfile(os.path.join(ROOT, r.config)), f"{name}: {r.id}: {r.config}")

    def test_table1_is_five_methods_for_two_nets_on_three_datasets(self):
        g = shipped("table1")
        self.assertEqual(len(g.runs), 30)
        self.assertEqual(g.runs[0].id, "vgg9-fwn-cifar10")
        self.assertEqual(g.runs[0].config, "configs/vgg9-fwn-cifar10.json")
        self.assertEqual(g.run("resnet56-sq-twn-fashion-mnist").compare, ["resnet56-twn-fashion-mnist"])
        self.assertEqual(len(g.tables()), 6)
        self.assertEqual(g.paper, {"vgg9-fwn-cifar10": 9.00, "vgg9-bwn-cifar10": 10.67, "vgg9-sq-bwn-cifar10": 9.13,
                                   "vgg9-twn-cifar10": 9.87, "vgg9-sq-twn-cifar10": 8.37})

    def test_budget_compares_sq_with_one_stage_and_four_times_the_steps(self):
        g = shipped("budget")
        self.assertEqual(g.run("vgg9-sq-twn-cifar10").compare, ["vgg9-twn-cifar10", "vgg9-twn-4x-cifar10"])
        self.assertEqual(g.run("vgg9-twn-4x-cifar10").config, "configs/vgg9-twn-4x-cifar10.json")

    def test_ablations_share_one_baseline_across_four_tables(self):
        g = shipped("ablations")
        self.assertEqual(len(g.tables()), 4)
        self.assertEqual(len(g.run("default").tables), 4)
        self.assertEqual(g.run("sampler-caffe").args, ["--sampler", "caffe"])
        self.assertEqual(sorted(r.id for r in g.runs if r.id.startswith("probability-")),
                         ["probability-constant", "probability-sigmoid", "probability-softmax"])

    def test_quick_has_table1_and_budget_rows(self):
        g = shipped("quick")
        ids = [r.id for r in g.runs]
        for needed in ("fwn", "bwn", "sq-bwn", "twn", "sq-twn", "bwn-4x", "twn-4x"):
            self.assertIn(needed, ids)
        self.assertEqual(g.args, ["--iterations", "600"])
        self.assertEqual(g.run("twn-4x").args, ["--iterations", "2400"])

    def test_jobs_are_seed_major_with_one_folder_per_run_and_seed(self):
        g = shipped("quick")
        jobs = folders.jobs_for(g, [1, 2], "/o")
        self.assertEqual(len(jobs), 2 * len(g.runs))
        self.assertEqual([j.seed for j in jobs[:len(g.runs)]], [1] * len(g.runs))
        self.assertEqual(jobs[0].folder, os.path.join("/o", g.runs[0].id, "seed1"))
        self.assertEqual(jobs[-1].identity[-6:], ["--seed", "2", "--name", g.runs[-1].id, "--output",
                                                 os.path.join("/o", g.runs[-1].id, "seed2")])


class Expansion(unittest.TestCase):
    def load(self, grid):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.json")
            write_grid(path, grid)
            return gridlib.load(path)

    def test_for_is_a_cartesian_product_last_key_fastest(self):
        g = self.load({"name": "g", "runs": [{"id": "{a}-{b}", "config": "c/{a}.json", "args": ["--x", "{b}"],
                                              "table": "t{a}", "for": {"a": ["p", "q"], "b": [1, 2, 3]}}]})
        self.assertEqual([r.id for r in g.runs], ["p-1", "p-2", "p-3", "q-1", "q-2", "q-3"])
        self.assertEqual(g.run("q-2").config, "c/q.json")
        self.assertEqual(g.run("q-2").args, ["--x", "2"])
        self.assertEqual(g.tables(), ["tp", "tq"])
        self.assertEqual(g.seeds, [1, 2, 3])
        self.assertEqual(g.run("p-1").label, "p-1")

    def refused(self, grid, message):
        with self.assertRaises(gridlib.GridError) as caught:
            self.load(grid)
        self.assertIn(message, str(caught.exception))

    def test_bad_grids_are_refused_naming_the_problem(self):
        run = {"id": "a", "config": "c.json"}
        self.refused({"runs": [run, run]}, "run id 'a' appears twice")
        self.refused({"runs": [dict(run, tabel="x")]}, "unknown key(s) tabel")
        self.refused({"runs": [dict(run, compare=["b"])]}, "compares with 'b', which is not a run")
        self.refused({"runs": [dict(run, id="{z}")]}, "{z} is not a key")
        self.refused({"runs": [dict(run, id="a/b")]}, "names a folder")
        self.refused({"runs": [{"id": "a"}]}, "\"config\"")
        self.refused({"runs": []}, "\"runs\"")
        self.refused({"seeds": [], "runs": [run]}, "\"seeds\"")
        self.refused({"paper": {"zz": 1.0}, "runs": [run]}, "not in the grid: zz")
        self.refused({"runs": [dict(run, args="--x")]}, "list of strings")

    def test_unreadable_json_names_the_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.json")
            with open(path, "w") as f:
                f.write('{"runs": [\n  oops]}')
            with self.assertRaises(gridlib.GridError) as caught:
                gridlib.load(path)
            self.assertIn("g.json:2:", str(caught.exception))


class DryRun(unittest.TestCase):
    def test_lists_every_run_and_seed_with_its_command_and_steps(self):
        with tempfile.TemporaryDirectory() as out:
            rc, text = reproduce("quick", "--seeds", "4,5", "--dry-run", "--out", out, "--threads", "1")
            self.assertEqual(rc, 0, text)
            g = shipped("quick")
            self.assertIn(f"{len(g.runs)} runs x 2 seeds = {2 * len(g.runs)} jobs", text)
            lines = [line for line in text.splitlines() if line.startswith("new ")]
            self.assertEqual(len(lines), 2 * len(g.runs))
            sq = next(line for line in lines if " sq-twn seed 5 " in line)
            self.assertIn("(2400 steps)", sq)  # 4 stages x 600
            self.assertIn(f"--output {os.path.join(out, 'sq-twn', 'seed5')}", sq)
            self.assertIn("--device cpu --threads 1", sq)
            self.assertIn("(2400 steps)", next(line for line in lines if " twn-4x seed 4 " in line))
            self.assertEqual(os.listdir(out), [])  # nothing run, nothing written

    def test_unknown_grid_is_a_usage_error(self):
        rc, text = reproduce("no-such-grid", "--dry-run")
        self.assertEqual(rc, 2)
        self.assertIn("no-such-grid.json", text)


if __name__ == "__main__":
    unittest.main()
