#!/usr/bin/env python3
"""Writes configs/*.json: the paper's experiments (SQ_SPEC section 8, and ImageNet from the authors' Caffe solvers
in dongyp13/Stochastic-Quantization, ImageNet/<net>/<method>/solver*.prototxt) and the quick CPU configs.

Run from the repository root after changing a setting here: python3 scripts/make_configs.py
The files are committed; train_cifar reads them (train_cifar --config configs/<name>.json).
"""
import json
import os

METHODS = {  # method -> (quantizer, stages)
    "fwn": ("none", [1.0]),
    "bwn": ("bwn", [1.0]),
    "twn": ("twn", [1.0]),
    "sq-bwn": ("bwn", [0.5, 0.75, 0.875, 1.0]),
    "sq-twn": ("twn", [0.5, 0.75, 0.875, 1.0]),
}
DATASETS = ["cifar10", "cifar100", "fashion-mnist"]

# SQ_SPEC section 8 (the authors' Caffe solvers).
ARCHS = {
    "vgg9": {"batch": 100, "iterations": 100000, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
             "schedule": "step", "step_size": 15000, "gamma": 0.1, "milestones": []},
    "resnet56": {"batch": 128, "iterations": 64000, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                 "schedule": "multistep", "step_size": 0, "gamma": 0.1, "milestones": [32000, 48000]},
}

# ImageNet (the authors' solvers; every SQ stage is a full run of `iterations`, as their train.sh chains them).
# Caffe's training batch (ResNet-18 100, AlexNet-BN 256) and test batch (50, 200: 50000 / test_iter); weight decay
# 5e-5; multistep gamma 0.1. Inputs 224x224 for both (the Caffe data layers' crop_size).
IMAGENET_ARCHS = {
    "resnet18": ({"batch": 100, "iterations": 300000, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-5,
                  "schedule": "multistep", "step_size": 0, "gamma": 0.1,
                  "milestones": [100000, 150000, 200000, 250000]}, 50),
    "alexnet_bn": ({"batch": 256, "iterations": 200000, "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-5,
                    "schedule": "multistep", "step_size": 0, "gamma": 0.1,
                    "milestones": [100000, 150000, 180000]}, 200),
}
IMAGENET_NAMES = {"resnet18": "resnet18", "alexnet_bn": "alexnet-bn"}


def config(name, arch, method, dataset, optim, run, data_extra=None, model_extra=None, comment=None):
    quantizer, stages = METHODS[method]
    data = {"dataset": dataset, "dir": "", "train_limit": 0, "test_limit": 0, "crop": True, "flip": True,
            "eval_batch": 200}
    data.update(data_extra or {})
    model = {"arch": arch, "quantize_first": True, "quantize_last": True, "dropout_scale": 1.0, "decay_1d": True}
    model.update(model_extra or {})
    out = {}
    if comment:
        out["comment"] = comment
    out.update({
        "name": name,
        "model": model,
        "data": data,
        "quant": {"method": method, "quantizer": quantizer, "bits": 2, "probability": "linear", "sampler": "topk",
                  "granularity": "channel", "stages": stages},
        "optim": dict(optim, min_lr=0.0, warmup_iters=0, warmup_start=0.0),
        "run": dict({"seed": 1, "device": "auto", "output": "", "log_every": 100, "checkpoint_every": 5000,
                     "eval_every_epochs": 1, "eval_seed": 20170904, "bn_recalibrate_batches": 32, "math": "tf32",
                     "deterministic": False,
                     "cuda_graph": True, "max_steps": 0}, **run),
    })
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")
    os.makedirs(root, exist_ok=True)
    written = []
    for arch, optim in ARCHS.items():
        for method in METHODS:
            for dataset in DATASETS:
                name = f"{arch}-{method}-{dataset}"
                written.append((name, config(name, arch, method, dataset, optim, {})))
    # Equal-budget baselines (configs/grids/budget.json): BWN and TWN trained in one stage for as many steps as
    # their 4-stage SQ counterparts, the same schedule shape stretched 4x (step size and milestones too).
    for arch, optim in ARCHS.items():
        stretched = dict(optim, iterations=4 * optim["iterations"], step_size=4 * optim["step_size"],
                         milestones=[4 * m for m in optim["milestones"]])
        for method in ("bwn", "twn"):
            for dataset in DATASETS:
                name = f"{arch}-{method}-4x-{dataset}"
                written.append((name, config(name, arch, method, dataset, stretched, {},
                                             comment=f"{method} for SQ's budget: 4x the iterations of {arch}-sq-"
                                                     f"{method}-{dataset}'s 4 stages, schedule stretched 4x")))
    for arch, (optim, eval_batch) in IMAGENET_ARCHS.items():
        for method in METHODS:
            name = f"imagenet-{IMAGENET_NAMES[arch]}-{method}"
            written.append((name, config(name, arch, method, "imagenet", optim,
                                         {"log_every": 200, "checkpoint_every": 10000},
                                         data_extra={"eval_batch": eval_batch, "image_size": 224,
                                                     "classes_limit": 0, "on_bad_image": "skip"},
                                         comment="ImageNet: the authors' Caffe solver; data in data/imagenet "
                                                 "(train/<wnid>/*.JPEG, val/); docs/IMAGENET.md")))
    # Quick configs: a small CNN on Fashion-MNIST that trains in minutes on a 2-core CPU (scripts/train.sh uses
    # quick-sq-twn-fashion-mnist when no GPU is visible). Shorter stages, cosine schedule, no augmentation.
    quick_optim = {"batch": 64, "iterations": 3000, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                   "schedule": "cosine", "step_size": 0, "gamma": 0.1, "milestones": []}
    quick_run = {"log_every": 100, "checkpoint_every": 1000}
    for method in METHODS:
        name = f"quick-{method}-fashion-mnist"
        written.append((name, config(name, "small_cnn", method, "fashion-mnist", quick_optim, quick_run,
                                     data_extra={"crop": False, "flip": False},
                                     comment="CPU-sized: small_cnn, short cosine stages; minutes on 2 cores")))
    for name, cfg in written:
        with open(os.path.join(root, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
    print(f"wrote {len(written)} configs to {os.path.normpath(root)}")


if __name__ == "__main__":
    main()
