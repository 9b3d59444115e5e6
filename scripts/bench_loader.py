#!/usr/bin/env python3
"""The loader benchmark's peer and its data (docs/PERFORMANCE.md, "ImageNet loader").

  bench_loader.py make <dir> [--count N]   writes N ImageNet-like JPEGs (500x375 mostly, quality 90, textured)
                                            into <dir>/<class>/ (4 classes)
  bench_loader.py torch <dir> [--epochs E]  images/s of PIL + torchvision's RandomResizedCrop(224),
                                            RandomHorizontalFlip, ToTensor, Normalize in one process (one core),
                                            or the same transforms written with PIL alone when torchvision is
                                            missing (Debian: python3-torchvision)
Compare with build/apps/loader_bench/loader_bench --data <dir> --threads 1 2.
"""
import argparse
import os
import random
import statistics
import sys
import time

from PIL import Image, ImageFilter


def make(out, count):
    rnd = random.Random(1)
    sizes = [(500, 375), (500, 375), (500, 333), (375, 500), (640, 480), (500, 500), (800, 600)]
    for i in range(count):
        cls = os.path.join(out, "c%d" % (i % 4))
        os.makedirs(cls, exist_ok=True)
        w, h = sizes[i % len(sizes)]
        noise = Image.effect_noise((w, h), 60).convert("RGB")
        base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
        tint = Image.new("RGB", (w, h), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
        img = Image.blend(Image.blend(base, tint, 0.5), noise, 0.35).filter(ImageFilter.SMOOTH)
        img.save(os.path.join(cls, "img_%05d.JPEG" % i), quality=90)
    print("wrote %d JPEGs to %s" % (count, out))


def pil_only_transform(mean, std):
    import math

    def rrc(img, rnd):
        w, h = img.size
        area = w * h
        for _ in range(10):
            target = area * rnd.uniform(0.08, 1.0)
            aspect = math.exp(rnd.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                x, y = rnd.randint(0, w - cw), rnd.randint(0, h - ch)
                return img.resize((224, 224), Image.BILINEAR, box=(x, y, x + cw, y + ch))
        return img.resize((224, 224), Image.BILINEAR)

    def apply(img, rnd):
        img = rrc(img, rnd)
        if rnd.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        # ToTensor + Normalize without numpy: per-band point() to float is not available, so bytes -> floats.
        data = img.tobytes()
        return [(data[i] / 255.0 - mean[i % 3]) / std[i % 3] for i in range(0, len(data), 97)]  # sampled

    return apply


def torch_bench(root, epochs):
    files = []
    for cls in sorted(os.listdir(root)):
        for f in sorted(os.listdir(os.path.join(root, cls))):
            files.append(os.path.join(root, cls, f))
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    try:
        import torch
        import torchvision.transforms as T

        torch.set_num_threads(1)
        transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                               T.Normalize(mean, std)])
        kind = "PIL + torchvision %s" % __import__("torchvision").__version__
        run = lambda img, rnd: transform(img)  # noqa: E731
    except ImportError:
        kind = "PIL alone (no torchvision; normalisation sampled, so an upper bound)"
        run = pil_only_transform(mean, std)
    rnd = random.Random(0)
    rates, per_cpu = [], []
    for e in range(epochs + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        for path in files:
            with Image.open(path) as im:
                run(im.convert("RGB"), rnd)
        rate = len(files) / (time.perf_counter() - start)
        cpu_rate = len(files) / (time.process_time() - cpu_start)
        if e > 0:
            rates.append(rate)
            per_cpu.append(cpu_rate)
    print("%s, one process, one thread: %.1f images/s wall, %.1f images per CPU-second (medians of %d epochs of "
          "%d images)" % (kind, statistics.median(rates), statistics.median(per_cpu), epochs, len(files)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--count", type=int, default=256)
    t = sub.add_parser("torch")
    t.add_argument("dir")
    t.add_argument("--epochs", type=int, default=3)
    a = p.parse_args()
    if a.cmd == "make":
        make(a.dir, a.count)
    else:
        torch_bench(a.dir, a.epochs)


if __name__ == "__main__":
    sys.exit(main())
