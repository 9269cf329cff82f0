"""zcnas works inside forked PyTorch DataLoader workers after the parent used its pool."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import zcnas
from zcnas import stats


class TauDataset(Dataset):
    def __init__(self) -> None:
        rng = np.random.default_rng(3)
        self.x = rng.normal(size=(8, 64, 50))
        self.t = rng.normal(size=50)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(stats.kendall_tau_batch(self.x[i], self.t))


@pytest.mark.timeout(120)
def test_dataloader_workers_after_parent_used_pool():
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    ds = TauDataset()
    want = np.stack([stats.kendall_tau_batch(ds.x[i], ds.t) for i in range(len(ds))])
    assert zcnas.get_num_threads() >= 1  # the parent's pool exists now
    loader = DataLoader(
        ds, batch_size=2, num_workers=2, multiprocessing_context=mp.get_context("fork")
    )
    got = torch.cat(list(loader)).numpy()
    np.testing.assert_array_equal(got, want)
