"""Reads an SQ-CUDA packed model (.sqm, docs/DEPLOY.md) with numpy only: safetensors container, metadata, and
the codes decoded to integer levels (layout: include/sq/deploy/packed_codes.hpp)."""
import json
import struct

import numpy as np

DTYPES = {"F32": np.float32, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{path}: header length {header_len} exceeds the file (truncated?)")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if end > len(data):
            raise ValueError(f"{path}: tensor {name} ends past the data (truncated?)")
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return metadata, tensors


def decode_levels(codes, cols, bits):
    """U8 [rows, row_bytes] -> int8 levels [rows, cols]. bits = 1: bit 1 is +1, bit 0 is -1; bits >= 2: two's
    complement levels, LSB first."""
    rows = codes.shape[0]
    bitplane = np.unpackbits(codes, axis=1, bitorder="little")[:, :cols * bits].reshape(rows, cols, bits)
    if bits == 1:
        return (2 * bitplane[:, :, 0].astype(np.int16) - 1).astype(np.int8)
    code = (bitplane.astype(np.int32) << np.arange(bits, dtype=np.int32)).sum(axis=2)
    return (code - (code >= (1 << (bits - 1))) * (1 << bits)).astype(np.int8)


def load(path):
    metadata, tensors = read_safetensors(path)
    if metadata.get("format") != "sq-cuda-packed":
        raise ValueError(f"{path}: not an SQ-CUDA packed model (metadata 'format')")
    return metadata, tensors, json.loads(metadata["graph"])
