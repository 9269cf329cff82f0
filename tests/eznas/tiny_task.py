"""Writes tiny EZNAS task datasets (manifest + safetensors shards, the format of
``zcnas.eznas.shards``) for the eznas-core tests. The statistics are small random tensors
(synthetic, never presented as benchmark data); the ground truth is the real NAS-Bench-201
CIFAR-10 test accuracy of the sampled architectures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zcnas.eznas import TERMINALS

SHAPES = [(2, 4), (4, 4), (2, 8), (4, 2)]  # (channels, spatial side) per instance


def instances_for(rng: np.random.Generator, n_inst: int, scale: float) -> list[dict]:
    out = []
    for i in range(n_inst):
        c, h = SHAPES[i % len(SHAPES)]
        inst = {}
        for name in TERMINALS:
            shape = (c, c, 3, 3) if name.startswith("T3") else (1, c, h, h)
            inst[name] = rng.normal(size=shape) * (scale if name.endswith("D") else 1.0)
        out.append(inst)
    return out


def write_task(
    out: Path, n_nets: int, seed: int, dtype: str = "float32", n_inst: int = 3
) -> list[list[dict]]:
    """Write a task dataset; returns the instances (as float64 after the dtype round trip)."""
    from safetensors.numpy import save_file

    from zcnas.bench import load_nb201

    out.mkdir(parents=True, exist_ok=True)
    table = load_nb201()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(table.columns["arch_str"]), size=n_nets, replace=False)
    nets, all_insts = [], []
    for j, k in enumerate(idx):
        acc = float(table.columns["cifar10_test"][k])
        insts = instances_for(rng, n_inst, scale=acc / 100.0)
        tensors = {}
        stored = []
        for i, inst in enumerate(insts):
            s = {}
            for name, arr in inst.items():
                a = np.ascontiguousarray(arr.astype(dtype))
                tensors[f"{i:03d}/{name}"] = a
                s[name] = a.astype(np.float64)
            stored.append(s)
        fname = f"net_{j:05d}.safetensors"
        save_file(tensors, str(out / fname))
        nets.append(
            {
                "file": fname,
                "arch": str(table.columns["arch_str"][k]),
                "index": int(k),
                "ground_truth": {"cifar10_test": acc},
                "n_instances": n_inst,
            }
        )
        all_insts.append(stored)
    manifest = {
        "format": "zcnas-eznas-stats",
        "version": 1,
        "space": "nb201",
        "dataset": "cifar10",
        "target": "cifar10_test",
        "pattern": "relu-conv-bn",
        "batch_size": 1,
        "seed": seed,
        "dtype": dtype,
        "gradient": "sum-of-logits",
        "terminals": list(TERMINALS),
        "networks": nets,
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return all_insts
