"""NAS-Bench-201 ground truth and NAS-Bench-Suite-Zero's precomputed proxy scores, embedded.

Converted by ``tools/convert_data.py`` from the public benchmark files (NAS-Bench-201 /
NATS-Bench TSS, MIT; HW-NAS-Bench, MIT; NAS-Bench-Suite-Zero / NASLib, Apache-2.0).
Accuracies are in percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from zcnas._tables import ColumnTable, load_npz
from zcnas.datasets import DATASETS, canonical_dataset
from zcnas.exceptions import ZcnasError
from zcnas.spaces.nb201 import to_index

_TEST_COLUMN = {d: f"{d}_test" for d in DATASETS}


@dataclass(frozen=True)
class NB201Table(ColumnTable):
    """All 15,625 NAS-Bench-201 architectures, row ``i`` = official index ``i``.

    Attributes:
        columns: name -> array. ``arch_str``, ``naslib_enc`` (6-digit op tuple as a string),
            ``iso_class``, ``no_dead_branch``, ``{cifar10,cifar100,imagenet16}_test`` (test
            accuracy after 200 epochs, mean over seeds), ``cifar10_valid_naslib``,
            ``imagenet16_valid_naslib`` (NaN outside the 9,445 archs without dead branches),
            ``params_M_<dataset>`` and ``flops_M_<dataset>``, and the HW-NAS-Bench metrics
            ``<dataset>_<metric>`` for ``edgegpu_latency``, ``edgegpu_energy``,
            ``raspi4_latency``, ``edgetpu_latency``, ``pixel3_latency``, ``eyeriss_latency``,
            ``eyeriss_energy``, ``eyeriss_arithmetic_intensity``, ``fpga_latency``,
            ``fpga_energy`` (latencies in ms, energies in mJ; lower = better).
    """

    NAME = "NB201"
    KEY = "arch_str"

    def indices(self, archs: Any) -> np.ndarray:
        """Official indices of a sequence of architectures, each in any encoding that
        :func:`zcnas.spaces.nb201.to_index` reads (index, arch string, NASLib tuple or digits).
        """
        return np.array([to_index(a) for a in archs], dtype=np.int64)

    def query_many(self, archs: Any, dataset: str = "cifar10") -> dict[str, np.ndarray]:
        """Everything the table knows about several architectures on one dataset.

        Args:
            archs: a sequence of architectures, each in any encoding.
            dataset: ``cifar10``, ``cifar100`` or ``imagenet16``, or as NATS-Bench and NASLib
                write them (``ImageNet16-120``, ``cifar10-valid``: see
                :func:`zcnas.datasets.canonical_dataset`).

        Returns:
            arrays under ``index``, ``arch_str``, ``iso_class``, ``test_accuracy``,
            ``valid_accuracy_naslib`` (CIFAR-10 and ImageNet16-120 only; NaN for archs with
            dead branches), ``params_M``, ``flops_M`` and the HW-NAS-Bench metrics
            (``edgegpu_latency`` ...; latencies in ms, energies in mJ).

        Raises:
            ZcnasError: an unknown dataset or an architecture that cannot be read.
        """
        dataset = canonical_dataset(dataset)
        acc = self.test_accuracy(dataset)
        idx = self.indices(archs)
        out: dict[str, np.ndarray] = {
            "index": idx,
            "arch_str": self.columns["arch_str"][idx],
            "iso_class": self.columns["iso_class"][idx],
            "test_accuracy": acc[idx],
        }
        valid = f"{dataset}_valid_naslib"
        if valid in self.columns:
            out["valid_accuracy_naslib"] = self.columns[valid][idx]
        out["params_M"] = self.columns[f"params_M_{dataset}"][idx]
        out["flops_M"] = self.columns[f"flops_M_{dataset}"][idx]
        prefix = f"{dataset}_"
        for name, col in self.columns.items():
            if name.startswith(prefix) and name not in (valid, _TEST_COLUMN[dataset]):
                out[name[len(prefix) :]] = col[idx]
        return out

    def query(self, arch: Any, dataset: str = "cifar10") -> dict[str, Any]:
        """:meth:`query_many` for one architecture, with Python scalars.

        >>> q = load_nb201().query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        ...                        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        >>> q["index"], round(q["test_accuracy"], 4)
        (6111, 94.3733)
        """
        return {k: v[0].item() for k, v in self.query_many([arch], dataset).items()}

    def test_accuracy(self, dataset: str) -> np.ndarray:
        """Test accuracy (%) of every architecture on ``cifar10``, ``cifar100`` or
        ``imagenet16`` (any spelling :func:`zcnas.datasets.canonical_dataset` reads)."""
        return self.columns[_TEST_COLUMN[canonical_dataset(dataset)]]


@dataclass(frozen=True)
class SuiteZeroScores:
    """NAS-Bench-Suite-Zero's 13 NASLib proxies on the 9,445 NB201 archs without dead branches.

    Attributes:
        task: ``cifar10`` or ``imagenet16``.
        index: official NB201 index of each row.
        val_acc: validation accuracy used by NAS-Bench-Suite-Zero (%).
        proxies: proxy names (columns of ``scores``).
        scores: ``(9445, 13)`` raw scores as NASLib computed them (batch 32); for every proxy
            higher = predicted better; ``synflow`` is NASLib's signed log.
    """

    task: str
    index: np.ndarray
    val_acc: np.ndarray
    proxies: tuple[str, ...]
    scores: np.ndarray

    def proxy(self, name: str) -> np.ndarray:
        """One proxy's column."""
        if name not in self.proxies:
            raise ZcnasError(f"unknown proxy {name!r}; known: {', '.join(self.proxies)}")
        return self.scores[:, self.proxies.index(name)]


@cache
def load_nb201() -> NB201Table:
    """The embedded NAS-Bench-201 table (cached after the first call).

    >>> t = load_nb201()
    >>> len(t), int(t.test_accuracy("cifar10").argmax())
    (15625, 6111)
    """
    return NB201Table(load_npz("nb201_groundtruth.npz") | load_npz("nb201_hw_nas_bench.npz"))


def load_suite_zero_nb201(task: str = "cifar10") -> SuiteZeroScores:
    """NAS-Bench-Suite-Zero's precomputed NB201 proxy scores for ``cifar10`` or ``imagenet16``
    (also written ``cifar10-valid``, ``ImageNet16-120``); cached after the first call.

    >>> s = load_suite_zero_nb201("ImageNet16-120")
    >>> s.task, s.scores.shape
    ('imagenet16', (9445, 13))
    """
    task = canonical_dataset(task)
    if task not in ("cifar10", "imagenet16"):
        raise ZcnasError(f"Suite-Zero scored NB201 on cifar10 and imagenet16 only, not {task!r}")
    return _load_suite_zero_nb201(task)


@cache
def _load_suite_zero_nb201(task: str) -> SuiteZeroScores:
    z = load_npz("nb201_suite_zero_zc13.npz")
    return SuiteZeroScores(
        task=task,
        index=z[f"{task}_index"],
        val_acc=z[f"{task}_val_acc"],
        proxies=tuple(str(p) for p in z["proxies"]),
        scores=z[f"{task}_scores"],
    )
