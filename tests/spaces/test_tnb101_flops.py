"""TransNAS-Bench-101 FLOPs equal NAS-Bench-Suite-Zero's ``flops`` column.

The column (``naslib_zc_transbench101_{micro,macro}_e5a821c2.csv``, NASLib's tensorwatch count
in millions printed with 10 significant digits, i.e. whole FLOPs below 10,000 M) is compared
with :func:`zcnas.spaces.tnb101.naslib_flops` rounded to the printed digits, on a
deterministic sample: every 180th distinct architecture of each space (4 micro, 5 macro) in
every one of the 7 tasks, built on the meta device. ``benches/tnb101_flops.py`` checks all
9,926 rows (RESULTS.md, Issue 17).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from zcnas.proxies import score
from zcnas.proxies.naslib import count_flops_naslib
from zcnas.spaces import tnb101

SZ = Path(__file__).resolve().parents[3] / "shared/data/suite_zero"
FILES = {
    "micro": "naslib_zc_transbench101_micro_e5a821c2.csv",
    "macro": "naslib_zc_transbench101_macro_e5a821c2.csv",
}
needs_csv = pytest.mark.skipif(not SZ.exists(), reason="shared Suite-Zero data not available")


def equal_as_printed(value: float, text: str) -> bool:
    """``value`` rounded to the decimals of ``text`` (the CSV's 10 significant digits) is
    ``text``'s number."""
    decimals = len(text.strip().partition(".")[2])
    return abs(value - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9)


@needs_csv
@pytest.mark.slow
@pytest.mark.parametrize("space", ["micro", "macro"])
def test_flops_equal_suite_zero_on_a_sample(space):
    with open(SZ / FILES[space]) as f:
        rows = list(csv.DictReader(f))
    archs = sorted({r["arch"] for r in rows})[::180]
    picked = [r for r in rows if r["arch"] in archs]
    assert {r["dataset"] for r in picked} == set(tnb101.TASKS)
    bad = []
    for r in picked:
        got = tnb101.naslib_flops(r["arch"], r["dataset"], space, device="meta")
        if not equal_as_printed(got, r["flops"]):
            bad.append((r["dataset"], r["arch"], got, r["flops"]))
    assert not bad, bad[:3]
    assert len(picked) >= 7 * len(archs) - 3


def test_flops_charges_against_hand_counts():
    """Conv bias and LeakyReLU charged, ConvTranspose2d / Tanh not, a reused module once."""
    conv = torch.nn.Conv2d(2, 4, 3, padding=1, bias=True)
    act = torch.nn.LeakyReLU()
    model = torch.nn.Sequential(conv, act, torch.nn.ConvTranspose2d(4, 2, 2, 2), torch.nn.Tanh())
    # conv: 4*5*5 outputs x (2*3*3 MACs + 1 bias); LeakyReLU: 100 elements
    assert count_flops_naslib(model, (1, 2, 5, 5)) * 1e6 == pytest.approx(100 * 19 + 100)
    assert count_flops_naslib(model, (1, 2, 5, 5), macs_only=True) * 1e6 == pytest.approx(1800)

    class Twice(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.relu = torch.nn.ReLU()

        def forward(self, x):
            return self.relu(self.relu(x) - 1.0)

    assert count_flops_naslib(Twice(), (1, 3, 4, 4)) * 1e6 == pytest.approx(48)
    # the registered proxy reads the same counter
    got = score(Twice(), torch.zeros(1, 3, 4, 4), proxies=["flops"])["flops"]
    assert got * 1e6 == pytest.approx(48)


def test_jigsaw_encoder_counts_once():
    """The jigsaw network's FLOPs are one 64x64 tile through the encoder plus the classifier on
    the 9 concatenated features (not 9 encoder passes)."""
    arch = "(1, 0, 0, 2, 1, 0)"
    with torch.device("meta"):
        m = tnb101.build(arch, "jigsaw", "micro")
    enc = count_flops_naslib(m.encoder, (1, 3, 64, 64))
    head = count_flops_naslib(m.decoder, (1, 9 * 512, 2, 2))
    assert tnb101.naslib_flops(arch, "jigsaw", "micro", device="meta") == pytest.approx(enc + head)
    assert tnb101.naslib_flops_side("jigsaw") == 64 and tnb101.naslib_flops_side("normal") == 256
