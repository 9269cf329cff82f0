"""Benchmarks and ground truth embedded in the package, and the score store."""

from zcnas.bench.importers import import_naslib_json, import_suite_zero
from zcnas.bench.nb201 import NB201Table, SuiteZeroScores, load_nb201, load_suite_zero_nb201
from zcnas.bench.store import ScoreStore

__all__ = [
    "NB201Table",
    "ScoreStore",
    "SuiteZeroScores",
    "import_naslib_json",
    "import_suite_zero",
    "load_nb201",
    "load_suite_zero_nb201",
]
