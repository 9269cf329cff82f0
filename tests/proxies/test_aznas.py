"""zcnas.proxies.aznas: AZ-NAS's four proxies and the non-linear rank aggregation.

Checks: every component on a tiny NB201 network and on a hand-made conv net equals a plain,
slow reimplementation written here (same seeds, features taken by calling the blocks by hand,
NumPy eigenvalues/SVD in float64, pixel-unshuffle by reshaping); feature modules named by the
model's attribute or the argument (names or modules) agree; an identity block gives -inf
trainability and an all-zero feature gives NaN -> -inf expressivity/progressivity; the Gaussian
flavor ignores the caller's pixel values while "data" uses them; the four proxies share one
pass; errors name what is missing; the caller's model is not modified; ``aznas_score`` equals
sum log(rankdata / m) with NaN and -inf ranked lowest.
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
from zcnas.proxies import aznas
from zcnas.proxies.base import PassContext, get_proxy
from zcnas.spaces import nb201

pytestmark = pytest.mark.usefixtures("torch_one_thread")


NAMES = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")


def gen(seed: int, salt: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed * 1_000_003 + salt)
    return g


# ------------------------------------------------------------------ plain reimplementation


def ref_init(model: nn.Module, seed: int) -> None:
    g = gen(seed, aznas.SALT_INIT)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0) / math.sqrt(fan_in)
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()


def ref_entropy(f: torch.Tensor) -> float:
    c = f.shape[1]
    x = f.detach().permute(0, 2, 3, 1).reshape(-1, c)
    x = x - x.mean(0, keepdim=True)
    cov = (x.T @ x / x.shape[0]).double().numpy()
    lam = np.linalg.eigvalsh(cov)
    p = lam / lam.sum()
    return float(np.sum(-p * np.log(p + 1e-8)))


def unshuffle(g: torch.Tensor, s: int) -> torch.Tensor:
    b, c, h, w = g.shape
    g = g.reshape(b, c, h // s, s, w // s, s).permute(0, 1, 3, 5, 2, 4)
    return g.reshape(b, c * s * s, h // s, w // s)


def ref_block(f_out, f_in, g_out) -> float:
    (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    if g_in.shape[2] != g_out.shape[2]:
        g_in = unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    a = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).double().numpy()
    o = g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1]).double().numpy()
    s = np.linalg.svd(a.T @ o / o.shape[0], compute_uv=False).max()
    return -s - 1 / (s + 1e-6) + 2


def reference(model, blocks, x_shape, seed, inputs=None):
    """blocks(model) -> list of callables applied in sequence: F_0 = blocks[0](x), ..."""
    m = copy.deepcopy(model).train()
    ref_init(m, seed)
    x = torch.randn(x_shape, generator=gen(seed, aznas.SALT_INPUT)) if inputs is None else inputs
    feats = []
    h = x
    for blk in blocks(m):
        h = blk(h)
        feats.append(h)
    e = np.array([ref_entropy(f) for f in feats])
    g = gen(seed, aznas.SALT_RADEMACHER)
    t = {}
    for i in reversed(range(1, len(feats))):
        g_out = torch.bernoulli(torch.full(feats[i].shape, 0.5), generator=g) * 2 - 1
        t[i] = ref_block(feats[i], feats[i - 1], g_out)
    tv = np.mean([t[i] for i in sorted(t)])
    flops = 0
    hooks = []

    def conv_hook(mod, _i, out):
        nonlocal flops
        if isinstance(mod, nn.Conv2d):
            flops += out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            flops += out.numel() * mod.in_features

    for mod in m.modules():
        if isinstance(mod, nn.Conv2d | nn.Linear):
            hooks.append(mod.register_forward_hook(conv_hook))
    with torch.no_grad():
        m.eval()(torch.zeros((1, *x_shape[1:])))
    for hk in hooks:
        hk.remove()

    def fix(v):
        return -math.inf if math.isnan(v) else float(v)

    return {
        "expressivity": fix(e.sum()),
        "progressivity": fix(np.min(np.diff(e))),
        "trainability": fix(tv),
        "complexity": flops / 1e6,
    }


def nb201_blocks(m):
    return [m.stem, *m.cells]


class SmallNet(nn.Module):
    """A hand-made plain CNN with a stride-2 block (pixel-unshuffle path)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.b1 = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6))
        self.b2 = nn.Sequential(nn.ReLU(), nn.Conv2d(6, 8, 3, stride=2, padding=1))
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))

    def forward(self, x):
        return self.head(self.b2(self.b1(self.conv0(x))))


def small_blocks(m):
    return [m.conv0, m.b1, m.b2]


def ctx_for(model, inputs, seed=3):
    return PassContext(model=model, inputs=inputs, seed=seed)


