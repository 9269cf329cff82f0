"""EZNAS statistics (zcnas.eznas.stats) against hand-written PyTorch forward/backward passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from zcnas import ZcnasError
from zcnas.eznas import TERMINALS
from zcnas.eznas.stats import (
    PERTURB_STD,
    collect_network,
    find_instances,
    make_inputs,
    parse_terminals,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


class Tiny(nn.Module):
    """stem Conv-BN, then two ReLU-Conv-BN instances (the second 1x1 with stride 2), GAP,
    Linear. ``forward_parts`` exposes every intermediate for the reference gradients."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1, bias=False),
                               nn.BatchNorm2d(6))  # fmt: skip
        self.b = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(6, 6, 1, stride=2, bias=False),
                               nn.BatchNorm2d(6))  # fmt: skip
        self.fc = nn.Linear(6, classes)

    def forward(self, x):  # the modules (the b ReLU in place), as EZNAS hooks see them
        return self.fc(self.b(self.a(self.stem(x))).mean((2, 3)))

    def forward_parts(self, x):
        h0 = self.stem(x)  # out-of-place ReLUs: the gradient of every part stays readable
        r0 = torch.relu(h0)
        c0 = self.a[1](r0)
        b0 = self.a[2](c0)
        r1 = torch.relu(b0)
        c1 = self.b[1](r1)
        b1 = self.b[2](c1)
        logits = self.fc(b1.mean((2, 3)))
        return [h0, r0, b0, r1, b1, logits]


def _reference(model: Tiny, x: torch.Tensor, loss: str = "sum", labels=None):
    """Per instance {T1, T2, T4, T1G, T2G, T3G, T4G} by torch.autograd.grad on the parts."""
    model = model.train()
    h0, r0, b0, r1, b1, logits = model.forward_parts(x.clone().requires_grad_(True))
    out = logits.sum() if loss == "sum" else nn.functional.cross_entropy(logits, labels)
    w = [model.a[1].weight, model.b[1].weight]
    # h0 feeds only ReLU a, b0 only ReLU b: their gradients are the through-the-ReLU ones
    g = torch.autograd.grad(out, [h0, r0, b0, r1, b1, *w])
    return [
        {"T1": h0, "T2": r0, "T4": b0, "T1G": g[0], "T2G": g[1], "T4G": g[2], "T3G": g[5]},
        {"T1": b0, "T2": r1, "T4": b1, "T1G": g[2], "T2G": g[3], "T4G": g[4], "T3G": g[6]},
    ]


