"""zcnas.spaces.supernet: mixed ops, projection, perturbation and discretisation.

Independent references: a fully projected supernet must compute exactly the function of the
stand-alone network from the space's own builder (same parameters copied over), and the weight
rows every mixed op reads during a forward pass are recorded with hooks.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from zcnas.exceptions import ZcnasError
from zcnas.spaces import darts, macro, nb201

torch = pytest.importorskip("torch")
supernet = pytest.importorskip("zcnas.spaces.supernet")

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _x(n=3, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g)


def _seen_rows(net, x):
    """The weight row each MixedOp read during one forward, as {module name: row tensor}."""
    seen = {}
    hooks = []
    for name, mod in net.named_modules():
        if isinstance(mod, supernet.MixedOp):

            def pre(m, _inp, name=name):
                seen[name] = (m.row, m._state.weights[m.row].clone())

            hooks.append(mod.register_forward_pre_hook(pre))
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return seen


def test_project_changes_exactly_one_edge():
    net = supernet.nb201_supernet(C=4, N=1)
    net.reset(0)
    w0 = net.mixing_weights()
    assert torch.allclose(w0.sum(1), torch.ones(6, dtype=w0.dtype))
    assert float((w0 - 0.2).abs().max()) < 1e-2  # softmax of 1e-3 * N(0, 1): about 1/5 each
    net.project(2, "nor_conv_3x3")
    w1 = net.mixing_weights()
    changed = [e for e in range(6) if not torch.equal(w0[e], w1[e])]
    assert changed == [2]
    assert w1[2].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert net.candidate_edges() == [0, 1, 3, 4, 5]
    with pytest.raises(ZcnasError, match="already projected"):
        net.project(2, 0)


def test_perturbation_changes_exactly_one_op_of_one_edge_in_every_cell():
    net = supernet.nb201_supernet(C=4, N=2)
    net.reset(1)
    x = _x()
    before = _seen_rows(net, x)
    with net.perturbed(4, "skip_connect"):
        during = _seen_rows(net, x)
    after = _seen_rows(net, x)
    assert len(before) == 6 * 2 * 3  # 6 edges in each of the 6 cells
    for name, (row, w) in before.items():
        row2, w2 = during[name]
        assert row2 == row
        diff = torch.nonzero(w != w2).flatten().tolist()
        if row == 4:
            assert diff == [1] and float(w2[1]) == 0.0
        else:
            assert diff == []
        assert torch.equal(after[name][1], w)  # restored on exit
    # disc-zc's discretisation: the edge becomes one-hot, nothing else moves
    with net.discretized(0, 3):
        disc = _seen_rows(net, x)
    for name, (row, w) in before.items():
        expect = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], dtype=w.dtype) if row == 0 else w
        assert torch.equal(disc[name][1], expect)


def test_perturbation_changes_the_output_only_through_that_op():
    net = supernet.nb201_supernet(C=4, N=1, removed="skip").eval()
    net.reset(2)
    x = _x()
    with torch.no_grad():
        base = net(x)
        with net.perturbed(5, "none"):  # removing the zero op changes nothing
            same = net(x)
        with net.perturbed(5, "nor_conv_3x3"):
            other = net(x)
    assert torch.allclose(base, same, atol=1e-6)
    assert not torch.allclose(base, other, atol=1e-4)


def _copy_nb201(sup, ref, chosen):
    sd = {}
    for name, t in sup.net.state_dict().items():
        parts = name.split(".")
        if len(parts) > 4 and parts[2] == "edges":  # cells.i.edges.e.ops.k.rest
            i, e, k = parts[1], int(parts[3]), int(parts[5])
            if k == chosen[e]:
                sd[".".join(["cells", i, "layers", str(e), *parts[6:]])] = t
        else:
            sd[name] = t
    ref.load_state_dict(sd)  # strict: every parameter of the stand-alone network is matched


@pytest.mark.parametrize("removed", ["zero_input", "skip"])
def test_fully_projected_nb201_supernet_is_the_standalone_network(removed):
    arch = "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    ops = nb201.str_to_ops(arch)
    torch.manual_seed(0)
    sup = supernet.nb201_supernet(C=4, N=2, num_classes=7, removed=removed)
    sup.reset(0)
    for e in np.random.default_rng(0).permutation(6):
        sup.project(int(e), ops[e])
    assert sup.arch() == arch
    ref = sup.build_network(arch)
    _copy_nb201(sup, ref, [nb201.OPS.index(o) for o in ops])
    sup.eval(), ref.eval()
    x = _x(4, 32)
    with torch.no_grad():
        assert torch.allclose(sup(x), ref(x), atol=1e-5)


def test_fully_projected_macro_supernet_is_the_standalone_network():
    arch = "21020112"
    torch.manual_seed(0)
    sup = supernet.macro_supernet(removed="skip")
    for e, d in enumerate(arch):
        sup.project(e, int(d))
    assert sup.arch() == arch
    ref = macro.build(arch)
    sd = {}
    for name, t in sup.net.state_dict().items():
        parts = name.split(".")
        if parts[0] == "layers":  # layers.i.ops.k.rest
            if int(parts[3]) == int(arch[int(parts[1])]):
                sd[".".join(["layers", parts[1], *parts[4:]])] = t
        else:
            sd[name] = t
    ref.load_state_dict(sd)
    sup.eval(), ref.eval()
    x = _x(2, 32)
    with torch.no_grad():
        assert torch.allclose(sup(x), ref(x), atol=1e-5)


def test_macro_weights_are_uniform_and_darts_shape():
    m = supernet.macro_supernet()
    m.reset(3)
    assert torch.equal(m.mixing_weights(), torch.full((8, 3), 1 / 3, dtype=torch.float64))
    d = supernet.darts_supernet(C=4, layers=3)
    assert d.num_edges == 28 and d.op_names == darts.OPS
    assert 0 not in d.selectable  # none is never selected
    with torch.no_grad():
        assert d(_x(2, 16)).shape == (2, 10)


def test_darts_genotype_needs_topology_and_is_valid():
    d = supernet.darts_supernet(C=4, layers=3)
    d.reset(0)
    rng = np.random.default_rng(0)
    for e in range(d.num_edges):
        d.project(e, int(rng.integers(1, 8)))
    with pytest.raises(ZcnasError, match="topology"):
        d.arch()
    for group in d.incoming_edges():
        for e in group[2:]:
            d.remove_edge(e)
    g = d.arch()
    assert isinstance(g, darts.Genotype)
    for cell in (g.normal, g.reduce):
        for k in range(4):
            (_, a), (_, b) = cell[2 * k], cell[2 * k + 1]
            assert a < b < k + 2  # two distinct earlier inputs
    assert darts.build(g, C=4, layers=3)(_x(1, 32)).shape == (1, 10)


def test_deepcopy_keeps_one_shared_state():
    net = supernet.nb201_supernet(C=4, N=1)
    net.reset(0)
    cp = copy.deepcopy(net)
    states = {id(m._state) for m in cp.modules() if isinstance(m, supernet.MixedOp)}
    assert states == {id(cp._state)} and id(cp._state) != id(net._state)
    cp.project(0, 1)
    assert 0 not in net.projected


def test_errors():
    net = supernet.nb201_supernet(C=4, N=1)
    with pytest.raises(ZcnasError, match="outside"):
        net.project(6, 0)
    with pytest.raises(ZcnasError, match="unknown op"):
        net.project(0, "conv_7x7")
    with pytest.raises(ZcnasError, match="not projected"):
        net.arch()
    with pytest.raises(ZcnasError, match="removed must be"):
        supernet.nb201_supernet(removed="drop")
    with pytest.raises(ZcnasError, match="unknown space"):
        supernet.build_supernet("nb101")
    with pytest.raises(ZcnasError, match="no size setting"):
        net.build_network(nb201.index_to_str(0), layers=3)
