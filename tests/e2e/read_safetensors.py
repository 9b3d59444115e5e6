#!/usr/bin/env python3
"""A plain safetensors reader (struct + json only, no safetensors package): proves SQ-CUDA checkpoints load in
Python. Prints one JSON object: {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}.

Usage: read_safetensors.py FILE [--max-values N]   (values of larger tensors are summarised by count and sum)
When the metadata has "tensor_crc32" (SQ-CUDA checkpoints from format version 2), every tensor's bytes are checked
against its CRC-32 (zlib's).
"""
import json
import struct
import sys
import zlib

FORMATS = {"F32": ("f", 4), "I32": ("i", 4), "U8": ("B", 1), "F64": ("d", 8), "I64": ("q", 8)}


def read(path, max_values):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{path}: header length {header_len} exceeds the file")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    sums = json.loads(metadata["tensor_crc32"]) if "tensor_crc32" in metadata else None
    tensors = {}
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        if begin != covered:
            raise ValueError(f"{path}: tensor {name} does not start where the previous one ends")
        covered = end
        code, size = FORMATS[info["dtype"]]
        count = 1
        for d in info["shape"]:
            count *= d
        if end - begin != count * size:
            raise ValueError(f"{path}: tensor {name} has {end - begin} bytes for {count} elements")
        if sums is not None and sums.get(name) != f"{zlib.crc32(data[begin:end]):08x}":
            raise ValueError(f"{path}: tensor {name} fails its CRC-32 checksum")
        values = struct.unpack(f"<{count}{code}", data[begin:end])
        entry = {"dtype": info["dtype"], "shape": info["shape"], "count": count, "sum": float(sum(values))}
        if count <= max_values:
            entry["values"] = list(values)
        tensors[name] = entry
    if covered != len(data):
        raise ValueError(f"{path}: {len(data) - covered} bytes after the last tensor")
    return {"metadata": metadata, "tensors": tensors}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    max_values = 64
    if len(sys.argv) == 4 and sys.argv[2] == "--max-values":
        max_values = int(sys.argv[3])
    json.dump(read(sys.argv[1], max_values), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
