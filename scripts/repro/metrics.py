"""Reading a train_cifar metrics.jsonl (apps/train_cifar/README.md, "Outputs") for progress and aggregation.

Records repeated by a resumed run (same kind and global step) count once, the last one wins, as in
scripts/plot_metrics.py; an incomplete last line (a process killed mid-write) is skipped.
"""
import json
import os


class Metrics:
    def __init__(self):
        self.steps = []  # "step" records, by global step
        self.epochs = []  # "epoch" records
        self.stages = []  # "stage" records
        self.finished = False
        self.final_error = None  # final_test_error_quantized of the "finished" event
        self.last_step = 0  # the highest global step seen
        self.wall_s = 0.0  # seconds of training, summed over the processes that wrote the file

    @property
    def final_test_error(self):
        """The fully quantized test error at the end: the finished event's, else the last evaluation's."""
        if self.final_error is not None:
            return self.final_error
        for r in reversed(self.epochs):
            if r.get("test_error_quantized") is not None:
                return r["test_error_quantized"]
        return None

    def stage_starts(self):
        """(global step, stage, ratio) where each stage begins."""
        starts, last = [], None
        for r in sorted(self.steps + self.epochs, key=lambda r: r["global_step"]):
            if r.get("stage") != last:
                starts.append((r["global_step"] - r.get("step", 0), r.get("stage"), r.get("ratio")))
                last = r.get("stage")
        return starts


def _lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = [line for line in text.split("\n") if line.strip()]
    for index, line in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if index == len(lines) - 1:
                continue  # a write cut short
            raise ValueError(f"{path}: line {index + 1} is not JSON") from None
        if isinstance(record, dict):
            yield record


def read(path):
    m = Metrics()
    steps, epochs, stages = {}, {}, {}
    segment_start = segment_last = None
    for r in _lines(path):
        kind = r.get("kind")
        step = r.get("global_step", 0)
        if isinstance(step, int):
            m.last_step = max(m.last_step, step)
        t = r.get("time")
        if kind == "event" and r.get("event") in ("start", "resume"):
            if segment_start is not None and segment_last is not None:
                m.wall_s += segment_last - segment_start
            segment_start = segment_last = t
        elif isinstance(t, (int, float)):
            segment_last = t
        if kind == "step":
            steps[step] = r
        elif kind == "epoch":
            epochs[step] = r
        elif kind == "stage":
            stages[r.get("stage")] = r
        elif kind == "event" and r.get("event") == "finished":
            m.finished = True
            m.final_error = r.get("final_test_error_quantized")
        elif kind == "event" and r.get("event") == "resume":
            m.finished = False
    if segment_start is not None and segment_last is not None:
        m.wall_s += segment_last - segment_start
    m.steps = [steps[k] for k in sorted(steps)]
    m.epochs = [epochs[k] for k in sorted(epochs)]
    m.stages = [stages[k] for k in sorted(stages, key=lambda s: (s is None, s))]
    return m


def last_global_step(path):
    """The last global step written, reading only the file's tail (cheap enough to poll)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return 0
    for line in reversed(tail.split("\n")):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("global_step"), int):
            return record["global_step"]
    return 0
