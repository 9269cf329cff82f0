"""zcnas.spaces.darts: genotype parsing against published data, sampling, and the network.

Checks: all 1,000 SWAP genotype strings parse and round-trip textually; all 725 NASLib NB301
encodings parse, satisfy the encoding's invariants and round-trip; the built networks'
parameter counts reproduce NASLib's ``params`` column exactly (C=32, 8 cells, BN inside the
cell ops non-affine as in NASLib's graph), which pins NASLib's op-id order up to swapping
the two parameter-free pools; DARTS-V2 (C=36, 20 cells) has the paper's 3.3 M parameters.
"""

from __future__ import annotations

import ast
import csv
from collections import Counter

import numpy as np
import pytest

from zcnas.exceptions import ZcnasError
from zcnas.spaces import darts

torch = pytest.importorskip("torch")
nn = torch.nn

# DARTS (second order) CIFAR-10 cell, as printed in the DARTS paper / code.
DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))"
)


def _n_params(module, exclude: str | None = None) -> int:
    return sum(p.numel() for n, p in module.named_parameters() if not (exclude and exclude in n))


@pytest.fixture(scope="module")
def swap_rows(request):
    path = request.getfixturevalue("shared_data") / "darts" / "darts_1000_cifar10.csv"
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def nb301_rows(request):
    path = request.getfixturevalue("shared_data") / "suite_zero" / "naslib_zc_nasbench301_725.csv"
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def shared_data():  # module-scoped twin of the conftest fixture
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def test_swap_genotypes_parse_and_round_trip(swap_rows):
    assert len(swap_rows) == 1000
    ops = Counter()
    for row in swap_rows:
        text = row["genotype"]
        g = darts.parse_genotype(text)
        assert str(g) == text  # exact textual round trip
        assert darts.parse_genotype(str(g)) == g and darts.parse_genotype(repr(g)) == g
        assert g.normal == g.reduce  # documented property of this data set
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
        ops.update(name for name, _ in g.normal)
    assert set(ops) == set(darts.OPS)  # all 8 ops, "none" included


def test_nb301_encodings_parse(nb301_rows):
    assert len(nb301_rows) == 725
    op_ids = Counter()
    for row in nb301_rows:
        enc = ast.literal_eval(row["arch"])
        g = darts.from_naslib_nb301(row["arch"])
        assert darts.to_naslib_nb301(g) == [list(c) for c in enc]
        assert str(darts.to_naslib_nb301(g)) == row["arch"]
        assert darts.from_naslib_nb301(enc) == g == darts.to_genotype(row["arch"])
        for cell_enc, cell in zip(enc, (g.normal, g.reduce), strict=True):
            assert len(cell_enc) == 8
            for node in range(4):
                (a, i), (b, j) = cell_enc[2 * node], cell_enc[2 * node + 1]
                assert a != b and a < node + 2 and b < node + 2  # (input, op): inputs valid
                op_ids.update((i, j))
            assert all(name != "none" for name, _ in cell)
    assert sorted(op_ids) == list(range(7))
    # read the other way round, (op, input), most rows would be invalid
    swapped_bad = sum(
        any(
            pair[1] >= k // 2 + 2
            for cell in ast.literal_eval(r["arch"])
            for k, pair in enumerate(cell)
        )
        for r in nb301_rows
    )
    assert swapped_bad > 700


