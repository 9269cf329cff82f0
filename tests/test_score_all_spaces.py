"""``zcnas score --all`` and the distributed backends on every space, with the store keyed as
the NAS-Bench-Suite-Zero importer keys it.

* :func:`zcnas.distributed.all_archs` lists the 500 NB101 and 725 NB301 architectures of the
  Suite-Zero CSVs (keys identical to the imported ones) and the whole TransNAS-Bench-101 spaces
  (the imported rows are a subset).
* The distributed driver, run through an in-process backend (the same protocol as the local
  and Ray backends, without spawning), stores live ``params`` of NB101 / NB301 / TNB101 under
  the importer's space, task and arch keys, and they equal the imported NASLib values.
* The command line passes ``--all``'s list and the space on to the driver.
"""

from __future__ import annotations

import json

import pytest

from zcnas.bench import ScoreStore, import_suite_zero
from zcnas.distributed import _run_job, all_archs, score_distributed
from zcnas.scoring import SPACE_KEYS, ArchScorer

FILES = {
    "nb101": "naslib_zc_nasbench101_500.csv",
    "darts": "naslib_zc_nasbench301_725.csv",
    "tnb101-micro": "naslib_zc_transbench101_micro_e5a821c2.csv",
    "tnb101-macro": "naslib_zc_transbench101_macro_e5a821c2.csv",
}
TASK = {"nb101": "cifar10", "darts": "cifar10", "tnb101-micro": "jigsaw", "tnb101-macro": "normal"}


class InProcess:
    """A :class:`zcnas.distributed.Backend` that runs each job at submit time."""

    name = "in-process"

    def start(self, job, n_workers):
        self.job, self.done = job, []

    def submit(self, worker, key, arch):
        self.done.append((worker, *_run_job(self.job, key, arch)))

    def wait(self, timeout):
        out = [(w, kind, key, payload) for w, key, kind, payload in self.done]
        self.done = []
        return out

    def restart(self, worker):
        pass

    def close(self):
        pass


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    path = tmp_path_factory.mktemp("sz") / "sz.db"
    with ScoreStore(path) as st:
        for f in FILES.values():
            import_suite_zero(st, SHARED_DATA / "suite_zero" / f)
    return path


def test_all_archs_sizes():
    sizes = {s: len(all_archs(s)) for s in FILES}
    assert sizes == {"nb101": 500, "darts": 725, "tnb101-micro": 4096, "tnb101-macro": 3256}
    for s in FILES:
        assert len(set(map(str, all_archs(s)))) == sizes[s]  # distinct
    with pytest.raises(Exception, match="unknown space"):
        all_archs("nb999")


@pytest.mark.parametrize("space", sorted(FILES))
def test_all_archs_keys_are_the_importers(space, imported):
    job = ArchScorer(space, ["params"], dataset=TASK[space])
    live = {job.key(a) for a in all_archs(space)}
    with ScoreStore(imported, mode="r") as st:
        stored = set(st.query(SPACE_KEYS[space], TASK[space], ["params"], flavor="naslib").index)
    if space in ("nb101", "darts"):
        assert live == stored
    else:
        assert stored <= live and len(stored) > 600


@pytest.mark.parametrize("space", sorted(FILES))
def test_distributed_scores_land_under_the_importers_keys(space, imported, tmp_path):
    archs = all_archs(space)
    job = ArchScorer(space, ["params"], dataset=TASK[space])
    with ScoreStore(imported, mode="r") as st:
        ref = st.query(SPACE_KEYS[space], TASK[space], ["params"], flavor="naslib")["params"]
    picked = [a for a in archs if job.key(a) in ref.index][:2]
    with ScoreStore(tmp_path / "live.db") as st:
        rep = score_distributed(
            space,
            picked,
            ["params"],
            store=st,
            backend=InProcess(),
            dataset=TASK[space],
            progress=False,
        )
        assert (rep.n_scored, rep.n_failed) == (2, 0)
        assert st.tasks(SPACE_KEYS[space]) == [TASK[space]]
        live = st.query(SPACE_KEYS[space], TASK[space], ["params"])["params"]
    assert sorted(live.index) == sorted(job.key(a) for a in picked)
    for k in live.index:
        assert live[k] == pytest.approx(ref[k], abs=1e-6)  # NASLib's params, millions


