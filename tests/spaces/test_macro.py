"""zcnas.spaces.macro against the NAS-Bench-Macro CIFAR-10 table.

Parameter counts and conv/linear multiply-accumulates of the builder are checked against the
table's ``params`` and ``flops`` columns for all 6,561 architectures (per-layer sums; both are
additive over layers) and by full builds on a sample.
"""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from zcnas.exceptions import ZcnasError
from zcnas.spaces import macro

torch = pytest.importorskip("torch")
nn = torch.nn

ALL_STRS = ["".join(p) for p in itertools.product("012", repeat=8)]


@pytest.fixture(scope="module")
def table():
    return macro.load_macro()


def _n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _macs_by_part(model) -> dict[str, int]:
    """Conv2d/Linear multiply-accumulates on a 1x3x32x32 input, keyed by 'layers.<l>' or
    'fixed' (stem, head, classifier)."""
    totals: dict[str, int] = {}
    hooks = []
    for name, mod in model.named_modules():
        if not isinstance(mod, nn.Conv2d | nn.Linear):
            continue
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == "layers" else "fixed"

        def hook(m, inp, out, key=key):
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                macs = out.numel() * m.in_channels // m.groups * kh * kw
            else:
                macs = out.numel() * m.in_features
            totals[key] = totals.get(key, 0) + macs

        hooks.append(mod.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    return totals


# --------------------------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------------------------


def test_table_matches_csv(table, shared_data, tmp_path):
    path = shared_data / "macro" / "nas_bench_macro_cifar10.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(table) == macro.NUM_ARCHS
    # the CSV is in base-3 order with the first layer most significant: row i = index i
    assert [r["arch"] for r in rows] == ALL_STRS == table["arch"].tolist()
    for col in macro.METRICS:
        np.testing.assert_array_equal(table[col], [float(r[col]) for r in rows])
    # re-conversion reproduces the embedded file
    out = tmp_path / "m.npz"
    macro.convert_macro_csv(path, out)
    with np.load(out) as z:
        assert set(z.files) == {"arch", *macro.METRICS}
        assert z["arch"].dtype.kind == "U"
        for k in z.files:
            np.testing.assert_array_equal(z[k], table[k])
            if k != "arch":
                assert z[k].dtype == np.float64


def test_table_facts(table):
    best = int(table["mean_acc"].argmax())
    assert macro.index_to_str(best) == "22212202"
    assert table.query("22212202") == pytest.approx(93.13, abs=0.005)
    runs = np.stack([table[f"test_acc_run{k}"] for k in (1, 2, 3)], axis=1)
    np.testing.assert_allclose(runs.mean(axis=1), table["mean_acc"], atol=1e-5)
    np.testing.assert_allclose(runs.std(axis=1, ddof=0), table["std"], atol=1e-5)
    assert not table["mean_acc"].flags.writeable


def test_query_and_batch(table):
    archs = ["00000000", (2, 2, 2, 1, 2, 2, 0, 2), 6560]
    got = table.query_batch(archs, "params")
    assert got.dtype == np.float64 and got.shape == (3,)
    assert got.tolist() == [table.query(a, "params") for a in archs]
    np.testing.assert_array_equal(
        table.query_batch(np.array([0, 5]), "flops"), table["flops"][[0, 5]]
    )
    with pytest.raises(ZcnasError, match="metric 'acc'"):
        table.query(0, "acc")
    with pytest.raises(ZcnasError, match="column 'nope'"):
        table["nope"]
    with pytest.raises(ZcnasError, match=r"0\.\.6560"):
        table.query_batch(np.array([6561]))
    with pytest.raises(ZcnasError, match="one string"):
        table.query_batch("00000000")


# --------------------------------------------------------------------------------------------
# Encodings, sampling
# --------------------------------------------------------------------------------------------


def test_encodings_round_trip_all():
    for i, s in enumerate(ALL_STRS):
        t = macro.str_to_tuple(s)
        assert macro.tuple_to_index(t) == i == macro.str_to_index(s) == macro.to_index(s)
        assert macro.index_to_tuple(i) == t and macro.index_to_str(i) == s
        assert macro.tuple_to_str(t) == s and macro.to_index(list(t)) == i


@pytest.mark.parametrize(
    "bad, match",
    [
        ("2221220", "8 digits"),
        ("22212203", "8 digits"),
        ((0, 1, 2), "8 entries"),
        ((0, 1, 2, 0, 1, 2, 0, 3), "not an int in 0..2"),
        ((0, 1, 2, 0, 1, 2, 0, True), "not an int in 0..2"),
        (6561, "out of range"),
        (-1, "out of range"),
        (True, "cannot interpret"),
        (1.5, "cannot interpret"),
    ],
)
def test_bad_encodings(bad, match):
    with pytest.raises(ZcnasError, match=match):
        macro.to_index(bad)


def test_sample_and_mutate():
    a = macro.sample(5000, rng=1)
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() < macro.NUM_ARCHS
    np.testing.assert_array_equal(a, macro.sample(5000, rng=np.random.default_rng(1)))
    digits = np.array([macro.index_to_tuple(int(i)) for i in a[:3000]])
    freq = np.stack([(digits == c).mean(axis=0) for c in range(3)])
    assert np.all(np.abs(freq - 1 / 3) < 0.04)  # uniform per layer
    distinct = macro.sample(macro.NUM_ARCHS, rng=0, replace=False)
    assert sorted(distinct.tolist()) == list(range(macro.NUM_ARCHS))
    with pytest.raises(ZcnasError, match="n=6562"):
        macro.sample(6562, replace=False)
    with pytest.raises(ZcnasError, match="non-negative"):
        macro.sample(-1)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(300):
        src = macro.index_to_str(int(macro.sample(1, rng)[0]))
        dst = macro.mutate(src, rng)
        diff = [k for k in range(8) if src[k] != dst[k]]
        assert len(diff) == 1
        seen.add((diff[0], dst[diff[0]]))
    assert len(seen) == 24  # every layer reaches every choice
    with pytest.raises(ZcnasError, match="rng"):
        macro.mutate(0, rng="seed")


# --------------------------------------------------------------------------------------------
# Builder
# --------------------------------------------------------------------------------------------


def test_params_and_flops_match_table_exhaustively(table):
    """Both counts are sums of a fixed part and one term per (layer, choice); the three uniform
    networks hold every (layer, choice) module, so all 6,561 totals follow exactly."""
    models = [macro.build(str(c) * 8) for c in range(3)]
    layer_params = np.array([[_n_params(m.layers[k]) for m in models] for k in range(8)])
    fixed_params = {_n_params(m) - int(layer_params[:, c].sum()) for c, m in enumerate(models)}
    assert len(fixed_params) == 1
    macs = [_macs_by_part(m) for m in models]
    layer_macs = np.array([[mc.get(f"layers.{k}", 0) for mc in macs] for k in range(8)])
    fixed_macs = {mc["fixed"] for mc in macs}
    assert len(fixed_macs) == 1

    digits = np.array([[int(ch) for ch in s] for s in ALL_STRS])
    rows = np.arange(8)
    params = fixed_params.pop() + layer_params[rows, digits].sum(axis=1)
    flops = fixed_macs.pop() + layer_macs[rows, digits].sum(axis=1)
    np.testing.assert_array_equal(params, table["params"])
    np.testing.assert_array_equal(flops, table["flops"])


def test_full_builds_match_table(table):
    archs = ["00000000", "22212202", "12012012", "20000002", "00200100"]
    archs += [macro.index_to_str(int(i)) for i in macro.sample(5, rng=7)]
    for a in archs:
        m = macro.build(a)
        assert _n_params(m) == table.query(a, "params"), a
        assert sum(_macs_by_part(m).values()) == table.query(a, "flops"), a


def test_structure_and_forward():
    m = macro.build("01200000", num_classes=7)
    assert isinstance(m.layers[3], nn.Identity) and not isinstance(m.layers[0], nn.Identity)
    assert m.layers[1].use_residual and not m.layers[2].use_residual
    x = torch.randn(2, 3, 32, 32)
    assert m(x).shape == (2, 7)
    assert m.features(x).shape == (2, 1280)
    # identity layers are exact identities where the shape is kept
    m.eval()
    with torch.no_grad():
        h = m.layers[0](m.stem(x))
        assert torch.equal(m.layers[3](h), h)
    with pytest.raises(ZcnasError, match="num_classes"):
        macro.build(0, num_classes=0)
    with pytest.raises(ZcnasError, match="8 digits"):
        macro.build("0120")
