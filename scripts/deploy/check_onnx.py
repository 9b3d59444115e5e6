#!/usr/bin/env python3
"""Checks an ONNX model written by sqm_to_onnx.py against SQ-CUDA's own logits (used by tests/deploy).

Usage: check_onnx.py MODEL.onnx IMAGES.f32 REF_LOGITS.f32 [LABELS.i32]
       check_onnx.py --batch MANIFEST.json   (a list of {"sqm", "onnx", "images", "ref"}: converts each .sqm with
                                             sqm_to_onnx.py first; prints a JSON list; one interpreter for all)
IMAGES: raw little-endian float32 [N, C, H, W] (normalised inputs); REF_LOGITS: float32 [N, classes] from
sq_infer; LABELS: int32 [N]. Runs onnx.checker (full check) and onnxruntime on the CPU; prints one JSON object:
max_rel_error (max |ort - ref| / max(|ref|, 1) elementwise over logits), argmax_agree, ort_correct, ref_correct,
weight_types (the initializer types feeding DequantizeLinear).
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(model_path, images_path, ref_path, labels_path=None):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    images = np.fromfile(images_path, dtype="<f4").reshape([-1] + dims)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"input": images})[0]
    ref = np.fromfile(ref_path, dtype="<f4").reshape(logits.shape)
    rel = np.abs(logits - ref) / np.maximum(np.abs(ref), 1.0)
    inits = {i.name: i.data_type for i in model.graph.initializer}
    types = sorted({onnx.TensorProto.DataType.Name(inits[n.input[0]]) for n in model.graph.node
                    if n.op_type == "DequantizeLinear"})
    out = {"images": int(images.shape[0]), "max_rel_error": float(rel.max()),
           "argmax_agree": int((logits.argmax(1) == ref.argmax(1)).sum()), "weight_types": types,
           "ops": sorted({n.op_type for n in model.graph.node}), "onnxruntime": ort.__version__}
    out["onnx_bytes"] = os.path.getsize(model_path)
    if labels_path:
        labels = np.fromfile(labels_path, dtype="<i4")
        out["ort_correct"] = int((logits.argmax(1) == labels).sum())
        out["ref_correct"] = int((ref.argmax(1) == labels).sum())
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == "--batch":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import sqm_to_onnx
        results = []
        with open(argv[2]) as f:
            for case in json.load(f):
                sqm_to_onnx.convert(case["sqm"], case["onnx"], case.get("int8", False))
                results.append(dict(check(case["onnx"], case["images"], case["ref"]), name=case.get("name", "")))
        print(json.dumps(results))
        return
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    print(json.dumps(check(*argv[1:])))


if __name__ == "__main__":
    main(sys.argv)
