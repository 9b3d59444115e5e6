#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/seed-*) and dictionaries (fuzz/dict/<target>.dict).

Seeds are small valid inputs in each target's input layout (see the comment at the top of fuzz/fuzz_<target>.cpp),
a few KB each, so the fuzzer starts from files that pass every check and mutates from there. Dictionaries hold the
keys and option names read from the sources, so they follow the parsers when keys are added. Deterministic: running
it again rewrites the same bytes. Saved findings (fuzz/corpus/<target>/finding-*) are left alone.
Usage: fuzz/make_corpus.py  (from anywhere; writes next to this file)
"""
import gzip
import json
import re
import struct
import zlib
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent


def write(target, name, data):
    folder = FUZZ / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + name)).write_bytes(data)


def pattern(n, seed):  # deterministic bytes (an LCG), like tests/data/data_files.hpp
    out, x = bytearray(), seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# IDX: [classes-1][flags][labels length u16 LE][labels file][images file]; flags bits 0/1 name the files .gz.
def idx_pair(count, rows, cols, classes):
    labels = struct.pack(">II", 0x801, count) + bytes((i * 3) % classes for i in range(count))
    images = struct.pack(">IIII", 0x803, count, rows, cols) + pattern(count * rows * cols, 11)
    return labels, images


def idx_input(classes, flags, labels, images):
    return bytes([classes - 1, flags]) + struct.pack("<H", len(labels)) + labels + images


def idx_seeds():
    for name, (count, rows, cols, classes) in {"4x5x3": (4, 5, 3, 10), "2x28x28": (2, 28, 28, 10),
                                               "1x1x1": (1, 1, 1, 1), "3x8x8-256": (3, 8, 8, 256)}.items():
        labels, images = idx_pair(count, rows, cols, classes)
        write("idx", "raw-" + name, idx_input(classes, 0, labels, images))
        write("idx_gzip", name, idx_input(classes, 0, labels, images))
        write("idx_gzip", name + "-gz-names", idx_input(classes, 3, labels, images))
        if count * rows * cols < 1000:
            write("idx", "gzip-" + name, idx_input(classes, 3, gz(labels), gz(images)))
            write("idx", "mixed-" + name, idx_input(classes, 2, labels, gz(images)))


# CIFAR: [format][file count][file bytes]; format bit 0 CIFAR-100 (bit 1 coarse), bits 2-3 records per file - 1.
def cifar_seeds():
    pixels = pattern(3 * 32 * 32, 5)
    write("cifar", "cifar10-1", bytes([0, 0]) + bytes([7]) + pixels)
    write("cifar", "cifar100-fine-1", bytes([1, 0]) + bytes([19, 99]) + pixels)
    write("cifar", "cifar100-coarse-1", bytes([3, 0]) + bytes([0, 0]) + pixels)
    write("cifar", "cifar10-2files", bytes([0, 1]) + bytes([1]) + pixels + bytes([9]) + pixels[::-1])


def config_seeds():
    for path in sorted((ROOT / "configs").glob("*.json"))[:4]:
        write("config_json", path.name, path.read_bytes())
    write("config_json", "minimal.json", b'{"name": "x", "optim": {"batch": 8, "iterations": 10}}')
    write("config_json", "kbit.json",
          b'{"quant": {"method": "sq-kbit", "bits": 4, "stages": [0.5, 1.0]}, // comment\n'
          b' "optim": {"schedule": "multistep", "milestones": [10, 20]}}')
    write("config_json", "empty-object.json", b"{}")
    cli = {
        "defaults": [],
        "method": ["--method", "sq-twn", "--stages", "0.5,0.75,1", "--batch", "32", "--lr=0.05"],
        "schedule": ["--schedule", "multistep", "--milestones", "100,200", "--iterations", "300", "--gamma", "0.2"],
        "run": ["--device", "cpu", "--seed", "7", "--output", "runs/x", "--max-steps", "5", "--math", "fp32"],
        "data": ["--dataset", "fashion-mnist", "--train-limit", "1000", "--crop", "false", "--eval-batch", "100"],
        "help": ["--help"],
        "kbit": ["--quantizer", "kbit", "--bits", "3", "--probability", "softmax", "--sampler", "roulette"],
    }
    for name, args in cli.items():
        write("config_cli", name, "\n".join(args).encode())


# safetensors: u64 LE header length, JSON header (tensors + __metadata__), tensor bytes.
def safetensors(tensors, metadata):
    header, data = {"__metadata__": metadata}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def checkpoint_seeds():
    config = json.loads((sorted((ROOT / "configs").glob("quick-*.json")) or [None])[0].read_text())
    metadata = {"format": "sq-cuda-checkpoint", "format_version": "1", "arch": "small_cnn", "classes": "10",
                "stage": "0", "sq_ratio": "0.5", "epoch": "1", "step": "20", "global_step": "20", "rng_seed": "1",
                "rng_counter": "20", "stage_complete": "0", "config": json.dumps(config, separators=(",", ":"))}
    w = struct.pack("<4f", 0.5, -0.25, 1.0, 2.0)
    tensors = {"w": ("F32", [2, 2], w), "step": ("I32", [1], struct.pack("<i", 20))}
    write("checkpoint", "small", safetensors(tensors, metadata))
    # Format version 2: every tensor's CRC-32 in metadata 'tensor_crc32' (a JSON object of 8-digit hex strings).
    sums = {name: f"{zlib.crc32(raw):08x}" for name, (_, _, raw) in tensors.items()}
    write("checkpoint", "small-v2", safetensors(tensors, dict(metadata, format_version="2",
                                                              tensor_crc32=json.dumps(sums))))
    write("checkpoint", "u8-empty", safetensors({"mask": ("U8", [3], b"\x01\x00\x01"), "none": ("F32", [0], b"")},
                                                {"format": "sq-cuda-checkpoint"}))
    write("checkpoint", "wrong-shape", safetensors({"w": ("F32", [4], w)}, {"format": "sq-cuda-checkpoint",
                                                                          "format_version": "1"}))


def dict_entry(text):  # libFuzzer dictionary syntax: "bytes" with \\, \" and \xHH escapes
    out = ""
    for c in text.encode():
        out += "\\" + chr(c) if c in b'"\\' else chr(c) if 32 <= c < 127 else f"\\x{c:02x}"
    return f'"{out}"'


def write_dict(target, entries):
    (FUZZ / "dict").mkdir(exist_ok=True)
    (FUZZ / "dict" / f"{target}.dict").write_text("".join(dict_entry(e) + "\n" for e in entries))


def dictionaries():
    config_src = (ROOT / "src/train/run_config.cpp").read_text()
    keys = sorted(set(re.findall(r'(?:read|find)\("([a-z_0-9]+)"', config_src)))
    values = ["true", "false", "null", "[]", "{}", "0", "-1", "1e308", "4294967360", "18446744073709551615",
              "0.5", "//", "/*"]
    names = sorted(set(re.findall(r'"((?:sq-)?(?:fwn|bwn|twn|kbit|twn-caffe|twn-channel|vgg9|resnet\d+|small_cnn|'
                                  r'cifar10|cifar100|fashion-mnist|topk|roulette|linear|softmax|cosine|step|'
                                  r'multistep|constant))"', config_src)))
    write_dict("config_json", [f'"{k}"' for k in keys] + values + [f'"{n}"' for n in names])
    cli_src = (ROOT / "src/train/run_config_cli.cpp").read_text()
    options = sorted(set(re.findall(r'"(--[a-z0-9-]+)', cli_src)))
    write_dict("config_cli", options + ["\n", "=", ",", "-1", "99999999999999999999", "1e9"])
    ckpt = ["__metadata__", "dtype", "shape", "data_offsets", "F32", "I32", "U8", "format", "format_version",
            "config", "sq-cuda-checkpoint", "global_step", "rng_counter", "tensor_crc32"]
    write_dict("checkpoint", [f'"{k}"' for k in ckpt])


if __name__ == "__main__":
    idx_seeds()
    cifar_seeds()
    config_seeds()
    checkpoint_seeds()
    dictionaries()
    for folder in sorted((FUZZ / "corpus").iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
