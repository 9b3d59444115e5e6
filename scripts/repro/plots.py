"""The results' plots: final test error per method with error bars, and one seed's training curves per method with
the SQ stage boundaries marked. Needs matplotlib (Debian: python3-matplotlib)."""
import math

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402

from . import stats  # noqa: E402


def error_bars(rows, title, path):
    """Mean +- std (bar), each seed (dots) and the paper's number (x) per row."""
    rows = [r for r in rows if r.values or r.paper is not None]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.4))
    for y, row in enumerate(rows):
        v = row.values
        if v:
            ax.errorbar(stats.mean(v), y, xerr=stats.std(v) if len(v) > 1 else None, fmt="o", color="C0",
                        capsize=4, label="mean ± std over seeds" if y == 0 else None)
            ax.plot(v, [y] * len(v), ".", color="0.5", label="one seed" if y == 0 else None)
        if row.paper is not None:
            ax.plot([row.paper], [y], "x", color="C3", markersize=8, label="paper")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r.run.label for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final test error, fully quantized (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _points(records, key):
    xs, ys = [], []
    for r in records:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            xs.append(r["global_step"])
            ys.append(v)
    return xs, ys


def curves(rows, title, path):
    """Training error (logged steps) and fully quantized test error (evaluations) of one seed per row, overlaid;
    dotted lines where a stage begins. Returns the seed shown (the lowest with every row finished, if any)."""
    seeds = sorted({s for r in rows for s in r.series})
    common = [s for s in seeds if all(s in r.series for r in rows if r.series)]
    seed = (common or seeds)[0]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    for i, row in enumerate(r for r in rows if seed in r.series):
        m = row.series[seed]
        color = f"C{i % 10}"
        top.plot(*_points(m.steps, "train_error"), color=color, linewidth=0.9, label=row.run.label)
        bottom.plot(*_points(m.epochs, "test_error_quantized"), "o-", color=color, markersize=3, linewidth=1,
                    label=row.run.label)
        starts = m.stage_starts()
        for x, _, _ in starts[1:]:
            for ax in (top, bottom):
                ax.axvline(x, color=color, linestyle=":", linewidth=0.9, alpha=0.7)
    top.set_ylabel("training error (%)")
    bottom.set_ylabel("test error, fully quantized (%)")
    bottom.set_xlabel("global step (dotted: an SQ stage begins)")
    top.set_title(f"{title}: seed {seed}", fontsize=9)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return seed