def close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=2e-4, abs_tol=2e-4)


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("arch", [1, 7777])
def test_nb201_matches_reference(arch):
    torch.manual_seed(arch)
    model = nb201.build(arch, C=8, N=1)
    x = torch.randn(8, 3, 8, 8)
    ctx = ctx_for(model, x)
    want = reference(model, nb201_blocks, x.shape, 3)
    for comp in aznas.COMPONENTS:
        p = get_proxy(f"az_{comp}")
        got = p.compute(ctx, p.default_flavor)
        assert close(got, want[comp]), (comp, got, want[comp])
    # 6 features for N=1 (stem + 3 cells + 2 reduction blocks): 18 for N=5.
    assert len(aznas.find_feature_modules(model)) == 6
    assert len(aznas.find_feature_modules(nb201.build(arch, C=8, N=5))) == 18


def test_four_proxies_share_one_pass():
    model = nb201.build(5, C=8, N=1)
    ctx = ctx_for(model, torch.randn(4, 3, 8, 8))
    vals = {n: get_proxy(n).compute(ctx, "aznas") for n in NAMES}
    assert set(ctx._cache) == {("zcnas.aznas.pass", "aznas"), ("zcnas.aznas.complexity",)}
    direct = aznas.aznas_components(model, ctx.inputs, seed=ctx.seed)
    for n in NAMES:
        assert vals[n] == direct[n[3:]]
    assert len(direct["block_expressivity"]) == 6 and len(direct["block_trainability"]) == 5
    assert all(t <= 0 for t in direct["block_trainability"])  # max 0 at s = 1


def test_feature_modules_attribute_and_argument():
    torch.manual_seed(0)
    model = SmallNet()
    x = torch.randn(6, 3, 8, 8)
    with pytest.raises(ZcnasError, match="feature_modules"):
        aznas.aznas_components(model, x)
    by_mods = aznas.aznas_components(model, x, feature_modules=[model.conv0, model.b1, model.b2])
    by_names = aznas.aznas_components(model, x, feature_modules=["conv0", "b1", "b2"])
    model.feature_modules = ["conv0", "b1", "b2"]
    ctx = ctx_for(model, x, seed=0)
    via_attr = {c: get_proxy(f"az_{c}").compute(ctx, "aznas") for c in aznas.COMPONENTS}
    want = reference(model, small_blocks, x.shape, 0)
    for c in aznas.COMPONENTS:
        assert by_mods[c] == by_names[c] == via_attr[c]
        assert close(via_attr[c], want[c]), (c, via_attr[c], want[c])


def test_data_flavor_uses_inputs_gaussian_does_not():
    torch.manual_seed(1)
    model = SmallNet()
    model.feature_modules = ["conv0", "b1", "b2"]
    x = torch.rand(6, 3, 8, 8)
    gauss = [aznas.aznas_components(model, v, seed=2)["expressivity"] for v in (x, x * 5 + 1)]
    assert gauss[0] == gauss[1]
    data = aznas.aznas_components(model, x, seed=2, flavor="data")
    want = reference(model, small_blocks, x.shape, 2, inputs=x)
    for c in aznas.COMPONENTS:
        assert close(data[c], want[c])
    assert data["expressivity"] != gauss[0]


class Times(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k


def test_identity_block_and_zero_feature():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Identity(), nn.Conv2d(4, 4, 3, padding=1), Times(0.0)
    )
    x = torch.randn(4, 3, 6, 6)
    r = aznas.aznas_components(model, x, feature_modules=["0", "1", "2"])
    assert r["trainability"] == -math.inf and r["block_trainability"][0] == -math.inf
    assert math.isfinite(r["expressivity"])
    z = aznas.aznas_components(model, x, feature_modules=["0", "2", "3"])
    # all-zero last feature: p = 0/0 -> NaN entropy -> -inf for both components
    assert math.isnan(z["block_expressivity"][-1])
    assert z["expressivity"] == -math.inf and z["progressivity"] == -math.inf
    # zero block: g_in = 0 -> s = 0 -> -1/(1e-6) + 2, finite and very low
    assert z["block_trainability"][-1] == pytest.approx(-1e6 + 2)


def test_errors():
    model = nb201.build(1, C=8, N=1)
    x = torch.randn(2, 3, 8, 8)
    ctx = ctx_for(model, x)
    with pytest.raises(ZcnasError, match="flavor"):
        get_proxy("az_expressivity").compute(ctx, "nope")
    with pytest.raises(ZcnasError, match="flavor"):
        get_proxy("az_complexity").compute(ctx, "nope")
    with pytest.raises(ZcnasError, match="no submodule 'bogus'"):
        aznas.aznas_components(model, x, feature_modules=["stem", "bogus"])
    with pytest.raises(ZcnasError, match="at least 2"):
        aznas.aznas_components(model, x, feature_modules=["stem"])
    with pytest.raises(ZcnasError, match="not a submodule"):
        aznas.aznas_components(model, x, feature_modules=[model.stem, nn.ReLU()])
    unused = SmallNet()
    unused.extra = nn.Conv2d(3, 3, 1)
    with pytest.raises(ZcnasError, match="never ran"):
        aznas.aznas_components(unused, x, feature_modules=["conv0", "extra", "b1"])
    flat = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Flatten(), nn.Linear(128, 2))
    with pytest.raises(ZcnasError, match="positions of input and output gradients"):
        aznas.aznas_components(flat, x, feature_modules=["0", "1"])
    five_d = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Unflatten(1, (1, 2)))
    with pytest.raises(ZcnasError, match=r"\(B, C, H, W\), \(B, N, D\) or \(B, D\)"):
        aznas.aznas_components(five_d, x, feature_modules=["0", "1"])
    with pytest.raises(ZcnasError, match=r"\(m, 4\)"):
        aznas.aznas_score(np.zeros((3, 3)))


