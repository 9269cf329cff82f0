"""zcnas.proxies.swap_meco: SWAP, reg-SWAP, MeCo and MeCo_opt against slow re-implementations.

* SWAP equals a Python-set count of the distinct neuron patterns (columns of the samples x
  neurons sign matrix), built from hooks that record every ReLU output with a 4-D input; 2-D
  ReLUs do not count; the count is bounded by 2**B and by the number of neurons; the mean over
  repeats equals the mean of counts after ``nn.init.normal_`` re-initialisations drawn from the
  same generator; reg-SWAP multiplies by exp(-(P/1e3 - mu)^2 / sigma) with P counted by hand.
* MeCo equals a loop over every module's output with float64 ``torch.corrcoef`` and the general
  ``torch.linalg.eig`` (real parts), NaN -> 0; flavor ``meco`` reads a forward of sample 0
  only; MeCo_opt equals a loop with the same channel draws scaled by C/8, and equals MeCo when
  every layer has fewer than 8 channels (the eigenvalues do not depend on channel order).
* No proxy modifies the caller's model.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.proxies import score, swap_meco
from zcnas.proxies.base import PassContext, get_proxy
from zcnas.spaces import nb201

pytestmark = pytest.mark.usefixtures("torch_one_thread")


class SmallNet(nn.Module):
    """Conv-BN-ReLU x2 and a head with a 2-D ReLU (which SWAP must ignore)."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, c, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.r2 = nn.ReLU(inplace=True)
        self.fc = nn.Linear(c, 6)
        self.r3 = nn.ReLU()
        self.out = nn.Linear(6, 5)

    def forward(self, x):
        h = self.r2(self.bn2(self.c2(self.r1(self.bn1(self.c1(x))))))
        return self.out(self.r3(self.fc(h.mean((2, 3)))))


def tiny_nb201(arch=1234):
    torch.manual_seed(3)
    return nb201.build(arch, C=8, N=1)


def batch(b=8, hw=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, hw, hw, generator=g)


# ------------------------------------------------------------------ SWAP references


def ref_swap_count(model, x):
    """Distinct columns of the sign matrix, counted with a Python set of tuples."""
    m = copy.deepcopy(model).train()
    outs = []
    hs = [
        mod.register_forward_hook(
            lambda _m, i, o: outs.append(o.detach().clone()) if i[0].dim() == 4 else None
        )
        for mod in m.modules()
        if isinstance(mod, nn.ReLU)
    ]
    with torch.no_grad():
        m(x)
    for h in hs:
        h.remove()
    a = torch.cat([torch.sign(o).reshape(x.shape[0], -1) for o in outs], 1).numpy()
    return len({tuple(a[:, j].tolist()) for j in range(a.shape[1])})


def ref_gaussian(model, g):
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d | nn.Linear):
            nn.init.normal_(mod.weight, 0.0, 1.0, generator=g)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_swap_count_matches_set_count(kind):
    model = tiny_nb201() if kind == "nb201" else SmallNet()
    x = batch()
    got = swap_meco.swap_count(copy.deepcopy(model).train(), x)
    assert got == ref_swap_count(model, x)
    ctx = PassContext(model=model, inputs=x)
    assert get_proxy("swap").compute(ctx, "as_is") == got


def test_swap_ignores_2d_relus_and_is_bounded():
    model = SmallNet(c=4)
    x = batch(b=3, hw=4)
    codes = swap_meco.swap_codes(model.train(), x)
    assert codes.shape == (3, 2 * 4 * 4 * 4)  # two 4-D ReLUs of 4x4x4, not the 2-D r3
    assert codes.dtype == torch.bool
    n = swap_meco.swap_count(model, x)
    assert 1 <= n <= min(codes.shape[1], 2**3)
    assert swap_meco.swap_count(nn.Sequential(nn.Flatten(), nn.ReLU()), x) == 0


