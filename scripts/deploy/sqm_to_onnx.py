#!/usr/bin/env python3
"""Converts an SQ-CUDA packed model (.sqm) to ONNX with the onnx package (standard operators only).

Quantized weights become DequantizeLinear(low-bit integer initializer, per-output-channel fp32 scale, zero point
0, axis 0): INT4 for 1..4-bit codes (BWN, TWN, k-bit <= 4; opset 21, onnxruntime >= 1.18 executes it), INT8 for
5..8 bits or with --int8. BatchNorm in its inference form is Mul + Add (per-channel scale and shift); Dropout is
absent (inference). Usage: sqm_to_onnx.py MODEL.sqm OUT.onnx [--int8]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqm_reader  # noqa: E402

OPSET = 21


def pack_int4(values):
    """ONNX INT4 raw data: two's complement nibbles, element 2i in the low nibble of byte i (padded with 0)."""
    nibbles = (np.asarray(values).astype(np.int8).flatten() & 0x0F).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return (nibbles[0::2] | (nibbles[1::2] << 4)).tobytes()


class Builder:
    def __init__(self, tensors, force_int8):
        self.tensors = tensors
        self.force_int8 = force_int8
        self.nodes, self.inits = [], []
        self.count = 0

    def fresh(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def init(self, name, array):
        self.inits.append(onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weight(self, op):
        name, shape = op["name"], op["shape"]
        rows = shape[0]
        cols = int(np.prod(shape[1:]))
        if not op["quantized"]:
            return self.init(name + ".weight", self.tensors[name + ".weight"].astype(np.float32).reshape(shape))
        bits = op["bits"]
        levels = sqm_reader.decode_levels(self.tensors[name + ".weight.codes"], cols, bits).reshape(shape)
        scale = self.tensors[name + ".weight.scale"].astype(np.float32)
        if bits <= 4 and not self.force_int8:
            q = helper.make_tensor(name + ".weight.q", TensorProto.INT4, shape, pack_int4(levels), raw=True)
            zp = helper.make_tensor(name + ".weight.zp", TensorProto.INT4, [rows], pack_int4(np.zeros(rows)), raw=True)
            self.inits.extend([q, zp])
        else:
            self.init(name + ".weight.q", levels.astype(np.int8))
            self.init(name + ".weight.zp", np.zeros(rows, np.int8))
        self.init(name + ".weight.scale", scale)
        return self.node("DequantizeLinear", [name + ".weight.q", name + ".weight.scale", name + ".weight.zp"],
                         name + ".weight", axis=0)

    def sequence(self, ops, x, rank):
        for op in ops:
            kind = op["op"]
            if kind == "conv":
                inputs = [x, self.weight(op)]
                if op["bias"]:
                    inputs.append(self.init(op["name"] + ".bias", self.tensors[op["name"] + ".bias"]))
                k, s, p = op["kernel"], op["stride"], op["pad"]
                x = self.node("Conv", inputs, op["name"], kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
            elif kind == "linear":
                inputs = [x, self.weight(op)]
                if op["bias"]:
                    inputs.append(self.init(op["name"] + ".bias", self.tensors[op["name"] + ".bias"]))
                x = self.node("Gemm", inputs, op["name"], transB=1)
            elif kind == "bn":
                c = op["channels"]
                shape = [1, c, 1, 1] if rank == 4 else [1, c]
                scale = self.init(op["name"] + ".scale", self.tensors[op["name"] + ".scale"].reshape(shape))
                shift = self.init(op["name"] + ".shift", self.tensors[op["name"] + ".shift"].reshape(shape))
                x = self.node("Add", [self.node("Mul", [x, scale], op["name"] + ".mul"), shift], op["name"])
            elif kind == "relu":
                x = self.node("Relu", [x], "relu")
            elif kind == "maxpool":
                k, s = op["kernel"], op["stride"]
                x = self.node("MaxPool", [x], "maxpool", kernel_shape=[k, k], strides=[s, s])
            elif kind == "gap":
                x = self.node("Flatten", [self.node("GlobalAveragePool", [x], "gap")], "gap_flat", axis=1)
                rank = 2
            elif kind == "flatten":
                x = self.node("Flatten", [x], "flatten", axis=1)
                rank = 2
            elif kind == "block":
                main, _ = self.sequence(op["body"], x, rank)
                short, _ = self.sequence(op["shortcut"], x, rank)
                x = self.node("Relu", [self.node("Add", [main, short], op["name"] + ".add")], op["name"])
            else:
                raise ValueError(f"unknown op {kind}")
        return x, rank


def convert(sqm_path, onnx_path, force_int8=False):
    metadata, tensors, graph = sqm_reader.load(sqm_path)
    spec = __import__("json").loads(metadata["model"])
    b = Builder(tensors, force_int8)
    out, _ = b.sequence(graph, "input", 4)
    b.nodes.append(helper.make_node("Identity", [out], ["logits"], name="logits"))
    size = spec["image_size"]
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", spec["in_channels"], size, size])
    outp = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", spec["classes"]])
    g = helper.make_graph(b.nodes, f"sq_{metadata['arch']}_{metadata['quantizer']}", [inp], [outp], b.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sq-cuda")
    model.ir_version = 10  # the IR version of opset 21 (onnx 1.16); onnxruntime >= 1.18 reads it
    for key in ("arch", "quantizer", "bits", "dataset", "normalization", "folded_bn"):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, metadata.get(key, "")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, onnx_path)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--int8"]
    if len(args) != 2:
        sys.exit(__doc__)
    try:
        convert(args[0], args[1], "--int8" in sys.argv)
    except (ValueError, KeyError) as e:
        sys.exit(f"sqm_to_onnx.py: error: {args[0]}: {e}")
