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
