"""The packaged CIFAR images equal the shared files and are normalised as documented."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zcnas.datasets import CIFAR_MEAN, CIFAR_STD, cifar_batch
from zcnas.exceptions import ZcnasError


def test_images_equal_shared_files(shared_data):
    z = np.load(shared_data / "images" / "cifar10_real_minibatch.npz")
    x, y = cifar_batch("cifar10", normalize=False)
    want = np.concatenate([z["x_test"], z["x_train_extra"]]).transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(x.numpy(), want, atol=1e-7)
    np.testing.assert_array_equal(y.numpy(), np.concatenate([z["y_test"], z["y_train_extra"]]))
    z100 = np.load(shared_data / "images" / "cifar100_real_minibatch.npz")
    _, y100 = cifar_batch("cifar100")
    np.testing.assert_array_equal(y100[:20].numpy(), z100["y_test_fine"])


def test_normalisation():
    raw, _ = cifar_batch("cifar10", 5, normalize=False)
    x, _ = cifar_batch("cifar10", 5)
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(x, (raw - mean) / std)
    assert x.dtype == torch.float32 and x.is_contiguous()


@pytest.mark.parametrize(("dataset", "n"), [("imagenet", 3), ("cifar10", 31), ("cifar100", 0)])
def test_bad_arguments(dataset, n):
    with pytest.raises(ZcnasError):
        cifar_batch(dataset, n)


# ---------------------------------------------------------------------------------------------
# image files (zcnas score --images)
# ---------------------------------------------------------------------------------------------


def _shipped_uint8(dataset="cifar10"):
    from zcnas._tables import load_npz

    z = load_npz("cifar_images.npz")
    return z[f"{dataset}_x"], z[f"{dataset}_y"]


def test_image_batch_draws_seeded_and_normalises_like_the_shipped_images(tmp_path):
    """image_batch: n = N is the file in order and equals cifar_batch on the same pixels; a
    smaller n is numpy's seeded draw without replacement; the CIFAR mean/std by hand."""
    from zcnas.datasets import image_batch

    x8, y = _shipped_uint8()
    path = tmp_path / "imgs.npz"
    np.savez(path, x=x8, y=y, extra=np.arange(3))
    x, yy = image_batch(path, len(y))
    xs, ys = cifar_batch("cifar10")
    assert np.array_equal(x.numpy(), xs.numpy()) and np.array_equal(yy.numpy(), ys.numpy())
    x, yy = image_batch(path, 7, seed=3)
    idx = np.random.default_rng(3).choice(len(y), 7, replace=False)
    want = (x8[idx].astype(np.float32) / 255.0 - np.float32(CIFAR_MEAN)) / np.float32(CIFAR_STD)
    np.testing.assert_allclose(x.numpy(), want.transpose(0, 3, 1, 2), rtol=0, atol=1e-6)
    assert yy.tolist() == y[idx].tolist() and yy.dtype == torch.int64
    assert image_batch(path)[0].shape[0] == len(y)  # default min(N, 32)


@pytest.mark.parametrize(
    ("arrays", "n", "message"),
    [
        ({"y": np.zeros(2, int)}, None, "has no x and y arrays .found: y.; expected"),
        ({"x_test": np.zeros((2, 4, 4, 3), np.uint8)}, None, "found: x_test"),
        ({"x": np.zeros((2, 4, 4, 3), np.float32), "y": np.zeros(2, int)}, None, "uint8"),
        ({"x": np.zeros((2, 4, 4, 1), np.uint8), "y": np.zeros(2, int)}, None, "uint8"),
        ({"x": np.zeros((2, 4, 4, 3), np.uint8), "y": np.zeros(3, int)}, None, "one non-negative"),
        ({"x": np.zeros((2, 4, 4, 3), np.uint8), "y": np.array([0, -1])}, None, "non-negative"),
        ({"x": np.zeros((2, 4, 4, 3), np.uint8), "y": np.zeros(2, int)}, 3, "1..2 images"),
    ],
)
def test_image_batch_rejects_bad_files(tmp_path, arrays, n, message):
    from zcnas.datasets import image_batch

    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ZcnasError, match=message):
        image_batch(path, n)


def test_image_batch_rejects_missing_and_non_npz_files(tmp_path):
    from zcnas.datasets import image_batch

    with pytest.raises(ZcnasError, match="does not exist"):
        image_batch(tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ZcnasError, match=r"is not an \.npz file"):
        image_batch(tmp_path / "text.npz")
    obj = tmp_path / "obj.npz"
    np.savez(obj, x=np.array([object()], dtype=object), y=np.zeros(1, int))
    with pytest.raises(ZcnasError, match=r"cannot be read as an \.npz: .*pickle"):  # no pickle
        image_batch(obj)


def test_image_batch_reads_keras_style_files(tmp_path):
    """x_test / y_test with (N, 1) labels, as the repository's own real-minibatch file and
    Keras write them, give the same batch as x / y."""
    from zcnas.datasets import image_batch

    x8, y = _shipped_uint8()
    np.savez(tmp_path / "a.npz", x=x8, y=y)
    np.savez(tmp_path / "b.npz", x_test=x8, y_test=y.reshape(-1, 1))
    xa, ya = image_batch(tmp_path / "a.npz", 9, seed=1)
    xb, yb = image_batch(tmp_path / "b.npz", 9, seed=1)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
