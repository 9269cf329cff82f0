"""zcnas.spaces.tnb101: encodings, the seven task networks, their losses.

Parameter counts equal NAS-Bench-Suite-Zero's ``params`` column (NASLib, millions) for every
row of ``naslib_zc_transbench101_{micro,macro}_*.csv`` (all tasks). A network is its encoder
plus its task decoder, whose size depends only on the task and the encoder's output shape, so
every row is checked from one meta-device encoder per architecture and one decoder per (task,
output shape), each full network so built counting exactly ``encoder + decoder`` (building
all ~10,000 networks would take minutes).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from zcnas.exceptions import ZcnasError
from zcnas.spaces import tnb101

SZ = Path(__file__).resolve().parents[3] / "shared/data/suite_zero"
FILES = {
    "micro": "naslib_zc_transbench101_micro_e5a821c2.csv",
    "macro": "naslib_zc_transbench101_macro_e5a821c2.csv",
}
needs_csv = pytest.mark.skipif(not SZ.exists(), reason="shared Suite-Zero data not available")


def _n(module) -> int:
    return sum(p.numel() for p in module.parameters())


@needs_csv
@pytest.mark.parametrize("space", ["micro", "macro"])
def test_params_equal_suite_zero_for_every_row(space):
    with open(SZ / FILES[space]) as f:
        rows = list(csv.DictReader(f))
    assert {r["dataset"] for r in rows} == set(tnb101.TASKS)
    enc: dict[str, tuple[int, tuple]] = {}  # arch -> (encoder params, output_dim)
    dec: dict[tuple, int] = {}  # (task, output_dim) -> decoder params
    bad = []
    for r in rows:
        task, arch = r["dataset"], r["arch"]
        if arch not in enc:
            with torch.device("meta"):
                e = tnb101.build(arch, "room_layout", space).encoder
            enc[arch] = (_n(e), e.output_dim)
        n_enc, dim = enc[arch]
        if (task, dim) not in dec:
            with torch.device("meta"):
                m = tnb101.build(arch, task, space)
            dec[(task, dim)] = _n(m.decoder)
            assert _n(m) == n_enc + dec[(task, dim)]  # the network is encoder + decoder
        if n_enc + dec[(task, dim)] != round(float(r["params"]) * 1e6):
            bad.append((task, arch, n_enc + dec[(task, dim)], r["params"]))
    assert not bad, bad[:3]
    assert len(rows) > 4000


def test_encodings():
    assert tnb101.micro_to_str((1, 0, 0, 2, 1, 0)) == "64-41414-1_00_210"
    assert tnb101.micro_from_naslib("(3, 3, 3, 3, 3, 3)") == (3,) * 6
    assert tnb101.macro_to_str("(0, 0, 1, 2, 3, 4)") == "64-1234-basic"
    assert tnb101.macro_from_naslib(tnb101.macro_to_str((4, 1, 4, 1))) == (4, 1, 4, 1)
    for bad, space in [((1, 2, 3), "micro"), ((4,) * 6 + (1,), "macro"), ("(5, 1)", "macro")]:
        with pytest.raises(ZcnasError, match="TNB101"):
            tnb101.to_codes(bad, space)
    with pytest.raises(ZcnasError, match="task"):
        tnb101.build((1,) * 6, "depth")
    with pytest.raises(ZcnasError, match="space"):
        tnb101.build((1,) * 6, "jigsaw", "nano")


@pytest.mark.parametrize("task", tnb101.TASKS)
def test_forward_shapes(task):
    torch.manual_seed(0)
    model = tnb101.build((3, 1, 2, 0, 3, 1), task, "micro")
    hw = 32 if task == "jigsaw" else 64  # 9 tiles: keep them small
    x = torch.randn(2, 27 if task == "jigsaw" else 3, hw, hw)
    out = model(x)
    assert out.shape == (2, *tnb101.output_shape(task, hw))
    if task == "jigsaw":
        with pytest.raises(ZcnasError, match="27"):
            model(torch.randn(2, 3, 64, 64))


def test_macro_forward_and_skip_semantics():
    torch.manual_seed(0)
    model = tnb101.build("64-1234-basic", "class_scene", "macro").eval()
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 63)
    # a micro cell whose only path is a skip from node 0 to node 3 returns its input
    cell = tnb101.build((0, 0, 0, 1, 0, 0), "room_layout").encoder.layers[1][0]
    x = torch.randn(1, 128, 8, 8)
    assert torch.equal(cell(x), x)


def test_losses():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 63, generator=g)
    y = torch.randint(0, 63, (4,), generator=g)
    ce = F.cross_entropy(out, y)
    assert torch.allclose(tnb101.loss_fn("class_scene")(out, y), ce)
    soft = torch.softmax(torch.randn(4, 63, generator=g), 1)
    ref = -(soft * torch.log_softmax(out, 1)).sum(1).mean()
    assert torch.allclose(tnb101.loss_fn("class_object")(out, soft), ref)
    seg = torch.randn(2, 17, 8, 8, generator=g)
    lab = torch.randint(0, 17, (2, 8, 8), generator=g)
    assert torch.allclose(tnb101.loss_fn("segmentsemantic")(seg, lab), F.cross_entropy(seg, lab))
    a, b = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    assert torch.allclose(tnb101.loss_fn("normal")(a, b), (a - b).abs().mean())
    assert torch.allclose(tnb101.loss_fn("room_layout")(a, b), ((a - b) ** 2).mean())


@pytest.mark.parametrize("task", tnb101.TASKS)
def test_tnb_batch_shapes(task):
    from zcnas.scoring import TNB_INPUT_SIZE, tnb_batch

    x, y = tnb_batch(task, 3, seed=1)
    s = TNB_INPUT_SIZE
    assert x.shape == ((3, 27, s // 2, s // 2) if task == "jigsaw" else (3, 3, s, s))
    assert y.shape[0] == 3
    if task == "jigsaw":  # its forward is covered by test_forward_shapes (9 encoder runs)
        assert int(y.min()) >= 0 and int(y.max()) < 1000
        return
    model = tnb101.build((3, 3, 3, 3, 3, 3), task)
    with torch.no_grad():
        loss = tnb101.loss_fn(task)(model.eval()(x), y)
    assert torch.isfinite(loss)


@needs_csv
@pytest.mark.parametrize(("space", "task"), [("micro", "class_scene"), ("macro", "room_layout")])
def test_score_architectures_on_tnb101(space, task):
    from zcnas.scoring import sample_archs, score_architectures

    with open(SZ / FILES[space]) as f:
        r = next(r for r in csv.DictReader(f) if r["dataset"] == task)
    got = score_architectures(
        f"tnb101-{space}", [r["arch"]], ["params", "grad_norm"], dataset=task, batch_size=2
    )
    assert list(got) == [r["arch"]]  # the store key is the CSV's text
    assert got[r["arch"]]["params"] == pytest.approx(float(r["params"]), abs=1e-6)
    assert math.isfinite(got[r["arch"]]["grad_norm"])  # the task's loss reached the engine
    assert len(set(sample_archs(f"tnb101-{space}", 5, seed=0))) == 5
    with pytest.raises(ZcnasError, match="task"):
        score_architectures(f"tnb101-{space}", [r["arch"]], ["params"], dataset="cifar10")