def test_caller_model_unchanged():
    model = nb201.build(9, C=8, N=1)
    model.eval()
    model.stem[0].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    ctx = ctx_for(model, torch.randn(4, 3, 8, 8))
    for n in NAMES:
        get_proxy(n).compute(ctx, "aznas")
    assert not model.training and not any(m.training for m in model.modules())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_aznas_score_matches_log_rank_sum():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(12, 4)).round(1)  # ties
    s[2, 1] = np.nan
    s[5, 2] = -np.inf
    s[7, 3] = np.nan
    m = s.shape[0]
    filled = np.where(np.isnan(s), -np.inf, s)
    want = sum(np.log(rankdata(filled[:, j]) / m) for j in range(4))
    np.testing.assert_allclose(aznas.aznas_score(s), want, rtol=1e-12)
    # pool-relative: adding a worse candidate changes the others' scores
    assert not np.allclose(aznas.aznas_score(s[:5]), aznas.aznas_score(s)[:5])


def ref_entropy64(f: torch.Tensor) -> float:
    c = f.shape[1]
    x = f.detach().permute(0, 2, 3, 1).reshape(-1, c).double()
    x = x - x.mean(0, keepdim=True)
    lam = np.linalg.eigvalsh((x.T @ x / x.shape[0]).numpy())
    p = lam / lam.sum()
    return float(np.sum(-p * np.log(p + 1e-8)))


def test_float64_flavors_match_a_float64_reference_and_fix_rank_deficient_stems(monkeypatch):
    """aznas64: the same features, spectra in float64. On a DARTS network (stem Conv(3 -> 48)
    + BN, rank <= 27) float32 gives -inf expressivity; float64 gives the finite entropy a
    float64 reference computes from the same features."""
    from zcnas.spaces import darts

    torch.manual_seed(0)
    model = darts.build(darts.DARTS_V2, C=16, layers=2)
    x = torch.randn(8, 3, 8, 8)
    ctx = ctx_for(model, x)
    got32 = get_proxy("az_expressivity").compute(ctx, "aznas")
    got64 = get_proxy("az_expressivity").compute(ctx, "aznas64")
    assert got32 == -math.inf
    assert math.isfinite(got64)
    # the float64 reference on the features the pass saw (captured from the same pass)
    seen = []
    real = aznas._entropy
    monkeypatch.setattr(aznas, "_entropy", lambda f, f64=False: seen.append(f) or real(f, f64))
    comps = aznas.aznas_components(model, x, seed=3, flavor="aznas64")
    want = sum(ref_entropy64(f) for f in seen)
    assert comps["expressivity"] == pytest.approx(want, rel=1e-9)
    assert comps["expressivity"] == pytest.approx(got64, rel=1e-12)
    # on a full-rank network float64 and float32 agree to float32 rounding
    small = nb201.build(1, C=8, N=1)
    c2 = ctx_for(small, x)
    for comp in ("expressivity", "progressivity", "trainability"):
        p = get_proxy(f"az_{comp}")
        assert close(p.compute(c2, "aznas64"), p.compute(c2, "aznas")), comp
    assert close(
        get_proxy("az_expressivity").compute(c2, "data64"),
        get_proxy("az_expressivity").compute(c2, "data"),
    )


def test_trainability_failing_alone_keeps_expressivity_and_progressivity():
    """A decoder whose blocks upsample (TNB101 segmentation): trainability cannot map the input
    gradient onto the output and raises; the other two components are still computed, and
    equal what the same pass gives when trainability is not requested."""
    from zcnas.exceptions import ZcnasWarning
    from zcnas.proxies import score
    from zcnas.scoring import tnb_batch
    from zcnas.spaces import tnb101

    x, y = tnb_batch("segmentsemantic", 4)
    torch.manual_seed(0)
    net = tnb101.build((1, 2, 3, 1, 2, 3), "segmentsemantic")
    loss = tnb101.loss_fn("segmentsemantic")
    names = ["az_expressivity", "az_progressivity", "az_trainability"]
    with pytest.warns(ZcnasWarning, match="az_trainability: failed: AZ-NAS trainability"):
        got = score(net, x, y, names, flavor="aznas64", loss_fn=loss, on_unsupported="nan")
    alone = score(net, x, y, names[:2], flavor="aznas64", loss_fn=loss)
    assert math.isnan(got["az_trainability"])
    assert got["az_expressivity"] == alone["az_expressivity"] and math.isfinite(
        alone["az_expressivity"]
    )
    assert got["az_progressivity"] == alone["az_progressivity"]
    with pytest.raises(ZcnasError, match="AZ-NAS trainability"):
        score(net, x, y, ["az_trainability"], flavor="aznas64", loss_fn=loss)
