"""The proxy engine: validation, pass sharing, chunking, seeds and no mutation of the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from zcnas.datasets import cifar_batch
from zcnas.exceptions import ZcnasError
from zcnas.proxies import list_proxies, passes, score
from zcnas.spaces import nb201

GRADIENT = ["grad_norm", "snip", "fisher", "plain", "grasp"]

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The first 8 real CIFAR-10 test images shipped with zcnas, normalised."""
    return cifar_batch("cifar10", 8)


def bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    )


def plain_net() -> nn.Module:
    """No BN: no cross-sample coupling, so chunked passes must equal unchunked ones."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, 10),
    )


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def test_unknown_proxy_lists_known(batch):
    x, y = batch
    with pytest.raises(ZcnasError, match=r"unknown proxy 'nope'; known: .*grad_norm"):
        score(bn_net(), x, y, ["nope"])
    with pytest.raises(ZcnasError, match=r"unknown proxy 'synflw' \(did you mean 'synflow'\?\)"):
        score(bn_net(), x, y, ["synflw"])


def test_missing_labels_named(batch):
    x, _ = batch
    for name in ("grad_norm", "snip", "fisher", "grasp", "plain", "epe_nas"):
        with pytest.raises(ZcnasError, match=f"{name}.*labels"):
            score(bn_net(), x, None, [name])


def test_missing_module_needs(batch):
    x, y = batch
    with pytest.raises(ZcnasError, match=r"nwot.*ReLU-family.*preact"):
        score(nn.Sequential(nn.Conv2d(3, 2, 3), nn.Tanh(), nn.Flatten()), x, y, ["nwot"])
    no_pool = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 30 * 30, 10))
    with pytest.raises(ZcnasError, match=r"zen.*AdaptiveAvgPool2d"):
        score(no_pool, x, y, ["zen"])
    with pytest.raises(ZcnasError, match=r"synflow.*Conv2d or nn.Linear"):
        score(nn.Sequential(nn.Flatten(), nn.ReLU()), x, y, ["synflow"])


def test_validation_happens_before_any_pass(batch, monkeypatch):
    x, y = batch
    calls = []
    monkeypatch.setattr(passes, "data_backward", lambda *a, **k: calls.append(1))
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(ZcnasError, match="nwot"):
        score(model, x, y, ["grad_norm", "snip", "nwot"])
    assert calls == []


@pytest.mark.parametrize(
    ("inputs", "labels", "match"),
    [
        (torch.zeros(3, 32, 32), None, "forward failed.*3 channels"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.int64), None, "forward failed"),
        (torch.full((2, 3, 8, 8), float("nan")), None, "NaN or infinite"),
        ((), None, "without any tensor"),
        ([[1.0]], None, "torch.Tensor"),
        (torch.zeros(2, 3, 8, 8), torch.zeros(2, 1, dtype=torch.long), "1-D integer"),
        (torch.zeros(2, 3, 8, 8), torch.zeros(2), "1-D integer"),
        (torch.zeros(2, 3, 8, 8), torch.zeros(3, dtype=torch.long), "3 entries"),
        (torch.zeros(2, 3, 8, 8), torch.tensor([0, -1]), "non-negative"),
    ],
)
def test_bad_inputs(inputs, labels, match):
    with pytest.raises(ZcnasError, match=match):
        score(bn_net(), inputs, labels, ["grad_norm"])


def test_a_failing_loss_says_which_shapes_and_what_to_pass():
    """Dense outputs with class-index labels: the message names both shapes and loss_fn=."""
    net = nn.Sequential(nn.Conv2d(3, 5, 1))  # (B, 5, H, W) "segmentation" logits
    x = torch.randn(4, 3, 6, 6)
    with pytest.raises(ZcnasError, match=r"outputs \(4, 5, 6, 6\) and labels \(4,\).*loss_fn="):
        score(net, x, torch.zeros(4, dtype=torch.long), ["snip"])
    per_pixel = torch.randint(0, 5, (4, 6, 6))
    assert np.isfinite(score(net, x, per_pixel, ["snip"], loss_fn=nn.CrossEntropyLoss())["snip"])
    with pytest.raises(ZcnasError, match=r"loss_fn failed on outputs \(4, 5, 6, 6\)"):
        score(net, x, torch.zeros(4, 3), ["snip"], loss_fn=nn.CrossEntropyLoss())


def test_resolve_flavors_is_what_score_runs():
    from zcnas.proxies import get_proxy, resolve_flavors

    got = resolve_flavors(["snip", "synflow"], {"synflow": "bn"})
    assert got == {"snip": get_proxy("snip").resolve_flavor(None), "synflow": "bn"}
    assert resolve_flavors(None).keys() == set(list_proxies())
    with pytest.raises(ZcnasError, match="has no flavor 'zzz'"):
        resolve_flavors(["snip"], {"snip": "zzz"})
    with pytest.raises(ZcnasError, match="no requested proxy has flavor 'zzz'"):
        resolve_flavors(["snip", "nwot"], "zzz")
    with pytest.raises(ZcnasError, match="not requested"):
        resolve_flavors("snip", {"nwot": "naslib"})


def test_bad_flavor_and_label_range(batch):
    x, y = batch
    with pytest.raises(ZcnasError, match="no flavor 'zzz'"):
        score(bn_net(), x, y, ["snip"], flavor={"snip": "zzz"})
    with pytest.raises(ZcnasError, match="num_classes=5"):
        score(bn_net(), x, y, ["snip"], num_classes=5)
    with pytest.raises(ZcnasError, match="outputs"):
        score(bn_net(), x, y + 10, ["snip"])
    with pytest.raises(ZcnasError, match="max_chunk"):
        score(bn_net(), x, y, ["snip"], max_chunk=0)


# ---------------------------------------------------------------------------------------------
# results, sharing, chunking
# ---------------------------------------------------------------------------------------------


def test_all_proxies_by_default_in_order(batch):
    x, y = batch
    model = nb201.build(1, C=4, N=1, num_classes=10)
    got = score(model, x, y)
    assert list(got) == list_proxies()
    assert all(isinstance(v, float) and np.isfinite(v) for v in got.values())
    sub = score(model, x, y, ["snip", "flops"])
    assert list(sub) == ["snip", "flops"] and sub["snip"] == got["snip"]


def test_gradient_proxies_share_one_backward(batch, monkeypatch):
    x, y = batch
    calls = []
    real = passes.data_backward

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(passes, "data_backward", counting)
    score(bn_net(), x, y, GRADIENT)
    assert len(calls) == 1
    calls.clear()
    score(bn_net(), x, y, GRADIENT, max_chunk=3)  # 8 samples -> chunks of 3, 3, 2
    assert len(calls) == 3


DATA = [*GRADIENT, "nwot", "jacov", "epe_nas"]


def _bn_resnet() -> nn.Module:
    """A small NB201 network: BN, skips, several ReLUs and a dead-end-free cell."""
    torch.manual_seed(1)
    return nb201.build(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|"
        "avg_pool_3x3~1|nor_conv_3x3~2|",
        C=4,
        N=1,
        num_classes=10,
    )


def test_joint_pass_equals_separate_passes(batch):
    """The one-forward joint pass gives each pass's separate result (BN net, one chunk)."""
    from zcnas.proxies.base import DATA_PASSES, PassContext

    x, y = batch
    model = _bn_resnet()
    joint = PassContext(model=model, inputs=x, labels=y, planned=DATA_PASSES)
    alone = PassContext(model=model, inputs=x, labels=y)
    gj, ga = passes.grad_pass(joint), passes.grad_pass(alone)
    assert "joint" in joint._cache and "joint" not in alone._cache
    for a, b in [
        *zip(gj.grads, ga.grads, strict=True),
        *zip(gj.fisher_sq, ga.fisher_sq, strict=True),
        *zip(passes.hessian_grad_pass(joint)[1], passes.hessian_grad_pass(alone)[1], strict=True),
        (passes.jacobian_pass(joint)[0], passes.jacobian_pass(alone)[0]),
    ]:
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)
    cj, ca = passes.relu_codes(joint), passes.relu_codes(alone)
    assert len(cj) == len(ca) > 2
    assert all(torch.equal(a, b) for a, b in zip(cj, ca, strict=True))


