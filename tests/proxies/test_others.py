"""zcnas.proxies.{zico, tenas, eznas}: ZiCo, TE-NAS (NTK, linear regions, rank sum), EZNAS.

Checks, each on a tiny NB201 network and a hand-made conv net:

* ``zico`` equals a NumPy reimplementation over the two halves of the batch (std ddof 0,
  sigma = 0 dropped, log of the per-layer sum); a layer without gradient is skipped; identical
  halves (every sigma 0) score 0; labels are required.
* ``tenas_ntk`` equals -cond of a Gram built from ``torch.autograd.functional.jacobian``
  (another route to the per-sample gradients) with NumPy eigenvalues; the sign (-cond <= -1);
  the reference's NaN -> 1e5 / inf handling and the guarded flavor.
* ``tenas_lr`` equals the reference's fp16-style matrix count sum_i 1/#{j: code_j = code_i};
  a hand-checkable one-neuron case; the Gaussian flavor ignores pixel values; 2-D ReLUs do not
  count; ``tenas_rank_sum`` equals scipy ``rankdata(ntk) + rankdata(lr)``.
* ``eznas`` equals a reimplementation that takes the ReLU-input gradient from full backward
  hooks and the log-determinants from ``numpy.linalg.slogdet``; the triplets found on NB201 are
  exactly its ReLU-Conv-BN ops; non-square maps and models without triplets are errors.
* No proxy modifies the caller's model (weights, requires_grad, train/eval flags, grads).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy.stats import rankdata
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies import eznas, tenas, zico
from zcnas.proxies.base import PassContext, get_proxy
from zcnas.spaces import nb201

pytestmark = pytest.mark.usefixtures("torch_one_thread")


class SmallNet(nn.Module):
    """Conv-BN-ReLU x2 with an unused layer (no gradient) and a 2-D ReLU in the head."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.r2 = nn.ReLU()
        self.unused = nn.Linear(3, 3)
        self.fc = nn.Linear(4, 6)
        self.r3 = nn.ReLU()
        self.out = nn.Linear(6, 5)

    def forward(self, x):
        h = self.r2(self.bn2(self.c2(self.r1(self.bn1(self.c1(x))))))
        return self.out(self.r3(self.fc(h.mean((2, 3)))))


def tiny_nb201(arch=1):
    torch.manual_seed(arch)
    return nb201.build(arch, C=8, N=1)


def batch(b=8, hw=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, hw, hw, generator=g), torch.randint(0, 5, (b,), generator=g)


# ------------------------------------------------------------------ ZiCo


