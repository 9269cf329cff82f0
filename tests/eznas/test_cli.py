"""``zcnas eznas collect|evolve|show``."""

from __future__ import annotations

import json

import pytest

from zcnas.cli import main
from zcnas.eznas.shards import load_manifest

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_collect_with_exclusion_file(tmp_path, capsys):
    held = tmp_path / "held.json"
    keep = {0, 3**7}  # "00000000" and "10000000": two small networks
    exclude = [i for i in range(6561) if i not in keep]
    held.write_text(json.dumps(exclude))
    out = tmp_path / "stats"
    argv = ["eznas", "collect", "--space", "macro", "--nets", "2", "--out", str(out),
            "--exclude", str(held), "--dtype", "float16", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    m = load_manifest(out)
    assert {e["index"] for e in m["networks"]} == keep and m["dtype"] == "float16"
    assert "2 networks" in capsys.readouterr().out
    assert main(argv) == 0  # resuming a finished directory is a no-op


def test_collect_errors(tmp_path, capsys):
    assert main(["eznas", "collect", "--space", "macro", "--task", "cifar100",
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "no task dataset" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}')
    assert main(["eznas", "collect", "--out", str(tmp_path), "--exclude", str(bad)]) == 2
    assert "JSON list" in capsys.readouterr().err


ARCHS = [
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|none~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|none~2|",
    "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    "|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|",
]


@pytest.fixture(scope="module")
def small_stats(tmp_path_factory, torch_one_thread):
    from zcnas.eznas.shards import collect_task

    out = tmp_path_factory.mktemp("ezcli") / "nb201-c10"
    return collect_task("nb201", "cifar10", ARCHS, out, seed=0, progress=False)


def test_show_reports_kendall_tau_of_the_program(small_stats, tmp_path, capsys):
    from zcnas import stats
    from zcnas.eznas.program import Program
    from zcnas.eznas.shards import read_shard

    prog = Program("NormalizedSum(Mul(T4D, T4GN))", sign=-1)
    path = tmp_path / "p.json"
    prog.save(path)
    assert main(["eznas", "show", str(path), "--stats", str(small_stats), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["formula"] == str(prog) and out["terminals"] == ["T4D", "T4GN"]
    m = load_manifest(small_stats)
    scores = [prog.evaluate(read_shard(small_stats, e)) for e in m["networks"]]
    acc = [e["ground_truth"]["cifar10_test"] for e in m["networks"]]
    got = out["kendall_tau"][str(small_stats)]
    assert got["n"] == len(ARCHS) and got["tau"] == pytest.approx(stats.kendall_tau(scores, acc))
    assert main(["eznas", "show", str(path)]) == 0
    assert "sign -1" in capsys.readouterr().out
    assert main(["eznas", "show", str(tmp_path / "missing.json")]) == 2


def test_evolve_saves_the_best_program_deterministically(small_stats, tmp_path, capsys):
    from zcnas import _native
    from zcnas.eznas.program import Program

    if not hasattr(_native, "EznasEvolver"):
        pytest.skip("the Rust evolution is not in this build")
    argv = ["eznas", "evolve", "--stats", str(small_stats), "--generations", "1",
            "--population", "6", "--mu", "3", "--lam", "6", "-s", "1", "--nets-per-eval", "6",
            "--seed", "3", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a.json")]) == 0
    text = capsys.readouterr().out
    assert "gen 1" in text and "best program ->" in text
    assert main([*argv, "--out", str(tmp_path / "b.json"), "--checkpoint",
                 str(tmp_path / "ck.json")]) == 0  # fmt: skip
    a, b = Program.load(tmp_path / "a.json"), Program.load(tmp_path / "b.json")
    assert a == b and a.fitness == b.fitness and -1 <= a.fitness <= 1
    assert (tmp_path / "ck.json").is_file()


def test_evolve_over_scores_reads_proxies_as_every_command_does(tmp_path, capsys):
    """`--proxies a,b` (the spelling of every zcnas command) and `--proxies a b` agree."""
    import numpy as np

    from zcnas.bench.store import ScoreStore

    rng = np.random.default_rng(0)
    acc = rng.normal(size=60)
    cols = {"a": acc + rng.normal(size=60), "b": rng.normal(size=60), "c": -acc}
    db = tmp_path / "s.db"
    with ScoreStore(db) as st:
        st.put_many(
            {"space": "nasbench201", "task": "cifar10", "arch": str(i), "proxy": p, "score": v}
            for p, col in cols.items()
            for i, v in enumerate(col.tolist())
        )
        st.put_ground_truth_many(
            {
                "space": "nasbench201",
                "task": "cifar10",
                "arch": str(i),
                "metric": "val_accuracy",
                "value": v,
            }
            for i, v in enumerate(acc.tolist())
        )
    argv = ["eznas", "evolve", "--over-scores", "--store", str(db), "--generations", "1"]
    argv += ["--population", "10", "--out", str(tmp_path / "f.json")]
    for spelling in (["a,b"], ["a", "b"], ["a,", "b"]):
        assert main([*argv, "--proxies", *spelling]) == 0, capsys.readouterr().err
        assert "2 proxies (a, b)" in capsys.readouterr().out
