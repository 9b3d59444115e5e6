"""Grid files (configs/grids/<name>.json): which runs make a table, read and expanded to one Run per entry.

A grid is JSON:

    {"name": "quick", "description": "...", "seeds": [1, 2, 3],
     "args": ["--log-every", "100"],                    # train_cifar options for every run (optional)
     "paper": {"vgg9-twn-cifar10": 9.87},               # the paper's test error per run id (optional)
     "runs": [
       {"id": "{arch}-{method}", "label": "{method}", "config": "configs/{arch}-{method}-cifar10.json",
        "args": ["--iterations", "500"], "table": "{arch} on CIFAR-10", "compare": ["{arch}-twn"],
        "for": {"arch": ["vgg9", "resnet56"], "method": ["twn", "sq-twn"]}}]}

An entry with "for" stands for one run per combination of its values (the cartesian product, in the order the
keys are written, last key fastest); "{key}" in any string of the entry is replaced by the value. "id" names the
run folder and must be unique; "label" is the row in the table (default: the id); "table" (a string, or a list
for a row shared by several tables, e.g. an ablation's baseline) groups rows (default: the grid's name);
"compare" lists the ids this row is tested against (Welch t-test, see stats.py); "config" is a path relative to
the repository root. Unknown keys are errors, so a typo never silently drops a setting.
"""
import itertools
import json
import os
import re

GRID_KEYS = {"name", "description", "seeds", "args", "paper", "runs", "comment"}
RUN_KEYS = {"id", "label", "config", "args", "table", "compare", "for", "comment"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class GridError(Exception):
    """A grid file that cannot be used; the message names the file and what to change."""


class Run:
    """One expanded grid entry: a configuration plus options, run once per seed."""

    def __init__(self, run_id, label, config, args, tables, compare):
        self.id = run_id
        self.label = label
        self.config = config
        self.args = args
        self.tables = tables  # the tables this row appears in (a shared baseline may be in several)
        self.compare = compare

    def __repr__(self):
        return f"Run({self.id!r}, config={self.config!r}, args={self.args!r})"


class Grid:
    def __init__(self, path, name, description, seeds, args, paper, runs):
        self.path = path
        self.name = name
        self.description = description
        self.seeds = seeds
        self.args = args
        self.paper = paper
        self.runs = runs

    def run(self, run_id):
        return next(r for r in self.runs if r.id == run_id)

    def tables(self):
        """Table titles in the order of their first run."""
        titles = []
        for r in self.runs:
            for title in r.tables:
                if title not in titles:
                    titles.append(title)
        return titles


def resolve(name_or_path, root):
    """A grid name (configs/grids/NAME.json under root) or a path to a grid file."""
    if os.path.sep in name_or_path or name_or_path.endswith(".json"):
        return name_or_path
    return os.path.join(root, "configs", "grids", name_or_path + ".json")


def _substitute(value, values, where):
    if isinstance(value, str):
        try:
            return value.format(**values)
        except KeyError as e:
            raise GridError(f"{where}: {{{e.args[0]}}} is not a key of this entry's \"for\"") from None
        except (ValueError, IndexError) as e:
            raise GridError(f"{where}: bad {{...}} placeholder in {value!r} ({e})") from None
    if isinstance(value, list):
        return [_substitute(v, values, where) for v in value]
    return value


def _string_list(value, where):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GridError(f"{where}: must be a list of strings")
    return value


def _expand(entry, index, path, grid_name):
    where = f"{path}: runs[{index}]"
    if not isinstance(entry, dict):
        raise GridError(f"{where}: must be an object")
    unknown = sorted(set(entry) - RUN_KEYS)
    if unknown:
        raise GridError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(RUN_KEYS))})")
    for key in ("id", "config"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise GridError(f"{where}: \"{key}\" (a non-empty string) is required")
    loops = entry.get("for", {})
    if not isinstance(loops, dict) or not all(isinstance(v, list) and v for v in loops.values()):
        raise GridError(f"{where}: \"for\" must map each key to a non-empty list of values")
    runs = []
    for combo in itertools.product(*loops.values()):
        values = {k: str(v) for k, v in zip(loops, combo)}
        run_id = _substitute(entry["id"], values, where)
        sub = lambda key, default: _substitute(entry.get(key, default), values, f"{where} ({run_id})")  # noqa: E731
        tables = sub("table", grid_name)
        tables = [tables] if isinstance(tables, str) else _string_list(tables, f"{where} ({run_id}): \"table\"")
        runs.append(Run(run_id, sub("label", run_id), sub("config", ""),
                        _string_list(sub("args", []), f"{where} ({run_id}): \"args\""), tables,
                        _string_list(sub("compare", []), f"{where} ({run_id}): \"compare\"")))
    return runs


def load(path):
    """Reads and checks a grid file; every problem raises GridError naming the file and the entry."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise GridError(f"{path}: cannot read the grid file ({e.strerror}); grids live in configs/grids/") from None
    except json.JSONDecodeError as e:
        raise GridError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise GridError(f"{path}: a grid file is a JSON object")
    unknown = sorted(set(data) - GRID_KEYS)
    if unknown:
        raise GridError(f"{path}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(GRID_KEYS))})")
    name = data.get("name") or os.path.splitext(os.path.basename(path))[0]
    seeds = data.get("seeds", [1, 2, 3])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise GridError(f"{path}: \"seeds\" must be a non-empty list of non-negative integers")
    paper = data.get("paper", {})
    if not isinstance(paper, dict) or not all(isinstance(v, (int, float)) for v in paper.values()):
        raise GridError(f"{path}: \"paper\" maps run ids to the paper's test error (numbers)")
    if not isinstance(data.get("runs"), list) or not data["runs"]:
        raise GridError(f"{path}: \"runs\" (a non-empty list) is required")
    runs = []
    for index, entry in enumerate(data["runs"]):
        runs.extend(_expand(entry, index, path, name))
    seen = set()
    for r in runs:
        if not ID_PATTERN.match(r.id):
            raise GridError(f"{path}: run id {r.id!r} must be letters, digits and . _ + - (it names a folder)")
        if r.id in seen:
            raise GridError(f"{path}: run id {r.id!r} appears twice; every run needs its own id")
        seen.add(r.id)
    for r in runs:
        for other in r.compare:
            if other not in seen:
                raise GridError(f"{path}: run {r.id!r} compares with {other!r}, which is not a run of this grid")
    unknown_paper = sorted(set(paper) - seen)
    if unknown_paper:
        raise GridError(f"{path}: \"paper\" names run(s) not in the grid: {', '.join(unknown_paper)}")
    return Grid(path, name, data.get("description", ""), seeds, _string_list(data.get("args", []), f"{path}: \"args\""),
                paper, runs)
