"""Convert the reference CSVs in ``../shared/data`` into the package data zcnas ships.

Run from the repository root: ``python tools/convert_data.py [--shared ../shared/data]``.
The outputs are compressed ``.npz`` files under ``python/zcnas/data/``; they are committed,
because users of the package do not have ``../shared``. ``tests/test_data.py`` checks that the
embedded arrays equal the CSVs whenever ``../shared`` is present.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

NB201_FLOAT = [
    "cifar10_test",
    "cifar100_test",
    "imagenet16_test",
    "cifar10_valid_naslib",
    "imagenet16_valid_naslib",
    "params_M_cifar10",
    "flops_M_cifar10",
    "params_M_cifar100",
    "flops_M_cifar100",
    "params_M_imagenet16",
    "flops_M_imagenet16",
]
SUITE_ZERO_PROXIES = [
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "params",
    "plain",
    "snip",
    "synflow",
    "zen",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _float(v: str) -> float:
    return float(v) if v != "" else float("nan")


def convert_nb201(shared: Path, out: Path) -> None:
    rows = _rows(shared / "nb201" / "nb201_groundtruth.csv")
    if [int(r["index"]) for r in rows] != list(range(len(rows))):
        raise ValueError("nb201_groundtruth.csv: rows are not ordered by index 0..N-1")
    arrays: dict[str, np.ndarray] = {
        "arch_str": np.array([r["arch_str"] for r in rows]),
        "naslib_enc": np.array([r["naslib_enc"] for r in rows]),
        "iso_class": np.array([int(r["iso_class"]) for r in rows], dtype=np.int32),
        "no_dead_branch": np.array([int(r["no_dead_branch"]) for r in rows], dtype=np.bool_),
    }
    for col in NB201_FLOAT:
        arrays[col] = np.array([_float(r[col]) for r in rows], dtype=np.float64)
    np.savez_compressed(out / "nb201_groundtruth.npz", **arrays)


HW_METRICS = [
    "edgegpu_latency",
    "edgegpu_energy",
    "raspi4_latency",
    "edgetpu_latency",
    "pixel3_latency",
    "eyeriss_latency",
    "eyeriss_energy",
    "eyeriss_arithmetic_intensity",
    "fpga_latency",
    "fpga_energy",
]


def convert_hw_nas_bench(shared: Path, out: Path) -> None:
    """HW-NAS-Bench metrics as columns ``<dataset>_<metric>``, row i = NB201 index i."""
    rows = _rows(shared / "nb201" / "nb201_hw_nas_bench.csv")
    arrays: dict[str, np.ndarray] = {}
    for dataset in ("cifar10", "cifar100", "imagenet16"):
        sub = sorted((int(r["index"]), r) for r in rows if r["dataset"] == dataset)
        if [i for i, _ in sub] != list(range(15_625)):
            raise ValueError(f"nb201_hw_nas_bench.csv: {dataset} rows do not cover 0..15624")
        for m in HW_METRICS:
            arrays[f"{dataset}_{m}"] = np.array([_float(r[m]) for _, r in sub])
    np.savez_compressed(out / "nb201_hw_nas_bench.npz", **arrays)


def convert_images(shared: Path, out: Path) -> None:
    """The 30 real CIFAR-10 and 25 CIFAR-100 images, as uint8 NHWC with their labels."""
    c10 = np.load(shared / "images" / "cifar10_real_minibatch.npz")
    c100 = np.load(shared / "images" / "cifar100_real_minibatch.npz")
    np.savez_compressed(
        out / "cifar_images.npz",
        cifar10_x=np.concatenate([c10["x_test"], c10["x_train_extra"]]),
        cifar10_y=np.concatenate([c10["y_test"], c10["y_train_extra"]]),
        cifar10_classes=c10["classes"],
        cifar100_x=np.concatenate([c100["x_test"], c100["x_train_extra"]]),
        cifar100_y=np.concatenate([c100["y_test_fine"], c100["y_train_extra_fine"]]),
    )


def convert_suite_zero_nb201(shared: Path, out: Path) -> None:
    arrays: dict[str, np.ndarray] = {"proxies": np.array(SUITE_ZERO_PROXIES)}
    for task, name in [("cifar10", "cifar10"), ("imagenet16", "imagenet16")]:
        rows = _rows(shared / "suite_zero" / f"nb201_{name}_zc13_9445.csv")
        arrays[f"{task}_index"] = np.array([int(r["index"]) for r in rows], dtype=np.int32)
        arrays[f"{task}_val_acc"] = np.array([_float(r["val_acc_naslib"]) for r in rows])
        arrays[f"{task}_scores"] = np.array(
            [[_float(r[p]) for p in SUITE_ZERO_PROXIES] for r in rows], dtype=np.float64
        )
    np.savez_compressed(out / "nb201_suite_zero_zc13.npz", **arrays)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--shared", type=Path, default=here.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=here / "python" / "zcnas" / "data")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    convert_nb201(args.shared, args.out)
    convert_suite_zero_nb201(args.shared, args.out)
    convert_hw_nas_bench(args.shared, args.out)
    convert_images(args.shared, args.out)
    for f in sorted(args.out.glob("*.npz")):
        print(f"{f}: {f.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