def ref_zico(model, x, y):
    grads = {}
    m = copy.deepcopy(model).train()
    for xs, ys in (
        (x[: (len(x) + 1) // 2], y[: (len(x) + 1) // 2]),
        (x[(len(x) + 1) // 2 :], y[(len(x) + 1) // 2 :]),
    ):
        for p in m.parameters():
            p.grad = None
        nn.functional.cross_entropy(m(xs), ys).backward()
        for name, mod in m.named_modules():
            if isinstance(mod, nn.Conv2d | nn.Linear) and mod.weight.grad is not None:
                grads.setdefault(name, []).append(mod.weight.grad.flatten().double().numpy())
    total = 0.0
    for gs in grads.values():
        a = np.array(gs)
        sd = a.std(axis=0)
        mu = np.abs(a).mean(axis=0)
        idx = np.nonzero(sd)[0]
        s = np.sum(mu[idx] / sd[idx])
        if s != 0:
            total += np.log(s)
    return total


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_zico_matches_reference(kind):
    model = tiny_nb201() if kind == "nb201" else SmallNet()
    x, y = batch(b=9)  # odd: halves of 5 and 4
    ctx = PassContext(model=model, inputs=x, labels=y)
    got = get_proxy("zico").compute(ctx, "zico")
    assert got == pytest.approx(ref_zico(model, x, y), rel=1e-9)


def test_zico_zero_std_and_errors():
    model = SmallNet()
    x, y = batch(b=4)
    same = PassContext(model=model, inputs=torch.cat([x, x]), labels=torch.cat([y, y]))
    assert get_proxy("zico").compute(same, "zico") == 0.0  # every sigma is 0: all skipped
    with pytest.raises(ZcnasError, match="labels"):
        get_proxy("zico").compute(PassContext(model=model, inputs=x), "zico")
    with pytest.raises(ZcnasError, match="batch size 1"):
        get_proxy("zico").compute(PassContext(model=model, inputs=x[:1], labels=y[:1]), "zico")
    with pytest.raises(ZcnasError, match="at least 2"):
        zico.zico_score(model, [(x, y)])


# ------------------------------------------------------------------ TE-NAS


def ref_ntk_cond(model, x):
    m = copy.deepcopy(model).train()
    names = [n for n, _ in m.named_parameters() if "weight" in n]
    params = dict(m.named_parameters())

    def f(*ws):
        out = torch.func.functional_call(m, {**params, **dict(zip(names, ws, strict=True))}, (x,))
        return out.sum(1)

    jac = torch.autograd.functional.jacobian(f, tuple(params[n].detach() for n in names))
    g = torch.cat([j.reshape(x.shape[0], -1) for j in jac], 1).double().numpy()
    lam = np.linalg.eigvalsh(g @ g.T)
    return lam[-1] / lam[0]


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_ntk_matches_reference(kind):
    model = tiny_nb201(3) if kind == "nb201" else SmallNet()
    x, _ = batch(b=4)
    ctx = PassContext(model=model, inputs=x)
    got = get_proxy("tenas_ntk").compute(ctx, "tenas")
    want = ref_ntk_cond(model, x)
    assert got == pytest.approx(-want, rel=1e-6)
    assert got <= -1.0  # -cond, higher = better
    assert get_proxy("tenas_ntk").compute(ctx, "guarded") == got
    assert get_proxy("tenas_ntk").default_flavor == "tenas"


def test_ntk_guards():
    f = tenas.ntk_score_from_eigenvalues
    assert f([0.0, 0.0]) == -1e5  # NaN -> 1e5, as np.nan_to_num(nan=1e5)
    assert f([0.0, 1.0]) == -np.finfo(np.float64).max  # inf -> float max
    assert f([-1e-12, 1.0]) == pytest.approx(1e12)  # negative cond: ranked best (reference)
    assert f([-1e-12, 1.0], "guarded") == -math.inf
    assert f([0.0, 1.0], "guarded") == -math.inf
    assert f([0.25, 1.0], "guarded") == -4.0
    with pytest.raises(ZcnasError, match="flavor"):
        f([1.0, 2.0], "nope")


def ref_lr_matrix(codes: np.ndarray) -> float:
    a = codes.astype(np.float32)
    d = a @ (1 - a).T
    d = d + d.T
    same = 1 - np.sign(d)
    return float(np.sum(1.0 / same.sum(1)))


def relu4d_codes(model, x):
    feats = []
    m = copy.deepcopy(model).train()
    hs = [
        r.register_forward_hook(
            lambda _m, i, o: feats.append(o.clone()) if i[0].dim() == 4 else None
        )
        for r in m.modules()
        if isinstance(r, nn.ReLU)
    ]
    with torch.no_grad():
        m(x)
    for h in hs:
        h.remove()
    return torch.cat([(f > 0).reshape(x.shape[0], -1) for f in feats], 1).numpy()


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_lr_matches_matrix_count(kind):
    model = tiny_nb201(11) if kind == "nb201" else SmallNet()
    x, _ = batch(b=16, hw=4)
    ctx = PassContext(model=model, inputs=x, seed=5)
    got = get_proxy("tenas_lr").compute(ctx, "data")
    assert got == ref_lr_matrix(relu4d_codes(model, x))
    g = torch.Generator().manual_seed(5 * 1_000_003 + tenas.SALT_LR_INPUT)
    noise = torch.randn(x.shape, generator=g)
    assert get_proxy("tenas_lr").compute(ctx, "aznas") == ref_lr_matrix(relu4d_codes(model, noise))
    shifted = PassContext(model=model, inputs=x * 3 + 1, seed=5)
    assert get_proxy("tenas_lr").compute(shifted, "aznas") == get_proxy("tenas_lr").compute(
        ctx, "aznas"
    )


def test_lr_hand_checked_and_errors():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.ReLU())  # the 2-D ReLU is ignored
    x = torch.tensor([1.0, 2.0, -1.0, -3.0, 0.5]).reshape(5, 1, 1, 1)
    assert get_proxy("tenas_lr").compute(PassContext(model=model, inputs=x), "data") == 2.0
    assert tenas.count_unique_codes(np.array([[1.0, np.nan]])) != tenas.count_unique_codes(
        np.array([[1.0, np.nan]])
    )  # NaN
    flat = nn.Sequential(nn.Flatten(), nn.ReLU())
    with pytest.raises(ZcnasError, match="ReLU"):
        get_proxy("tenas_lr").compute(PassContext(model=flat, inputs=x), "data")


def test_tenas_rank_sum():
    rng = np.random.default_rng(1)
    ntk = -rng.integers(1, 6, 20).astype(float)  # ties
    lr = rng.integers(1, 8, 20).astype(float)
    np.testing.assert_allclose(tenas.tenas_rank_sum(ntk, lr), rankdata(ntk) + rankdata(lr))
    with pytest.raises(ZcnasError, match="ntk scores"):
        tenas.tenas_rank_sum(ntk, lr[:3])


# ------------------------------------------------------------------ EZNAS


def ref_eznas(model, x, seed):
    m = copy.deepcopy(model).train()
    g = torch.Generator().manual_seed(seed * 1_000_003 + eznas.SALT_INIT)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Conv2d):
                fan_out = mod.weight.shape[0] * mod.weight[0, 0].numel()
                std = math.sqrt(2 / fan_out)
                mod.weight.copy_(torch.empty(mod.weight.shape).normal_(0, std, generator=g))
                if mod.bias is not None:
                    mod.bias.zero_()
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.fill_(1.0)
                mod.bias.zero_()
            elif isinstance(mod, nn.Linear):
                # the same draw, bit for bit: gradients that are zero in exact arithmetic (train-
                # mode BN) have noise signs, which the program's sign() then sees
                mod.weight.copy_(torch.empty(mod.weight.shape).normal_(0, 0.01, generator=g))
                mod.bias.zero_()
    # the ReLUs that start a ReLU -> Conv -> BN op, found by walking the network's containers
    relus = []
    for mod in m.modules():
        kids = list(mod.children())
        for a, b, c in zip(kids, kids[1:], kids[2:], strict=False):
            if (
                isinstance(a, nn.ReLU)
                and isinstance(b, nn.Conv2d)
                and isinstance(c, nn.BatchNorm2d)
            ):
                relus.append(a)
    grads = []
    hs = [r.register_full_backward_hook(lambda _m, gi, _go: grads.append(gi[0])) for r in relus]
    out = m(x)
    out.backward(torch.ones_like(out))
    for h in hs:
        h.remove()
    vals = []
    for gi in grads:
        sign, ld = np.linalg.slogdet(np.sign(gi.double().numpy()))
        # integer matrix: |det| < 1/2 is a zero determinant (LU round-off otherwise)
        ld = np.where((sign == 0) | (ld < np.log(0.5)), -np.inf, np.where(sign < 0, 0.0, ld))
        sig = 1 / (1 + np.exp(-ld))
        vals.append(np.sqrt(np.sum(sig**2)))
    return float(np.mean(vals)), len(relus)


class NoTriplet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1)
        )

    def forward(self, x):
        return self.body(x).mean((2, 3))


class ConvBNReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
        )
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_eznas_matches_reference(kind):
    model = tiny_nb201(1) if kind == "nb201" else ConvBNReLU()
    x, _ = batch(b=4, hw=8)
    ctx = PassContext(model=model, inputs=x, seed=2)
    got = get_proxy("eznas").compute(ctx, "eznas")
    want, n = ref_eznas(model, x, 2)
    assert got == pytest.approx(want, rel=1e-9)
    assert len(eznas.relu_conv_bn_triplets(model)) == n
    if kind == "nb201":  # 3 conv edges per cell x 3 cells + 2 ops in each of 2 reductions
        assert n == 3 * 3 + 4
    assert len(eznas.eznas_layer_scores(model, x, seed=2)) == n


def test_eznas_errors():
    x, _ = batch(b=2, hw=8)
    with pytest.raises(ZcnasError, match="ReLU -> Conv2d -> BatchNorm2d"):
        get_proxy("eznas").compute(PassContext(model=NoTriplet(), inputs=x), "eznas")
    rect = torch.randn(2, 3, 8, 6)
    with pytest.raises(ZcnasError, match="square"):
        get_proxy("eznas").compute(PassContext(model=ConvBNReLU(), inputs=rect), "eznas")


# ------------------------------------------------------------------ caller's model untouched


@pytest.mark.parametrize(
    ("name", "flavor"),
    [("zico", "zico"), ("tenas_ntk", "tenas"), ("tenas_lr", "aznas"), ("eznas", "eznas")],
)
def test_caller_model_unchanged(name, flavor):
    model = tiny_nb201(4)
    model.eval()
    model.stem[0].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    x, y = batch(b=4)
    get_proxy(name).compute(PassContext(model=model, inputs=x, labels=y), flavor)
    assert not any(m.training for m in model.modules())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