def test_nb301_params_match_naslib(nb301_rows):
    """NASLib's ``params`` (M) for these genotypes = our C=32, 8-cell network's count minus the
    affine parameters of BN layers inside cell ops (NASLib's graph keeps those non-affine),
    exactly. A different op-id order changes the counts unless it only swaps the two pools."""
    step = 3  # every third row keeps the test fast; all 725 were checked the same way
    for row in nb301_rows[::step]:
        model = darts.build(row["arch"], C=32, layers=8)
        op_bn = sum(
            _n_params(mod)
            for name, mod in model.named_modules()
            if isinstance(mod, nn.BatchNorm2d) and "._ops." in name
        )
        assert _n_params(model) - op_bn == round(float(row["params"]) * 1e6), row["arch"]


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "Genotype(normal=__import__('os').system('true'), normal_concat=[2], reduce=[], "
            "reduce_concat=[2])",
            "'normal' may only call range",
        ),
        ("Genotype(normal=x, normal_concat=[2], reduce=[], reduce_concat=[2])", "not a literal"),
        ("Genotyp(normal=[])", "must be a call Genotype"),
        ("Genotype(normal=[('sep_conv_3x3', 0)] ", "not valid Python syntax"),
        ("Genotype(normal=[], normal_concat=[2, 3])", "missing field"),
        ("Genotype(normal=[], foo=[])", "unknown field 'foo'"),
        (DARTS_V2_TEXT.replace("'dil_conv_3x3', 2", "'conv_7x1_1x7', 2"), "unknown op"),
        (DARTS_V2_TEXT.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 5"), "must be in 0..4"),
        (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ", "", 1), "must have 8"),
        (DARTS_V2_TEXT.replace("range(2, 6)", "range(1, 6)", 1), "not a node in 2..5"),
        (DARTS_V2_TEXT.replace("range(2, 6)", "[2, 2]", 1), "repeats"),
    ],
)
def test_parse_errors(text, match):
    with pytest.raises(ZcnasError, match=match):
        darts.parse_genotype(text)


def test_parse_forms_and_nb301_errors():
    g = darts.parse_genotype(DARTS_V2_TEXT)
    assert g == darts.DARTS_V2 and hash(g) == hash(darts.DARTS_V2)
    positional = darts.parse_genotype(
        f"Genotype({list(g.normal)}, (2, 3, 4, 5), reduce={list(g.reduce)}, "
        "reduce_concat=range(2, 6))"
    )
    assert positional == g
    with pytest.raises(ZcnasError, match="'none'"):
        darts.to_naslib_nb301(darts.Genotype(normal=[("none", 0)] * 8, reduce=g.reduce))
    cell = "[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)]"
    assert (
        darts.from_naslib_nb301(f"[{cell}, {cell}]").normal
        == darts.from_naslib_nb301(f"[{cell}, {cell}]").reduce
    )
    with pytest.raises(ZcnasError, match=r"op id 7 is outside 0\.\.6"):
        darts.from_naslib_nb301(f"[{cell.replace('(3, 2)', '(3, 7)')}, {cell}]")
    with pytest.raises(ZcnasError, match="2 cells"):
        darts.from_naslib_nb301("[[(0, 0)]]")
    with pytest.raises(ZcnasError, match=r"must be in 0\.\.1"):
        darts.from_naslib_nb301([[(2, 0)] * 8, [(0, 0)] * 8])
    with pytest.raises(ZcnasError, match="cannot interpret"):
        darts.to_genotype(3)


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def test_sample_is_valid_and_uniform():
    rng = np.random.default_rng(0)
    ops = Counter()
    first_inputs = Counter()
    for _ in range(2000):
        g = darts.sample(rng)
        for cell in (g.normal, g.reduce):
            for node in range(4):
                (_, a), (_, b) = cell[2 * node], cell[2 * node + 1]
                assert a != b and max(a, b) < node + 2
            ops.update(name for name, _ in cell)
            first_inputs[frozenset((cell[6][1], cell[7][1]))] += 1
        assert darts.from_naslib_nb301(darts.to_naslib_nb301(g)) == g
    assert set(ops) == set(darts.NB301_OPS)
    freq = np.array([ops[o] for o in darts.NB301_OPS]) / sum(ops.values())
    assert np.all(np.abs(freq - 1 / 7) < 0.01)
    pairs = np.array(list(first_inputs.values())) / 4000  # node 5: C(5, 2) = 10 input pairs
    assert len(pairs) == 10 and np.all(np.abs(pairs - 0.1) < 0.02)
    assert darts.sample(5) == darts.sample(5)