def test_swap_repeats_match_normal_reinit():
    model = tiny_nb201()
    x = batch(b=12)  # 2**12 patterns possible: not saturated
    got = swap_meco.swap_score(model, x, repeats=3, seed=11)
    g = torch.Generator().manual_seed(11)
    m = copy.deepcopy(model)
    counts = []
    for _ in range(3):
        ref_gaussian(m, g)
        counts.append(ref_swap_count(m, x))
    assert len(set(counts)) > 1  # the repeats do differ
    assert got == pytest.approx(np.mean(counts), rel=1e-12)


def test_reg_swap_factor_and_registered_defaults():
    model = SmallNet()
    x = batch()
    p = sum(np.prod(t.shape) for t in model.parameters()) / 1e3
    mu, sigma = 0.2, 0.05
    expect = math.exp(-((p - mu) ** 2) / sigma)
    assert swap_meco.reg_factor(model, mu, sigma) == pytest.approx(expect, rel=1e-12)
    plain = swap_meco.swap_score(model, x, repeats=2, seed=1)
    reg = swap_meco.swap_score(model, x, repeats=2, seed=1, mu=mu, sigma=sigma)
    assert reg == pytest.approx(plain * expect, rel=1e-12)
    got = score(model, x, proxies=["swap", "reg_swap"], flavor="single", seed=5)
    f = math.exp(-((p - swap_meco.REG_MU_K) ** 2) / swap_meco.REG_SIGMA_K)
    assert got["reg_swap"] == pytest.approx(got["swap"] * f, rel=1e-12)


def test_swap_and_reg_swap_share_one_computation(monkeypatch):
    """In one call, reg-SWAP reuses swap's pattern count: the values equal separate calls
    bit for bit, and the repeats run once."""
    model, x = SmallNet(), batch()
    alone = {p: score(model, x, proxies=[p], seed=3)[p] for p in ("swap", "reg_swap")}
    calls = []
    real = swap_meco.swap_score
    monkeypatch.setattr(swap_meco, "swap_score", lambda *a, **k: calls.append(1) or real(*a, **k))
    both = score(model, x, proxies=["swap", "reg_swap"], seed=3)
    assert both == alone
    assert len(calls) == 1
    from zcnas.proxies.base import PassContext

    ctx = PassContext(model=model, inputs=x, seed=3)
    seed = swap_meco._swap_seed(ctx)
    direct = real(model, x, seed=seed, mu=swap_meco.REG_MU_K, sigma=swap_meco.REG_SIGMA_K)
    assert alone["reg_swap"] == direct


def test_swap_errors():
    model, x = SmallNet(), batch()
    with pytest.raises(ZcnasError, match="both mu and sigma"):
        swap_meco.swap_score(model, x, mu=1.0)
    with pytest.raises(ZcnasError, match="sigma > 0"):
        swap_meco.swap_score(model, x, mu=1.0, sigma=0.0)
    with pytest.raises(ZcnasError, match="repeats"):
        swap_meco.swap_score(model, x, repeats=2, reinit=False)
    with pytest.raises(ZcnasError, match="unknown flavor"):
        get_proxy("swap").compute(PassContext(model=model, inputs=x), "nope")
    with pytest.raises(ZcnasError, match=r"swap.*ReLU"):
        score(nn.Sequential(nn.Conv2d(3, 2, 1), nn.Flatten()), x, proxies="swap")


# ------------------------------------------------------------------ MeCo references


