#!/usr/bin/env python3
"""PyTorch eager baseline for apps/step_bench: the median training-step time of VGG-9 and ResNet-56 (SQ_SPEC
section 8) with FWN, TWN and SQ-TWN weights, SQ done the natural way (per layer: quantize, per-row error,
probabilities, torch.multinomial without replacement, hybrid weights, straight-through gradient).

Run on the GPU machine beside step_bench, with the same batch and math mode:
    python3 scripts/bench_pytorch_step.py --device cuda --json out/bench.jsonl
On the CPU (--device cpu --threads N) scripts/bench_cpu.py imports this file and interleaves it with sq_bench.
Prints one line per (arch, method) and, with --json, appends JSON lines in step_bench's format.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-7


# ---- quantizers (SQ_SPEC sections 3-5), one scale per output channel ----

def quantize_twn(w2d):
    a = w2d.abs()
    delta = 0.7 * a.mean()
    keep = a > delta
    count = keep.sum(dim=1, keepdim=True)
    alpha = (a * keep).sum(dim=1, keepdim=True) / count.clamp(min=1)
    return alpha * torch.sign(w2d) * keep


def quantize_bwn(w2d):
    alpha = w2d.abs().mean(dim=1, keepdim=True)
    return alpha * torch.where(w2d >= 0, 1.0, -1.0)


QUANTIZERS = {"twn": quantize_twn, "bwn": quantize_bwn}


class WeightMode:
    """Shared by all layers of a model: method ("fwn", "twn", "bwn") and SQ ratio (1.0: quantize every row)."""

    def __init__(self, quantizer=None, ratio=1.0):
        self.quantizer = quantizer
        self.ratio = ratio


def effective_weight(weight, mode):
    if mode.quantizer is None:
        return weight
    w2d = weight.reshape(weight.shape[0], -1)
    with torch.no_grad():
        q = QUANTIZERS[mode.quantizer](w2d)
        if mode.ratio < 1.0:
            m = w2d.shape[0]
            # e_i = sum |W - Q| / sum |W|; f = 1 / (e + eps); linear probabilities p = f / sum f.
            e = (w2d - q).abs().sum(dim=1) / w2d.abs().sum(dim=1).clamp(min=1e-30)
            f = 1.0 / (e + EPS)
            p = f / f.sum()
            n_q = m - int(math.floor((1.0 - mode.ratio) * m + 1e-9))
            mask = torch.zeros(m, dtype=torch.bool, device=w2d.device)
            if n_q > 0:
                mask[torch.multinomial(p, n_q, replacement=False)] = True
            hybrid = torch.where(mask[:, None], q, w2d)
        else:
            hybrid = q
    # Straight-through: forward with the hybrid, gradient to the full-precision weight.
    return (w2d + (hybrid - w2d).detach()).reshape(weight.shape)


class QConv2d(nn.Conv2d):
    def __init__(self, mode, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = mode

    def forward(self, x):
        return self._conv_forward(x, effective_weight(self.weight, self.mode), self.bias)


class QLinear(nn.Linear):
    def __init__(self, mode, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = mode

    def forward(self, x):
        return F.linear(x, effective_weight(self.weight, self.mode), self.bias)


# ---- the networks (as apps/step_bench builds them) ----

def vgg9(mode, in_channels=3, classes=10):
    layers, c = [], in_channels
    for width in (64, 128, 256):
        for _ in range(2):
            layers += [QConv2d(mode, c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            c = width
        layers += [nn.MaxPool2d(2, 2), nn.Dropout(0.25)]
    layers += [nn.Flatten()]
    f = 256 * 4 * 4
    for _ in range(2):
        layers += [QLinear(mode, f, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(inplace=True), nn.Dropout(0.5)]
        f = 512
    layers += [QLinear(mode, 512, classes)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, mode, cin, cout, stride):
        super().__init__()
        self.conv1 = QConv2d(mode, cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = QConv2d(mode, cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(QConv2d(mode, cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def resnet(depth, mode, in_channels=3, classes=10):
    n = (depth - 2) // 6
    layers = [QConv2d(mode, in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)]
    c = 16
    for stage, width in enumerate((16, 32, 64)):
        for b in range(n):
            layers.append(BasicBlock(mode, c, width, 2 if stage > 0 and b == 0 else 1))
            c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), QLinear(mode, 64, classes)]
    return nn.Sequential(*layers)


def small_cnn(mode, in_channels=3, classes=10):
    layers, c = [], in_channels
    for i, width in enumerate((8, 16, 32)):
        layers += [QConv2d(mode, c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        if i < 2:
            layers += [nn.MaxPool2d(2, 2)]
        c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), QLinear(mode, 32, classes)]
    return nn.Sequential(*layers)


def build(arch, mode):
    if arch == "vgg9":
        return vgg9(mode)
    if arch == "small_cnn":
        return small_cnn(mode)
    if arch.startswith("resnet"):
        return resnet(int(arch[6:]), mode)
    raise SystemExit(f"unknown arch {arch}")


def method_mode(method, ratio):
    if method == "fwn":
        return WeightMode()
    if method.startswith("sq-"):
        return WeightMode(method[3:], ratio)
    return WeightMode(method, 1.0)


def time_steps(arch, method, args, device):
    torch.manual_seed(1)
    model = build(arch, method_mode(method, args.ratio)).to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.rand(args.batch, 3, 32, 32, device=device) * 2 - 1
    y = torch.arange(args.batch, device=device) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    times = []
    if device.type == "cuda":
        events = [torch.cuda.Event(enable_timing=True) for _ in range(args.iters + 1)]
        events[0].record()
        for i in range(args.iters):
            loss = step()
            events[i + 1].record()
        torch.cuda.synchronize()
        times = [events[i].elapsed_time(events[i + 1]) for i in range(args.iters)]
    else:
        for _ in range(args.iters):
            t0 = time.perf_counter()
            loss = step()
            times.append((time.perf_counter() - t0) * 1000.0)
    loss = float(loss)
    if not math.isfinite(loss):
        raise SystemExit(f"{arch} {method}: loss became {loss}")
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--arch", nargs="+", default=["vgg9", "resnet56"])
    ap.add_argument("--methods", nargs="+", default=["fwn", "twn", "sq-twn"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--ratio", type=float, default=0.5)
    ap.add_argument("--math", choices=["tf32", "fp32"], default="tf32")
    ap.add_argument("--json", default="")
    ap.add_argument("--threads", type=int, default=0, help="CPU: torch.set_num_threads (0: PyTorch's default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    tf32 = args.math == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest algorithms
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"PyTorch {torch.__version__} eager on {name}: batch {args.batch}, {args.warmup} warm-up + {args.iters} "
          f"timed steps, math {args.math}")
    results = {}
    for arch in args.arch:
        for method in args.methods:
            med, best = time_steps(arch, method, args, device)
            results[(arch, method)] = med
            print(f"{arch:<10} {method:<8} median {med:10.3f} ms  min {best:10.3f} ms  "
                  f"{args.batch / (med / 1000.0):9.1f} images/s", flush=True)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps({"bench": "train_step", "impl": "pytorch-eager", "arch": arch,
                                          "method": method, "device": name, "batch": args.batch,
                                          "iters": args.iters, "median_ms": med, "min_ms": best}) + "\n")
        for method in args.methods:
            if method.startswith("sq-") and (arch, method[3:]) in results:
                over = 100.0 * (results[(arch, method)] / results[(arch, method[3:])] - 1.0)
                print(f"{arch:<10} {method} over {method[3:]}: {over:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