def test_mutate_changes_one_pair():
    rng = np.random.default_rng(1)
    kinds = Counter()
    for _ in range(500):
        g = darts.sample(rng)
        m = darts.mutate(g, rng)
        before, after = g.normal + g.reduce, m.normal + m.reduce
        diff = [k for k in range(16) if before[k] != after[k]]
        assert len(diff) == 1
        (o1, i1), (o2, i2) = before[diff[0]], after[diff[0]]
        kinds["op" if o1 != o2 else "input"] += 1
        assert (o1 != o2) != (i1 != i2) and o2 != "none"
        cell = m.normal if diff[0] < 8 else m.reduce
        k = diff[0] % 8
        assert cell[k][1] != cell[k ^ 1][1]  # inputs stay distinct
    assert kinds["op"] > 200 and kinds["input"] > 150
    with pytest.raises(ZcnasError, match="rng"):
        darts.mutate(darts.DARTS_V2, rng=1.5)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


def test_darts_v2_has_3_3m_params():
    g = darts.parse_genotype(DARTS_V2_TEXT)
    model = darts.build(g, C=36, layers=20)
    n = _n_params(model)
    assert abs(n - 3.3e6) / 3.3e6 < 0.02
    aux = darts.build(g, C=36, layers=20, auxiliary=True)
    assert _n_params(aux, exclude="auxiliary") == n and _n_params(aux) > n


def test_forward_small_network():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    model = darts.build(darts.sample(3), C=8, layers=5)
    assert model(x).shape == (2, 10)
    reductions = [i for i, cell in enumerate(model.cells) if cell.reduction]
    assert reductions == [1, 3]
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_structure_aux_none_and_drop_path(swap_rows):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    g = darts.parse_genotype(swap_rows[0]["genotype"])  # holds 'none' on inputs of the cell
    assert ("none", 0) in g.reduce
    model = darts.build(g, C=4, layers=3, num_classes=7, auxiliary=True)
    model.drop_path_prob = 0.2
    logits, aux = model.forward_with_aux(x)
    assert logits.shape == aux.shape == (2, 7)
    model.eval()
    assert model.forward_with_aux(x)[1] is None
    # channels: stem 3C; normal cell C*4; reduction cells double C
    assert model.stem[0].out_channels == 12
    assert model.classifier.in_features == 4 * 4 * 4
    # a skip in a reduction cell becomes FactorizedReduce; pools carry no BN
    r = darts.build(darts.DARTS_V2, C=4, layers=3).cells[1]
    kinds = [type(op).__name__ for op in r._ops]
    assert kinds.count("FactorizedReduce") == 0 and kinds.count("MaxPool2d") == 5
    inputs = [0, 1, 2, 0, 3, 1, 2, 4]
    skip_reduce = darts.Genotype(
        normal=darts.DARTS_V2.normal, reduce=[("skip_connect", i) for i in inputs]
    )
    kinds = [type(op).__name__ for op in darts.build(skip_reduce, C=4, layers=3).cells[1]._ops]
    # stride 2 (FactorizedReduce) exactly on ops reading the cell inputs 0 and 1
    assert kinds == ["FactorizedReduce" if i < 2 else "Identity" for i in inputs]
    for bad in ({"C": 0}, {"layers": 0}, {"num_classes": True}, {"auxiliary": 1}):
        with pytest.raises(ZcnasError, match=next(iter(bad))):
            darts.build(darts.DARTS_V2, **bad)


def test_naslib_ops_variant():
    """naslib_ops: non-affine BNs in cell ops, a non-affine BN after each pool, the stem and
    the preprocessing BNs still affine; the same random draws as the default network."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    plain = darts.build(darts.DARTS_V2, C=8, layers=3)
    torch.manual_seed(0)
    nas = darts.build(darts.DARTS_V2, C=8, layers=3, naslib_ops=True)
    for name, m in nas.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.affine == ("._ops." not in f".{name}"), name
    pools = [m for m in nas.modules() if isinstance(m, nn.MaxPool2d | nn.AvgPool2d)]
    assert pools
    for cell in nas.cells:
        for op in cell._ops:
            if any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d) for m in op.modules()):
                assert isinstance(op, nn.Sequential)
                assert isinstance(op[1], nn.BatchNorm2d) and not op[1].affine
    convs = [m.weight for m in plain.modules() if isinstance(m, nn.Conv2d)]
    convs_nas = [m.weight for m in nas.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.equal(a, b) for a, b in zip(convs, convs_nas, strict=True))
    with pytest.raises(ZcnasError, match="naslib_ops"):
        darts.build(darts.DARTS_V2, naslib_ops=1)