def ref_meco(model, x, draws=None):
    """Loop over every module's output: float64 torch.corrcoef, torch.linalg.eig real parts."""
    m = copy.deepcopy(model).train()
    res = []

    def hook(_m, _i, out):
        fea = out[0].detach().double()
        fea = fea.reshape(fea.shape[0], -1)
        n = fea.shape[0]
        scale = 1.0
        if draws is not None:
            k = min(8, n)
            fea = fea[torch.randperm(n, generator=draws)[:k]]
            scale = n / k
        with warnings.catch_warnings():  # 1-column features: torch warns, gives NaN
            warnings.simplefilter("ignore")
            corr = torch.corrcoef(fea)
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        res.append(float(torch.min(torch.real(torch.linalg.eig(corr)[0]))) * scale)

    hs = [mod.register_forward_hook(hook) for mod in m.modules()]
    with torch.no_grad():
        m(x)
    for h in hs:
        h.remove()
    return sum(r for r in res if math.isfinite(r)), len(res)


@pytest.mark.parametrize("kind", ["nb201", "small"])
def test_meco_matches_reference(kind):
    model = tiny_nb201() if kind == "nb201" else SmallNet()
    x = batch()
    ref, n_terms = ref_meco(model, x[:1])
    assert n_terms > 5
    ctx = PassContext(model=model, inputs=x)
    assert get_proxy("meco").compute(ctx, "meco") == pytest.approx(ref, rel=1e-9, abs=1e-9)
    ref_b, _ = ref_meco(model, x)
    assert get_proxy("meco").compute(ctx, "batch") == pytest.approx(ref_b, rel=1e-9, abs=1e-9)
    assert ref_b != pytest.approx(ref, rel=1e-6)  # BN statistics over the batch matter


def test_meco_opt_matches_reference_with_same_draws():
    model = nb201.build(1234, C=16, N=1)  # 16 channels: 8 sampled, eigenvalue x 2
    x = batch()
    got = swap_meco.meco_score(model, x[:1], opt=True, seed=7)
    ref, _ = ref_meco(model, x[:1], draws=torch.Generator().manual_seed(7))
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-9)
    assert got != pytest.approx(swap_meco.meco_score(model, x[:1]), rel=1e-3)


def test_meco_opt_equals_meco_below_8_channels():
    model = SmallNet(c=4)  # every output has <= 6 channels: all kept, factor 1
    x = batch()
    a = swap_meco.meco_score(model, x[:1], opt=True, seed=3)
    assert a == pytest.approx(swap_meco.meco_score(model, x[:1]), rel=1e-9, abs=1e-12)


def test_meco_constant_features_contribute_zero():
    net = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False))
    nn.init.zeros_(net[0].weight)  # every channel constant: corr all NaN -> 0 -> eigenvalue 0
    assert swap_meco.meco_score(net, batch()[:1]) == 0.0


def test_caller_model_untouched():
    model = tiny_nb201().eval()
    before = copy.deepcopy(model.state_dict())
    score(model, batch(), proxies=["swap", "reg_swap", "meco", "meco_opt"], flavor="single")
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_meco_term_on_rank_deficient_maps():
    # 256 channels of 8x8: rank <= 64, 192 zero eigenvalues (the QL kernel can stall here)
    fea = torch.randn(256, 8, 8, generator=torch.Generator().manual_seed(0))
    got = swap_meco._meco_term(fea, None)
    ref = np.linalg.eigvalsh(np.corrcoef(fea.reshape(256, -1).double().numpy()))[0]
    assert got == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(("c", "n"), [(64, 64), (96, 16), (512, 64)])
def test_meco_term_is_zero_when_channels_cover_positions(c, n):
    """C >= H*W: the correlation is singular, and the eigensolver's minimum (what the
    reference computes) is rounding noise around the exact 0 returned without it."""
    x = torch.randn(c, n, 1, generator=torch.Generator().manual_seed(c + n), dtype=torch.float64)
    assert swap_meco._meco_term(x, None) == 0.0
    low = float(torch.min(torch.real(torch.linalg.eig(torch.corrcoef(x.reshape(c, n)))[0])))
    assert abs(low) < 1e-12
    wide = torch.randn(c, 2 * c, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert swap_meco._meco_term(wide, None) > 1e-3  # C < H*W: a decomposition, not the shortcut
