"""Benchmarks and ground truth embedded in the package."""

from zcnas.bench.nb201 import NB201Table, SuiteZeroScores, load_nb201, load_suite_zero_nb201

__all__ = ["NB201Table", "SuiteZeroScores", "load_nb201", "load_suite_zero_nb201"]
