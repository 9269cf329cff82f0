"""The embedded benchmark data equal the published files and the documented facts."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from zcnas.bench import load_nb201, load_suite_zero_nb201
from zcnas.exceptions import ZcnasError


def test_best_architectures_match_published_facts():
    t = load_nb201()
    assert len(t) == 15_625
    for dataset, best, index in (
        ("cifar10", 94.3733, 6111),
        ("cifar100", 73.5133, 9930),
        ("imagenet16", 47.3111, 857),
    ):
        acc = t.test_accuracy(dataset)
        assert int(acc.argmax()) == index
        assert acc[index] == pytest.approx(best, abs=1e-4)
    resnet = 11472
    got = [
        round(float(t.test_accuracy(d)[resnet]), 2) for d in ("cifar10", "cifar100", "imagenet16")
    ]
    assert got == [93.91, 70.89, 44.23]
    assert t["params_M_cifar10"].max() == pytest.approx(1.531546)
    assert t["no_dead_branch"].sum() == 9445
    assert len(np.unique(t["iso_class"])) == 6466
    assert t["arch_str"][0].startswith("|avg_pool_3x3~0|+|nor_conv_1x1~0|")
    assert t["cifar10_edgegpu_latency"][0] == pytest.approx(5.807418537, abs=1e-9)


def test_embedded_hw_nas_bench_equals_csv(shared_data):
    t = load_nb201()
    with (shared_data / "nb201" / "nb201_hw_nas_bench.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["dataset"] == "imagenet16"]
    rows.sort(key=lambda r: int(r["index"]))
    for metric in ("pixel3_latency", "fpga_energy"):
        want = [float(r[metric]) for r in rows]
        np.testing.assert_array_equal(t[f"imagenet16_{metric}"], want)


def test_embedded_nb201_equals_csv(shared_data):
    t = load_nb201()
    with (shared_data / "nb201" / "nb201_groundtruth.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["arch_str"] for r in rows] == t["arch_str"].tolist()
    assert [r["naslib_enc"] for r in rows] == t["naslib_enc"].tolist()
    for col in ("cifar10_test", "imagenet16_valid_naslib", "flops_M_cifar100"):
        want = np.array([float(r[col]) if r[col] else np.nan for r in rows])
        np.testing.assert_array_equal(t[col], want)


def test_embedded_suite_zero_equals_csv(shared_data):
    s = load_suite_zero_nb201("imagenet16")
    with (shared_data / "suite_zero" / "nb201_imagenet16_zc13_9445.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert s.index.tolist() == [int(r["index"]) for r in rows]
    np.testing.assert_array_equal(s.proxy("synflow"), [float(r["synflow"]) for r in rows])
    np.testing.assert_array_equal(s.val_acc, [float(r["val_acc_naslib"]) for r in rows])


def test_suite_zero_rows_are_nb201_archs_without_dead_branches():
    t = load_nb201()
    s = load_suite_zero_nb201("cifar10")
    assert t["no_dead_branch"][s.index].all()
    np.testing.assert_allclose(s.val_acc, t["cifar10_valid_naslib"][s.index])
    np.testing.assert_allclose(s.proxy("params"), t["params_M_cifar10"][s.index], atol=1e-6)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ZcnasError, match="unknown NB201 column 'acc'"):
        load_nb201()["acc"]
    with pytest.raises(ZcnasError, match="unknown dataset"):
        load_nb201().test_accuracy("imagenet")
    with pytest.raises(ZcnasError, match="cifar10 and imagenet16 only, not 'cifar100'"):
        load_suite_zero_nb201("cifar100")
    with pytest.raises(ZcnasError, match="unknown dataset"):
        load_suite_zero_nb201("svhn-typo")
    with pytest.raises(ZcnasError, match="unknown proxy"):
        load_suite_zero_nb201().proxy("zico")
