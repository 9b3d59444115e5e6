"""Aggregation of a grid's finished runs: OUT/results-<grid>.md (a table per grid table, comparisons),
OUT/results-<grid>.json and OUT/plots/<grid>-*.png (plots.py; skipped with a note when matplotlib is missing).
The grid's name is in the file names so that two grids may share one folder (budget beside table1: the runs they
have in common are then run once).

The number of a run is the final test error of the fully quantized network (the "finished" event's
final_test_error_quantized: the last stage's evaluation, r = 1). A row shows mean +- sample std over the seeds
that finished, each seed's value, the paper's number where the grid gives one, total steps per run and the mean
wall time per run. Each "compare" of the grid gets a Welch t-test (stats.py): a difference is called a result only
at p < 0.05, and with 2-3 seeds only large, consistent differences get there.
"""
import json
import os
import re
import time

from . import metrics, stats


class Row:
    def __init__(self, run, paper):
        self.run = run
        self.paper = paper
        self.errors = {}  # seed -> final fully quantized test error
        self.wall = {}  # seed -> seconds
        self.steps = None
        self.missing = []  # seeds without a finished run
        self.series = {}  # seed -> Metrics (for the curves)

    @property
    def values(self):
        return [self.errors[s] for s in sorted(self.errors)]


def collect(grid, out, seeds):
    rows = []
    for run in grid.runs:
        row = Row(run, grid.paper.get(run.id))
        for seed in seeds:
            path = os.path.join(out, run.id, f"seed{seed}", "metrics.jsonl")
            m = metrics.read(path) if os.path.exists(path) else None
            if m is None or not m.finished or m.final_test_error is None:
                row.missing.append(seed)
                continue
            row.errors[seed] = m.final_test_error
            row.wall[seed] = m.wall_s
            row.steps = m.last_step
            row.series[seed] = m
        rows.append(row)
    return rows


def fmt_error(row):
    v = row.values
    if not v:
        return "-"
    if len(v) == 1:
        return f"{v[0]:.2f}"
    return f"{stats.mean(v):.2f} ± {stats.std(v):.2f}"


def fmt_wall(seconds):
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def table_markdown(rows):
    lines = ["| method | seeds | test error % (mean ± std) | per seed | paper | steps per run | wall time per run |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for row in rows:
        per_seed = ", ".join(f"{row.errors[s]:.2f}" for s in sorted(row.errors)) or "-"
        paper = f"{row.paper:.2f}" if row.paper is not None else ""
        steps = f"{row.steps}" if row.steps is not None else "-"
        wall = fmt_wall(stats.mean(list(row.wall.values()))) if row.wall else "-"
        lines.append(f"| {row.run.label} | {len(row.errors)} | {fmt_error(row)} | {per_seed} | {paper} | {steps} "
                     f"| {wall} |")
    return lines


def comparisons(rows):
    by_id = {r.run.id: r for r in rows}
    out = []
    for row in rows:
        for other_id in row.run.compare:
            other = by_id[other_id]
            if row.values and other.values:
                out.append((row, other, stats.Welch(row.values, other.values)))
    return out


def comparisons_markdown(found):
    lines = ["| row | vs | difference (points) | 95% interval | Welch t (df) | verdict |",
             "|---|---|---:|---:|---:|---|"]
    for row, other, w in found:
        ci = f"[{w.ci[0]:+.2f}, {w.ci[1]:+.2f}]" if w.ci else "-"
        t = f"{w.t:+.2f} ({w.df:.1f})" if w.t is not None else "-"
        lines.append(f"| {row.run.label} | {other.run.label} | {w.diff:+.2f} | {ci} | {t} | {w.verdict()} |")
    return lines


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def write(grid, out, seeds, log=print):
    """Writes the results; returns 0 (1 when no run at all has finished)."""
    rows = collect(grid, out, seeds)
    os.makedirs(out, exist_ok=True)
    try:
        from . import plots
    except ImportError as e:
        plots = None
        log(f"reproduce.py: no plots ({e}): apt-get install python3-matplotlib")
    lines = [f"# Results: grid `{grid.name}`", ""]
    if grid.description:
        lines += [grid.description, ""]
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shown = os.path.relpath(os.path.abspath(out), root)  # relative to the repository root when inside it
    shown = out if shown.startswith("..") else shown
    lines += [f"Seeds {','.join(str(s) for s in seeds)}; aggregated {when} "
              f"from `{shown}` by `scripts/reproduce.py {grid.name}`. Test error: the fully quantized network (r = 1) "
              "at the end of the last stage, in %. Differences are tested with Welch's t-test (two-sided, "
              f"p < {stats.ALPHA} called a difference).", ""]
    summary = {"grid": grid.name, "seeds": seeds, "tables": []}
    for title in grid.tables():
        table_rows = [r for r in rows if title in r.run.tables]
        lines += [f"## {title}", ""] + table_markdown(table_rows) + [""]
        found = comparisons(table_rows)
        if found:
            lines += comparisons_markdown(found) + [""]
        if plots is not None and any(r.values for r in table_rows):
            name = f"{grid.name}-{slug(title)}"
            os.makedirs(os.path.join(out, "plots"), exist_ok=True)
            plots.error_bars(table_rows, title, os.path.join(out, "plots", f"{name}-error.png"))
            seed = plots.curves(table_rows, title, os.path.join(out, "plots", f"{name}-curves.png"))
            lines += [f"![test error per method]({'plots/' + name}-error.png)", "",
                      f"![training curves, seed {seed}]({'plots/' + name}-curves.png)", ""]
        missing = [f"{r.run.id} seed {s}" for r in table_rows for s in r.missing]
        if missing:
            lines += [f"Not finished (left out): {', '.join(missing)}.", ""]
        summary["tables"].append({
            "title": title,
            "rows": [{"id": r.run.id, "label": r.run.label, "errors": {str(s): e for s, e in r.errors.items()},
                      "mean": stats.mean(r.values) if r.values else None,
                      "std": stats.std(r.values) if r.values else None, "paper": r.paper, "steps": r.steps,
                      "wall_s": r.wall, "missing": r.missing} for r in table_rows],
            "comparisons": [{"row": a.run.id, "vs": b.run.id, "diff": w.diff, "t": w.t, "df": w.df, "p": w.p,
                             "ci": w.ci} for a, b, w in found]})
    markdown = os.path.join(out, f"results-{grid.name}.md")
    with open(markdown, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    with open(os.path.join(out, f"results-{grid.name}.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    log(f"wrote {markdown}")
    return 0 if any(r.values for r in rows) else 1
