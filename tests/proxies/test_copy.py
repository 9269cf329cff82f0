"""``module_copy`` equals ``copy.deepcopy`` on the models the engine meets."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

from zcnas.proxies._copy import module_copy
from zcnas.spaces import nb201


class Recorder:
    def __init__(self) -> None:
        self.calls = 0

    def hook(self, _m, _i, _o) -> None:
        self.calls += 1


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(7, 4)
        self.head = nn.Linear(4, 7, bias=False)
        self.head.weight = self.emb.weight  # tied
        self.register_buffer("scale", torch.tensor(2.0))
        self.register_buffer("tmp", torch.ones(3), persistent=False)
        self.extra = [nn.ReLU()]  # a module outside _modules
        self.sizes = [1, 2, 3]

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.head(self.extra[0](self.emb(t))) * self.scale


def _models() -> list[tuple[str, nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    cell = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    conv = nn.Sequential(
        parametrizations.weight_norm(nn.Conv2d(3, 4, 3)), nn.BatchNorm2d(4), nn.ReLU()
    )
    mlp = nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 2)).eval()
    mlp[0].weight.requires_grad_(False)
    return [
        ("nb201", nb201.build(cell, C=4, N=1), torch.randn(2, 3, 8, 8)),
        ("tied", Tied(), torch.tensor([[1, 2, 3]])),
        ("weight_norm", conv, torch.randn(2, 3, 6, 6)),
        ("mlp", mlp, torch.randn(3, 5)),
    ]


def _tensors(m: nn.Module) -> dict[str, torch.Tensor]:
    out = dict(m.named_parameters(remove_duplicate=False))
    out.update(dict(m.named_buffers(remove_duplicate=False)))
    return out


@pytest.mark.parametrize("name", ["nb201", "tied", "weight_norm", "mlp"])
def test_equals_deepcopy(name):
    _, model, x = next(t for t in _models() if t[0] == name)
    rec = Recorder()
    first = next(m for m in model.modules() if m is not model)
    first.register_forward_hook(rec.hook)
    ref, got = copy.deepcopy(model), module_copy(model)
    assert [type(m) for m in got.modules()] == [type(m) for m in ref.modules()]
    assert [m.training for m in got.modules()] == [m.training for m in model.modules()]
    a, b, o = _tensors(ref), _tensors(got), _tensors(model)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype
        assert b[k].requires_grad == o[k].requires_grad
        assert b[k].data_ptr() != o[k].data_ptr()  # nothing shared with the original
    with torch.no_grad():
        torch.testing.assert_close(got(x), ref(x), rtol=0, atol=0)
    # hooks are copied with their state (deepcopy copies the bound recorder too)
    assert len(first._forward_hooks) == 1
    assert next(m for m in got.modules() if m is not got)._forward_hooks
    assert rec.calls == 0  # the copies' hooks fire on their own recorders


def test_tying_and_independence():
    model = Tied()
    got = module_copy(model)
    assert got.head.weight is got.emb.weight
    assert got.extra[0] is not model.extra[0] and got.sizes == model.sizes
    assert got.sizes is not model.sizes
    with torch.no_grad():
        got.emb.weight.add_(1.0)
    assert not torch.equal(got.emb.weight, model.emb.weight)
    assert "tmp" not in got.state_dict() and "tmp" in dict(got.named_buffers())