def _close(a: np.ndarray, b: torch.Tensor) -> bool:
    return np.allclose(a, b.detach().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", ["sum-of-logits", "cross-entropy"])
def test_all_terminals_equal_autograd_reference(loss):
    torch.manual_seed(0)
    model = Tiny()
    x = torch.randn(3, 3, 8, 8)
    y = torch.tensor([0, 4, 2])
    st = collect_network(
        model, x, init=None, seed=7, gradient=loss, labels=y if loss != "sum-of-logits" else None
    )
    assert len(st) == 2 and all(set(d) == set(TERMINALS) for d in st)
    inputs = make_inputs(x, seed=7)
    assert torch.allclose(inputs["P"] - x, inputs["P"] - inputs["D"])
    for kind in "DNP":
        ref = _reference(model, inputs[kind], "sum" if loss == "sum-of-logits" else "ce", y)
        for k in range(2):
            for base, t in ref[k].items():
                assert _close(st[k][f"{base}{kind}"], t), (kind, k, base)
    assert _close(st[0]["T3"], model.a[1].weight) and _close(st[1]["T3"], model.b[1].weight)
    # the stored P tensors are those of the perturbed input itself, not differences from D
    assert not np.allclose(st[0]["T1P"], st[0]["T1P"] - st[0]["T1D"])
    # the gradient is the through-the-ReLU one: zero where the ReLU input is negative
    assert np.all(st[0]["T1GD"][st[0]["T1D"] < 0] == 0)


def test_noise_inputs_are_gaussian_and_seeded():
    x = torch.zeros(4, 3, 16, 16)
    a, b, c = make_inputs(x, 1), make_inputs(x, 1), make_inputs(x, 2)
    assert torch.equal(a["N"], b["N"]) and torch.equal(a["P"], b["P"])
    assert not torch.equal(a["N"], c["N"])
    assert abs(float(a["N"].std()) - 1.0) < 0.05
    assert abs(float(a["P"].std()) - PERTURB_STD) < 0.01
    assert not torch.equal(a["N"], a["P"] / PERTURB_STD)  # two different draws


def test_caller_model_untouched_and_reinit_is_seeded():
    torch.manual_seed(1)
    model = Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    s1 = collect_network(model, x, seed=3)
    s2 = collect_network(model, x, seed=3)
    s3 = collect_network(model, x, seed=4)
    assert not model.training and model.b[0].inplace
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    for name in TERMINALS:
        assert np.array_equal(s1[1][name], s2[1][name])
    assert not np.array_equal(s1[0]["T3"], s3[0]["T3"])
    # eznas init: Kaiming-normal fan_out: std = sqrt(2 / (Cout * k * k))
    w = np.concatenate([collect_network(model, x, seed=s, terminals=["T3"])[0]["T3"].ravel()
                        for s in range(20)])  # fmt: skip
    assert abs(w.std() - np.sqrt(2 / (6 * 9))) < 0.02


def test_subset_of_terminals_matches_full_collection():
    from zcnas.spaces import nb201

    net = nb201.build("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|skip_connect~1|"
                      "nor_conv_3x3~2|", C=8, N=1)  # fmt: skip
    x = torch.randn(1, 3, 16, 16)
    full = collect_network(net, x, seed=5)
    part = collect_network(net, x, seed=5, terminals=["T4GN", "T2P", "T3"])
    assert len(full) == len(part)
    for f, p in zip(full, part, strict=True):
        assert set(p) == {"T2P", "T3", "T4GN"}
        for n in p:
            assert np.array_equal(f[n], p[n])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nb201_instance_count_and_shapes(seed):
    from zcnas.proxies.eznas import relu_conv_bn_triplets
    from zcnas.spaces import nb201

    idx = int(nb201.sample(1, rng=seed)[0])
    ops = nb201.str_to_ops(nb201.index_to_str(idx))
    n_conv = sum(op.startswith("nor_conv") for op in ops)
    net = nb201.build(idx, C=4, N=2)
    inst = find_instances(net, torch.randn(1, 3, 32, 32))
    # 3 stages x N cells x conv edges, plus 2 reduction blocks x 2 ReLU-Conv-BN
    assert len(inst) == 3 * 2 * n_conv + 4 == len(relu_conv_bn_triplets(net))
    assert all(isinstance(i.modules[0], nn.ReLU) and i.modules[1] is i.conv for i in inst)
    st = collect_network(net, torch.randn(1, 3, 32, 32), terminals=["T1D", "T4GP"])
    res = sorted({d["T1D"].shape[-1] for d in st})
    assert res == [8, 16, 32] and all(d["T1D"].shape[0] == 1 for d in st)


def test_macro_conv_bn_relu_instances():
    from zcnas.spaces import macro

    arch = "12002101"
    net = macro.build(arch)
    inst = find_instances(net, torch.randn(1, 3, 32, 32), pattern="conv-bn-relu")
    n_blocks = sum(c != "0" for c in arch)
    assert len(inst) == 1 + 2 * n_blocks + 1  # stem, expand and depthwise per block, head
    assert all(isinstance(i.modules[2], nn.ReLU6) and i.modules[0] is i.conv for i in inst)
    st = collect_network(net, torch.randn(1, 3, 32, 32), pattern="conv-bn-relu",
                         terminals=["T2D", "T4D", "T3"])  # fmt: skip
    # T2 = conv output (BN input); T4 = ReLU6 output in [0, 6]
    for d, i in zip(st, inst, strict=True):
        assert d["T2D"].shape[1] == i.conv.out_channels
        assert d["T4D"].min() >= 0 and d["T4D"].max() <= 6


def test_double_conv_rule():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4),
        nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False),
        nn.Conv2d(4, 8, 1, bias=False), nn.BatchNorm2d(8),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
    )  # fmt: skip
    x = torch.randn(2, 3, 6, 6)
    (a,) = find_instances(net, x)
    (b,) = find_instances(net, x, double_conv="skip-first")
    assert a.names == ("2", "3", "5") and b.names == ("2", "4", "5")
    sa = collect_network(net, x, init=None, terminals=["T2D", "T3"])[0]
    sb = collect_network(net, x, init=None, terminals=["T2D", "T3"], double_conv="skip-first")[0]
    assert sa["T3"].shape == (4, 1, 3, 3) and sb["T3"].shape == (8, 4, 1, 1)
    assert sa["T2D"].shape[1] == 4 and sb["T2D"].shape[1] == 4


class _Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
        self.dead = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        self.dead(x)  # computed but never reaches the logits
        return self.fc(self.used(x).mean((2, 3)))


def test_instance_off_the_logit_path_gets_zero_gradients():
    st = collect_network(_Unused(), torch.randn(2, 3, 4, 4))
    assert len(st) == 2
    used, dead = st[1], st[0]  # dead runs first
    for n in ("T1GD", "T2GN", "T3GP", "T4GD"):
        assert not np.any(dead[n]) and np.any(used[n])
    assert np.any(dead["T4D"])


class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.rcb = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.rcb(self.rcb(x)).mean((2, 3)))


def test_errors():
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(ZcnasError, match="pattern"):
        collect_network(Tiny(), x, pattern="bn-relu")
    with pytest.raises(ZcnasError, match="unknown terminals"):
        parse_terminals(["T5D"])
    with pytest.raises(ZcnasError, match="labels"):
        collect_network(Tiny(), x, gradient="cross-entropy")
    with pytest.raises(ZcnasError, match="more than once"):
        collect_network(_Shared(), torch.randn(2, 3, 4, 4))
    with pytest.raises(ZcnasError, match="inputs"):
        collect_network(Tiny(), torch.randn(3, 8, 8))
    assert collect_network(nn.Sequential(nn.Flatten(), nn.Linear(192, 2)), x) == []


def test_released_program_on_t1gd_equals_eznas_proxy():
    """The released EZNAS-A formula on the collected T1GD reproduces the `eznas` proxy, which
    has its own hooks: the same re-init draws, the same gradient semantics."""
    from zcnas.proxies import score
    from zcnas.proxies.eznas import _program
    from zcnas.spaces import nb201

    net = nb201.build(1234, C=8, N=1)
    x = torch.randn(2, 3, 16, 16)
    st = collect_network(net, x, terminals=["T1GD"], seed=3)
    mine = float(np.mean([_program(torch.from_numpy(d["T1GD"])) for d in st]))
    ref = score(net, x, proxies=["eznas"], seed=3)["eznas"]
    assert mine == pytest.approx(ref, rel=1e-9, abs=1e-12)
