"""Memory-mapped shard reading (``zcnas_core::shards`` through ``read_shard`` and the
interpreter) against safetensors' own reader, the previous way of reading shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eznas.tiny_task import write_task
from zcnas.exceptions import ZcnasError
from zcnas.eznas import TERMINALS
from zcnas.eznas import reference as ref
from zcnas.eznas.evolution import evaluate_stats
from zcnas.eznas.shards import load_manifest, read_shard


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_read_shard_equals_safetensors(tmp_path: Path, dtype: str) -> None:
    from safetensors.numpy import load_file

    write_task(tmp_path, n_nets=2, seed=11, dtype=dtype, n_inst=3)
    for pos, entry in enumerate(load_manifest(tmp_path)["networks"]):
        want = load_file(str(tmp_path / entry["file"]))
        got = read_shard(tmp_path, pos)
        assert len(got) == entry["n_instances"] == 3
        for k, inst in enumerate(got):
            assert list(inst) == list(TERMINALS)
            for name, a in inst.items():
                w = want[f"{k:03d}/{name}"]
                assert a.dtype == w.dtype == np.dtype(dtype)
                assert a.shape == w.shape and a.flags.c_contiguous and a.flags.writeable
                assert a.tobytes() == w.tobytes(), (k, name)
    sub = read_shard(tmp_path, 1, ["T3", "T1GD"])
    assert [list(i) for i in sub] == [["T3", "T1GD"]] * 3
    assert np.array_equal(sub[2]["T3"], read_shard(tmp_path, 1)[2]["T3"])


def test_interpreter_reads_the_same_values(tmp_path: Path) -> None:
    """The interpreter's mapped reads, converted to float64, equal safetensors' arrays."""
    from safetensors.numpy import load_file

    write_task(tmp_path, n_nets=2, seed=12, dtype="float16", n_inst=2)
    m = load_manifest(tmp_path)
    exprs = ["L1Norm(T1D)", "Add(T3, T3GP)", "Mul(T2GN, Exp(T4P))"]
    got = evaluate_stats(exprs, tmp_path)
    for j, entry in enumerate(m["networks"]):
        raw = load_file(str(tmp_path / entry["file"]))
        insts = [
            {t: raw[f"{i:03d}/{t}"].astype(np.float64) for t in TERMINALS}
            for i in range(entry["n_instances"])
        ]
        want = [ref.score(e, insts) for e in exprs]
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12)


def test_damaged_shards_give_errors(tmp_path: Path) -> None:
    write_task(tmp_path, n_nets=2, seed=13, n_inst=2)
    entry = load_manifest(tmp_path)["networks"][0]
    path = tmp_path / entry["file"]
    raw = path.read_bytes()
    for damaged in (b"", raw[:5], raw[: len(raw) // 2]):
        path.write_bytes(damaged)
        with pytest.raises(ZcnasError):
            read_shard(tmp_path, 0)
        with pytest.raises(ZcnasError):
            evaluate_stats(["L1Norm(T1D)"], tmp_path)
    path.write_bytes(raw)
    assert len(read_shard(tmp_path, 0)) == 2
    with pytest.raises(ZcnasError, match="no tensor"):
        read_shard(tmp_path, {"file": entry["file"], "n_instances": 3})