def test_data_proxies_share_one_forward(batch):
    """The eight real-batch proxies run one forward in total (hooks are copied with the model)."""
    x, y = batch
    model = _bn_resnet()
    calls = []
    # full-batch forwards only (applicability's probe runs one forward on 2 samples)
    model.register_forward_pre_hook(lambda _m, inp: calls.append(1) if len(inp[0]) > 2 else None)
    joint = score(model, x, y, DATA)
    assert len(calls) == 1
    calls.clear()
    alone = {n: score(model, x, y, [n])[n] for n in DATA}
    assert len(calls) == len(DATA)  # each alone: one forward (grasp's two passes share it)
    for n in DATA:
        assert joint[n] == pytest.approx(alone[n], rel=1e-6, abs=1e-9), n


def test_chunked_equals_unchunked(batch):
    x, y = batch
    names = [*GRADIENT, "nwot", "jacov", "epe_nas"]
    full = score(plain_net(), x, y, names, flavor="foresight")
    for chunk in (1, 3):
        part = score(plain_net(), x, y, names, flavor="foresight", max_chunk=chunk)
        for n in names:
            assert part[n] == pytest.approx(full[n], rel=2e-4, abs=1e-9), (n, chunk)


def test_seed_determinism_and_no_rng_leak(batch):
    x, y = batch
    model = bn_net()
    state = torch.get_rng_state()
    a = score(model, x, y, ["zen", "snip"], seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert score(model, x, y, ["zen", "snip"], seed=1) == a
    assert score(model, x, y, ["zen"], seed=2)["zen"] != a["zen"]


def test_flavor_mapping_and_synflow_log(batch):
    x, y = batch
    model = bn_net()
    raw = score(model, x, y, ["synflow", "snip"], flavor={"synflow": "foresight"})
    default = score(model, x, y, ["synflow", "snip"])
    assert default["synflow"] == pytest.approx(np.log(raw["synflow"]))
    assert default["snip"] == raw["snip"]


def test_score_works_under_no_grad_and_numpy_inputs(batch):
    x, y = batch
    with torch.no_grad():
        a = score(bn_net(), x, y, ["snip"])
    b = score(bn_net(), x.numpy(), y.numpy(), ["snip"])
    assert a == b


# ---------------------------------------------------------------------------------------------
# the caller's model is never modified
# ---------------------------------------------------------------------------------------------


def snapshot(model: nn.Module):
    return (
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        {n: (p.requires_grad, p.grad) for n, p in model.named_parameters()},
        {n: m.training for n, m in model.named_modules()},
        {
            n: (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for n, m in model.named_modules()
        },
    )


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_not_modified(batch, mode):
    x, y = batch
    model = nb201.build(2, C=4, N=1, num_classes=10)
    model.train(mode == "train")
    model.stem[0].weight.requires_grad_(False)
    model.classifier.register_forward_hook(lambda *a: None)
    before = snapshot(model)
    score(model, x, y, max_chunk=5)
    after = snapshot(model)
    assert before[0].keys() == after[0].keys()
    for k in before[0]:
        assert torch.equal(before[0][k], after[0][k]), k
    assert before[1:] == after[1:]
