#!/usr/bin/env python3
"""Writes a tiny ImageNet-shaped folder for the ImageNet tests (tests/imagenet), with PIL (Debian's python3-pil):

  <out>/train/n0000000{0..5}/*.JPEG    smooth colour images of odd sizes (6 in classes 0-2, 2 in 3-5; six classes
                                       so that top-5 error means something); in class 1 one greyscale and one CMYK
                                       JPEG, one PNG named .JPEG, one file of random bytes named .JPEG
  <out>/val/*.JPEG + <out>/val.txt     flat validation folder with a Caffe-style ground-truth file
  <out>/val_folders/<wnid>/*.JPEG      the same validation images in class folders
  <out>/reference/<name>.rgb           PIL's decoding of every good file as RGB (raw HWC bytes), and
  <out>/reference/<name>.half.rgb      PIL's draft() decoding at scale 1/2 (libjpeg's DCT scaling)
  <out>/reference/sizes.txt            "<name> <width> <height> <half_width> <half_height>" per reference

Usage: make_tiny_imagenet.py <out>
"""
import math
import os
import random
import sys

from PIL import Image

SIZES = [(37, 53), (100, 61), (64, 64), (129, 97), (80, 45), (51, 77), (90, 90), (47, 120)]
CLASSES = ["n00000000", "n00000001", "n00000002", "n00000003", "n00000004", "n00000005"]


def smooth_image(w, h, seed):
    rnd = random.Random(seed)
    a, b, c = (rnd.uniform(0.02, 0.2) for _ in range(3))
    p, q = rnd.uniform(0, 6), rnd.uniform(0, 6)
    data = bytearray()
    for y in range(h):
        for x in range(w):
            data += bytes((int(127 + 120 * math.sin(a * x + p)), int(127 + 120 * math.cos(b * y + q)),
                           int(127 + 120 * math.sin(c * (x + y)))))
    return Image.frombytes("RGB", (w, h), bytes(data))


def save_reference(path, ref_dir, sizes):
    name = os.path.basename(path)
    with Image.open(path) as im:
        full = im.convert("RGB")
        with open(os.path.join(ref_dir, name + ".rgb"), "wb") as f:
            f.write(full.tobytes())
    with Image.open(path) as im:
        im.draft(im.mode, (math.ceil(im.width / 2), math.ceil(im.height / 2)))
        half = im.convert("RGB")
        with open(os.path.join(ref_dir, name + ".half.rgb"), "wb") as f:
            f.write(half.tobytes())
    sizes.append("%s %d %d %d %d" % (name, full.width, full.height, half.width, half.height))


def main(out):
    ref_dir = os.path.join(out, "reference")
    for d in [ref_dir, os.path.join(out, "val")] + [os.path.join(out, "train", c) for c in CLASSES]:
        os.makedirs(d, exist_ok=True)
    sizes = []
    for ci, wnid in enumerate(CLASSES):
        for k in range(6 if ci < 3 else 2):
            w, h = SIZES[(ci * 3 + k) % len(SIZES)]
            path = os.path.join(out, "train", wnid, "%s_%d.JPEG" % (wnid, k))
            smooth_image(w, h, ci * 100 + k).save(path, quality=90)
            save_reference(path, ref_dir, sizes)
    odd = os.path.join(out, "train", CLASSES[1])
    gray = os.path.join(odd, "%s_gray.JPEG" % CLASSES[1])
    smooth_image(61, 43, 7).convert("L").save(gray, quality=90)
    save_reference(gray, ref_dir, sizes)
    cmyk = os.path.join(odd, "%s_cmyk.JPEG" % CLASSES[1])
    smooth_image(58, 71, 8).convert("CMYK").save(cmyk, quality=90)
    save_reference(cmyk, ref_dir, sizes)
    smooth_image(40, 40, 9).save(os.path.join(odd, "%s_png.JPEG" % CLASSES[1]), format="PNG")
    with open(os.path.join(odd, "%s_corrupt.JPEG" % CLASSES[1]), "wb") as f:
        f.write(bytes(random.Random(10).randrange(256) for _ in range(3000)))
    lines = []
    for i in range(7):
        label = i % len(CLASSES)
        name = "ILSVRC2012_val_%08d.JPEG" % (i + 1)
        w, h = SIZES[(i + 5) % len(SIZES)]
        img = smooth_image(w, h, 1000 + i)
        img.save(os.path.join(out, "val", name), quality=90)
        folder = os.path.join(out, "val_folders", CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        img.save(os.path.join(folder, name), quality=90)
        lines.append("%s %d" % (name, label))
    with open(os.path.join(out, "val.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(ref_dir, "sizes.txt"), "w") as f:
        f.write("\n".join(sizes) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
