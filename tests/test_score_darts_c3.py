"""``zcnas score --space darts-c3``: the SWAP paper's DARTS-1000 network (C=3, one reduction
cell on the image) keyed by genotype text (``none`` edges allowed), ``--arch-file``, and the
DARTS-1000 column of benches/proxy_table.py."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from zcnas import ZcnasError
from zcnas.cli import main
from zcnas.scoring import ArchScorer, read_arch_file, sample_archs
from zcnas.spaces import darts, nb301

ROOT = Path(__file__).resolve().parents[1]
#: A DARTS-1000 genotype (row 0 of darts_1000_cifar10.csv) with a ``none`` edge in both cells.
CELL = [
    ("none", 0),
    ("dil_conv_5x5", 0),
    ("sep_conv_5x5", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("dil_conv_5x5", 2),
    ("sep_conv_5x5", 3),
    ("skip_connect", 4),
]
WITH_NONE = darts.Genotype(normal=CELL, reduce=CELL)


def _with_none(seed: int) -> darts.Genotype:
    """A sampled genotype with some edges set to ``none`` (``darts.sample`` draws none)."""
    rng = np.random.default_rng(seed)
    g = darts.sample(rng)
    cells = []
    for cell in (g.normal, g.reduce):
        cells.append([("none", s) if rng.random() < 0.4 else (op, s) for op, s in cell])
    return darts.Genotype(normal=cells[0], reduce=cells[1])


def test_key_round_trip_and_canonical_form():
    for seed in range(20):
        g = _with_none(seed)
        k = darts.key(g)
        assert darts.parse_genotype(k) == g  # the key reads back to the same genotype
        assert darts.key(k) == k  # canonical: the key of the key is the key
        assert darts.key(str(g).replace("[2, 3, 4, 5]", "range(2, 6)")) == k
        assert ArchScorer("darts-c3", ["params"]).key(g) == k
    plain = darts.sample(0)  # no none: NASLib's encoding gives the same genotype, same key
    assert darts.key(darts.to_naslib_nb301(plain)) == darts.key(plain)
    assert darts.key(WITH_NONE) != darts.key(plain)
    with pytest.raises(ZcnasError):  # why --space darts cannot hold the DARTS-1000 genotypes
        nb301.key(WITH_NONE)


def _plain_count(g) -> int:
    import torch

    torch.manual_seed(0)
    model = darts.build(g, C=3, layers=1, stem=False, num_classes=10)
    return sum(p.numel() for p in model.parameters())


def test_params_of_the_c3_network(torch_one_thread):
    """The stored ``params`` (millions) is the parameter count of SWAP's DARTS-1000 network,
    darts.build(g, C=3, layers=1, stem=False) (pym1024/SWAP ``Network(3, 10, 1, genotype)``),
    on three genotypes; for an all-``none`` genotype it is the closed form of that network:
    no stem; one cell, a reduction cell (DARTS' rule puts the reductions at layers // 3 = 0),
    C=6, both inputs the 3-channel image: 2 x ReLUConvBN(3->6) = 2 x (18 + 12); head
    Linear(24->10) 250; total 310."""
    scorer = ArchScorer("darts-c3", ["params"])
    all_none = darts.Genotype(normal=[("none", 0), ("none", 1)] * 4, reduce=[("none", 0)] * 8)
    for g in (WITH_NONE, darts.DARTS_V2, _with_none(3), all_none):
        scores, _ = scorer(g)
        assert scores["params"] * 1e6 == pytest.approx(_plain_count(g), abs=1e-6)
    assert _plain_count(all_none) == 2 * (18 + 12) + 250
    # only the reduction cell is built: a genotype's normal cell does not change the network
    swapped = darts.Genotype(normal=all_none.normal, reduce=darts.DARTS_V2.reduce)
    assert _plain_count(swapped) == _plain_count(darts.DARTS_V2)
    assert _plain_count(darts.DARTS_V2) < sum(
        p.numel() for p in darts.build(darts.DARTS_V2).parameters()
    )


def test_score_a_genotype_with_none_edges(tmp_path, capsys, torch_one_thread):
    from zcnas.bench import ScoreStore

    store = tmp_path / "s.db"
    argv = ["score", "--space", "darts-c3", "--arch", str(WITH_NONE), "--proxies"]
    assert main([*argv, "params,synflow", "--store", str(store), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == [darts.key(WITH_NONE)]
    with ScoreStore(store, mode="r") as st:
        df = st.query("darts_c3", "cifar10", ["params", "synflow"])
    assert list(df.index) == [darts.key(WITH_NONE)]
    assert df.loc[darts.key(WITH_NONE), "params"] * 1e6 == pytest.approx(_plain_count(WITH_NONE))
    assert np.isfinite(df["synflow"]).all()
    # resumed: nothing left to score, the stored values are read back
    assert main([*argv, "params,synflow", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == out


def test_darts_c3_space_rules():
    a = sample_archs("darts-c3", 6, 1)
    keys = [darts.key(g) for g in a]
    assert len(set(keys)) == 6 and keys == [darts.key(g) for g in sample_archs("darts-c3", 6, 1)]
    with pytest.raises(ZcnasError, match="CIFAR-10"):
        ArchScorer("darts-c3", ["params"], dataset="cifar100")
    from zcnas.distributed import all_archs

    with pytest.raises(ZcnasError, match="arch-file"):
        all_archs("darts-c3")


def test_read_arch_file(tmp_path):
    g1, g2 = str(WITH_NONE), str(darts.DARTS_V2)
    txt = tmp_path / "a.txt"
    txt.write_text(f"# two genotypes\n{g1}\n\n  {g2}  \n")
    assert read_arch_file(txt) == [g1, g2]
    for col in ("arch", "genotype"):
        f = tmp_path / f"{col}.csv"
        with open(f, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", col, "acc"])
            w.writerows([[0, g1, 1.0], [1, g2, 2.0]])
        assert read_arch_file(f) == [g1, g2]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,acc\n0,1\n")
    with pytest.raises(ZcnasError, match="'arch' or 'genotype'"):
        read_arch_file(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ZcnasError, match="no architecture"):
        read_arch_file(empty)
    with pytest.raises(ZcnasError, match="cannot read"):
        read_arch_file(tmp_path / "missing.txt")


def test_arch_file_scores_like_arch(tmp_path, capsys, torch_one_thread):
    f = tmp_path / "archs.txt"
    f.write_text("0\n# a comment\n15624\n")
    base = ["score", "--proxies", "params,grad_norm", "--json"]
    assert main([*base, "--arch", "0", "--arch", "15624"]) == 0
    by_arch = json.loads(capsys.readouterr().out)
    assert main([*base, "--arch-file", str(f)]) == 0
    assert json.loads(capsys.readouterr().out) == by_arch
    assert list(by_arch) == ["0", "15624"]
    assert main([*base, "--arch-file", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


def _proxy_table(monkeypatch, data: Path, stores: Path):
    monkeypatch.setenv("ZCNAS_SHARED", str(data.parent))
    monkeypatch.setenv("ZCNAS_STORES", str(stores))
    spec = importlib.util.spec_from_file_location("proxy_table", ROOT / "benches/proxy_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_darts1000_ground_truth_is_keyed_like_the_scores(shared_data, tmp_path, monkeypatch):
    """The column's ground truth and the keys ``zcnas score`` gives the architectures it
    reads with --arch-file line up row for row (checked on the CSV read independently)."""
    from zcnas.bench import ScoreStore

    path = shared_data / "darts" / "darts_1000_cifar10.csv"
    with open(path) as f:
        rows = list(csv.DictReader(f))
    pt = _proxy_table(monkeypatch, shared_data, tmp_path)
    col = pt.COLUMNS["darts1000"]
    assert "blocked" not in col and col["space"] == "darts_c3"
    extra = pt._prepare("darts1000", col)
    assert extra == ["--arch-file", str(path)]
    archs = read_arch_file(extra[1])
    assert len(archs) == len(rows) == col["n"] == 1000
    scorer = ArchScorer("darts-c3", ["params"])
    with ScoreStore(tmp_path / col["store"], mode="r") as st:
        gt = st.ground_truth_frame()
    gt = gt[(gt.space == "darts_c3") & (gt.metric == "cifar10_valid")].set_index("arch")
    assert len(gt) == 1000  # 1,000 distinct keys
    n_none = 0
    for i in (0, 1, 2, 500, 999):
        k = scorer.key(archs[i])
        assert k == rows[i]["genotype"]  # the file's text is already canonical
        assert gt.loc[k, "value"] == pytest.approx(float(rows[i]["cifar10_valid"]))
        n_none += "'none'" in k
    assert n_none >= 1  # rows with none edges are among the checked ones
    assert sum("'none'" in r["genotype"] for r in rows) == 644


#: Row 2 of darts_1000_cifar10.csv: every edge reads input 0 (the cell two back) or a node fed
#: only by it, so each cell ignores the previous cell and AZ-NAS trainability cannot apply.
_NO_PREV_CELL = [
    ("dil_conv_5x5", 0),
    ("skip_connect", 0),
    ("skip_connect", 2),
    ("none", 2),
    ("sep_conv_5x5", 0),
    ("sep_conv_3x3", 3),
    ("skip_connect", 4),
    ("dil_conv_5x5", 0),
]
NO_PREV = darts.Genotype(normal=list(_NO_PREV_CELL), reduce=list(_NO_PREV_CELL))


def test_proxy_errors_nan_keeps_the_other_proxies(tmp_path, capsys, torch_one_thread):
    argv = ["score", "--space", "darts-c3", "--arch", str(NO_PREV)]
    argv += ["--proxies", "params,az_trainability", "--json"]
    assert main(argv) == 2  # default: the whole architecture fails
    assert "AZ-NAS trainability" in capsys.readouterr().err
    with pytest.warns(Warning, match="az_trainability"):
        assert main([*argv, "--proxy-errors", "nan"]) == 0
    out = json.loads(capsys.readouterr().out)[darts.key(NO_PREV)]
    assert np.isnan(out["az_trainability"])
    assert out["params"] * 1e6 == pytest.approx(_plain_count(NO_PREV))
    # the same through zcnas.distributed (one worker process: it prints the warning), a store
    store = str(tmp_path / "s.db")
    assert main([*argv, "--proxy-errors", "nan", "--workers", "1", "--store", store]) == 0
    from zcnas.bench import ScoreStore

    with ScoreStore(store, mode="r") as st:
        df = st.query("darts_c3", "cifar10", ["params", "az_trainability"])
    assert list(df.index) == [darts.key(NO_PREV)] and np.isnan(df["az_trainability"]).all()
    with pytest.raises(ZcnasError, match="proxy_errors"):
        ArchScorer("darts-c3", ["params"], proxy_errors="skip")
