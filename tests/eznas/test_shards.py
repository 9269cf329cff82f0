"""EZNAS task datasets: shards, manifest, resumable collection, held-out exclusion."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from zcnas import ZcnasError
from zcnas.bench import load_nb201
from zcnas.eznas import TERMINALS
from zcnas.eznas import stats as ez_stats
from zcnas.eznas.shards import (
    collect_task,
    load_manifest,
    pool_archs,
    read_shard,
    sample_pool,
    task_inputs,
)
from zcnas.spaces import nb201

pytestmark = pytest.mark.usefixtures("torch_one_thread")

# small NB201 cells (one or two conv edges) keep the shards small and the test fast
ARCHS = [
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|none~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|none~2|",
]


def test_manifest_and_shards_match_an_independent_collection(tmp_path):
    out = collect_task("nb201", "cifar100", ARCHS[:2], tmp_path, seed=4, progress=False)
    m = load_manifest(out)
    assert m["space"] == "nb201" and m["dataset"] == "cifar100" and m["target"] == "cifar100_test"
    assert m["terminals"] == list(TERMINALS) and m["pattern"] == "relu-conv-bn"
    assert m["batch_size"] == 1 and m["dtype"] == "float32" and m["gradient"] == "sum-of-logits"
    assert m["planned"] == [nb201.to_index(a) for a in ARCHS[:2]]
    t = load_nb201()
    x_pool, _, _ = task_inputs("nb201", "cifar100")
    for pos, e in enumerate(m["networks"]):
        assert e["file"] == f"net_{pos:05d}.safetensors"
        assert e["arch"] == ARCHS[pos] and e["index"] == nb201.to_index(ARCHS[pos])
        for d in ("cifar10", "cifar100", "imagenet16"):
            assert e["ground_truth"][f"{d}_test"] == t.test_accuracy(d)[e["index"]]
        with safe_open(str(tmp_path / e["file"]), framework="numpy") as f:
            keys = set(f.keys())
        assert keys == {f"{k:03d}/{n}" for k in range(e["n_instances"]) for n in TERMINALS}
        # recollect the network from the manifest's record: same seed, same image
        torch.manual_seed(e["seed"])
        model = nb201.build(e["index"], num_classes=100)
        ref = ez_stats.collect_network(model, x_pool[e["images"]], seed=e["seed"])
        got = read_shard(tmp_path, pos)
        assert len(got) == len(ref) == e["n_instances"] == len(e["shapes"])
        for g, r, shp in zip(got, ref, e["shapes"], strict=True):
            assert shp["T1D"] == list(r["T1D"].shape) and shp["T3"] == list(r["T3"].shape)
            for n in TERMINALS:
                assert g[n].dtype == np.float32 and g[n].flags.c_contiguous
                assert np.array_equal(g[n], r[n]), n


def test_resume_after_interruption_gives_identical_files(tmp_path, monkeypatch):
    full, part = tmp_path / "full", tmp_path / "part"
    collect_task("nb201", "cifar10", ARCHS, full, seed=1, progress=False)
    real = ez_stats.collect_network
    calls = {"n": 0}

    def crash_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(ez_stats, "collect_network", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        collect_task("nb201", "cifar10", ARCHS, part, seed=1, progress=False)
    assert len(load_manifest(part)["networks"]) == 2
    (part / "net_00002.safetensors.tmp").write_bytes(b"partial write")  # a torn shard
    monkeypatch.setattr(ez_stats, "collect_network", real)
    collect_task("nb201", "cifar10", ARCHS, part, seed=1, progress=False)
    mf, mp = load_manifest(full), load_manifest(part)
    strip = [{k: v for k, v in e.items() if k != "time_s"} for e in mf["networks"]]
    assert [{k: v for k, v in e.items() if k != "time_s"} for e in mp["networks"]] == strip
    for e in mf["networks"]:
        assert (full / e["file"]).read_bytes() == (part / e["file"]).read_bytes()
    # a finished directory is left as it is
    before = (part / "manifest.json").read_text()
    collect_task("nb201", "cifar10", ARCHS, part, seed=1, progress=False)
    assert json.loads((part / "manifest.json").read_text()) == json.loads(before)
    with pytest.raises(ZcnasError, match=r"other settings.*seed"):
        collect_task("nb201", "cifar10", ARCHS, part, seed=2, progress=False)


def test_float16_storage_and_imagenet16_inputs(tmp_path):
    collect_task("nb201", "imagenet16", ARCHS[:1], tmp_path, dtype="float16", progress=False)
    m = load_manifest(tmp_path)
    e = m["networks"][0]
    assert m["dtype"] == "float16" and "16x16" in m["inputs"]["D"]
    got = read_shard(tmp_path, 0)
    x_pool, _, _ = task_inputs("nb201", "imagenet16")
    assert tuple(x_pool.shape[1:]) == (3, 16, 16)
    torch.manual_seed(e["seed"])
    ref = ez_stats.collect_network(
        nb201.build(e["index"], num_classes=120), x_pool[e["images"]], seed=e["seed"]
    )
    assert got[0]["T1D"].shape == (1, 16, 16, 16)
    for g, r in zip(got, ref, strict=True):
        for n in TERMINALS:
            assert g[n].dtype == np.float16
            assert np.array_equal(g[n], r[n].astype(np.float16))


def test_macro_task(tmp_path):
    from zcnas.spaces import macro

    collect_task("macro", "cifar10", ["10000000"], tmp_path, progress=False)
    m = load_manifest(tmp_path)
    e = m["networks"][0]
    assert m["pattern"] == "conv-bn-relu" and e["arch"] == "10000000"
    assert e["ground_truth"] == {"cifar10_test": macro.load_macro().query("10000000")}
    assert e["n_instances"] == 4  # stem, expand, depthwise, head


def test_exclusion_and_pools(tmp_path):
    held = sample_pool("nb201", 600, seed=9)
    pool = sample_pool("nb201", 80, seed=0, exclude=held)
    assert len(set(pool)) == 80 and not set(pool) & set(held)
    assert pool == sample_pool("nb201", 80, seed=0, exclude=held)
    assert sample_pool("nb201", 80, seed=0) != pool
    with pytest.raises(ZcnasError, match="both requested and excluded"):
        collect_task("nb201", "cifar10", ARCHS[:1], tmp_path, exclude=[ARCHS[0]])
    with pytest.raises(ZcnasError, match="cannot draw"):
        sample_pool("macro", 2, exclude=range(6560))
    collect_task("nb201", "cifar10", ARCHS[:1], tmp_path / "a", progress=False)
    collect_task("macro", "cifar10", ["00000001"], tmp_path / "b", progress=False)
    assert pool_archs([tmp_path / "a", tmp_path / "b"]) == {
        "nb201": {nb201.to_index(ARCHS[0])},
        "macro": {1},
    }


def test_bad_arguments(tmp_path):
    with pytest.raises(ZcnasError, match="no task dataset"):
        collect_task("macro", "cifar100", 2, tmp_path)
    with pytest.raises(ZcnasError, match="dtype"):
        collect_task("nb201", "cifar10", 2, tmp_path, dtype="bfloat16")
    with pytest.raises(ZcnasError, match="batch_size"):
        collect_task("nb201", "cifar100", 2, tmp_path, batch_size=26)
    with pytest.raises(ZcnasError, match="no EZNAS statistics manifest"):
        load_manifest(tmp_path / "nothing")