@pytest.mark.parametrize("space", sorted(FILES))
def test_cli_all_hands_every_arch_to_the_driver(space, tmp_path, monkeypatch, capsys):
    import zcnas.distributed
    from zcnas.cli import main

    seen = {}

    def fake(space_, archs, names, **kw):
        seen.update(space=space_, archs=archs, names=names, dataset=kw["dataset"])
        return zcnas.distributed.RunReport("local", 1, len(archs), len(archs))

    monkeypatch.setattr(zcnas.distributed, "score_distributed", fake)
    argv = ["score", "--space", space, "--all", "--proxies", "params"]
    argv += ["--store", str(tmp_path / "s.db")]
    if space.startswith("tnb101"):
        argv += ["--tnb-task", TASK[space]]
    assert main(argv) == 0
    assert seen["space"] == space and seen["names"] == ["params"]
    assert seen["dataset"] == TASK[space]
    assert [str(a) for a in seen["archs"]] == [str(a) for a in all_archs(space)]


def test_a_store_never_mixes_setups_under_one_key(imported, tmp_path, capsys):
    """Batch size, seed and inputs are provenance, not key: a rerun with another setup, or live
    scoring into a flavor an import filled, stops with a message instead of showing the other
    setup's values as its own; an import never overwrites live rows."""
    import shutil

    from conftest import SHARED_DATA
    from zcnas.cli import main
    from zcnas.exceptions import ZcnasError

    db = str(tmp_path / "s.db")
    base = ["score", "--space", "nb201", "--arch", "6111", "--proxies", "params,nwot"]
    base += ["--store", db, "--json"]
    assert main([*base, "--batch-size", "8"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*base, "--batch-size", "8"]) == 0  # same setup: read back
    assert json.loads(capsys.readouterr().out) == first
    for other in (["--batch-size", "16"], ["--batch-size", "8", "--seed", "1"]):
        assert main([*base, *other]) == 2
        err = capsys.readouterr().err
        assert "holds 2 scores of space nasbench201" in err and "batch size 8, seed 0" in err
        # a new architecture with another setup would join the same task: refused too
        assert main([*base, *other, "--arch", "1338"]) == 2
        assert "One task of a store holds one setup" in capsys.readouterr().err
    assert main([*base, "--batch-size", "8", "--arch", "1338"]) == 0  # same setup: added
    capsys.readouterr()
    assert main([*base, "--batch-size", "8", "--workers", "1"]) == 0  # parallel path agrees
    capsys.readouterr()
    assert main([*base, "--batch-size", "16", "--workers", "1"]) == 2
    assert "another --store" in capsys.readouterr().err

    # live --flavor naslib next to Suite-Zero's imported NB101 values (flavor naslib)
    mixed = tmp_path / "mixed.db"
    shutil.copy(imported, mixed)
    arch = all_archs("nb101")[0]
    live = ["score", "--space", "nb101", "--proxies", "params,snip", "--flavor", "naslib"]
    live += ["--arch", str(arch), "--store", str(mixed), "--batch-size", "4"]
    assert main(live) == 2
    err = capsys.readouterr().err
    assert "imported or written by other code" in err and "without --flavor" in err
    other_arch = all_archs("nb101")[1]  # not stored live either: the flavor is the import's
    assert main([*live, "--arch", str(other_arch)]) == 2
    capsys.readouterr()
    without = [a for a in live if a not in ("--flavor", "naslib")]
    assert main(without) == 0  # the advice works: flavor default beside the import
    capsys.readouterr()
    # ... and an import over live rows is refused, the live rows kept
    fresh = tmp_path / "live_then_import.db"
    live[-3] = str(fresh)
    assert main(live) == 0
    capsys.readouterr()
    key = ArchScorer("nb101", ["snip"]).key(arch)
    with ScoreStore(fresh) as st:
        before = st.get("nasbench101", "cifar10", key, "snip", flavor="naslib").score
        with pytest.raises(ZcnasError, match="live `zcnas score` scores"):
            import_suite_zero(st, SHARED_DATA / "suite_zero" / FILES["nb101"])
        assert st.get("nasbench101", "cifar10", key, "snip", flavor="naslib").score == before
