"""The EZNAS search: genetic programming over task datasets on disk (Rust core).

:func:`evolve` runs the paper's Algorithm 1 (see ``zcnas_core::gp::evolve`` for the details):
an initial population of valid random programs, then per generation ``mu`` parents by
tournament, ``varOr`` children until half the population is valid, the other half fresh random
valid programs, and fitness = the minimum over ``s`` sampled task datasets of Kendall tau-b
between program scores and ground truth on ``nets_per_eval`` sampled networks. Defaults are the
paper's hyperparameters (section 8.7). **Fitness is signed tau by default (higher is better)**;
``abs_tau=True`` reproduces the reference's ``|tau|``, and anti-correlated programs then get
``sign = -1``.

Departures from the reference, all deliberate: the fitness sample (datasets and networks) is
drawn once per generation and shared by its individuals (the reference drew one per
individual); programs are checked for validity on ``n_validation`` fixed networks of the task
datasets; duplicates are removed (by formula, not by equal fitness) before selection.

The run is deterministic under ``seed`` (on any number of threads) and can be checkpointed:
with ``checkpoint=path`` the state is written atomically after each generation, and a later
call with the same arguments and checkpoint continues where the earlier one stopped, with the
same final result as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zcnas import _native
from zcnas.exceptions import ZcnasError
from zcnas.eznas.program import Program

PathLike = str | os.PathLike[str]


def evaluate_stats(
    programs: Sequence[Program | str],
    stats_dir: PathLike,
    *,
    networks: Sequence[int] | None = None,
) -> np.ndarray:
    """Scores (``n_programs x n_networks``) of programs on a task dataset directory.

    Each entry is the program's network score (mean over instances, times its sign; higher is
    better; NaN where the program is invalid). ``networks`` selects networks by position in
    the manifest (default: all). Strings are read as formulas with ``to_scalar="mean"``.
    """
    progs = [p if isinstance(p, Program) else Program(p) for p in programs]
    nets = None if networks is None else [int(i) for i in networks]
    n = len(nets) if nets is not None else _n_networks(stats_dir)
    out = np.full((len(progs), n), np.nan)
    for how in ("mean", "l2"):
        idx = [k for k, p in enumerate(progs) if p.to_scalar == how]
        if idx:
            s = _native.eznas_score_stats(
                [progs[k].expr for k in idx], os.fspath(stats_dir), how, nets
            )
            out[idx] = s * np.array([progs[k].sign for k in idx])[:, None]
    return out


def _n_networks(stats_dir: PathLike) -> int:
    from zcnas.eznas.shards import load_manifest  # checks the manifest's structure

    return len(load_manifest(stats_dir)["networks"])


@dataclass
class EvolutionResult:
    """Outcome of :func:`evolve`.

    Attributes:
        hall_of_fame: the best distinct programs ever evaluated, best first (``fitness`` set,
            ``meta`` holds the per-dataset taus and the generation).
        history: one dict per generation (``generation``, ``best``, ``mean``, ``median``,
            ``n_valid``, ``n_validated``, ``datasets``, ``seconds``).
        wall_time: seconds spent in this call (generations run by earlier calls excluded).
        config: the hyperparameters.
        state: the final state (what the checkpoint holds).
    """

    hall_of_fame: list[Program]
    history: list[dict[str, Any]]
    wall_time: float
    config: dict[str, Any]
    state: dict[str, Any] = field(repr=False)

    @property
    def best(self) -> Program:
        """The best program."""
        if not self.hall_of_fame:
            raise ZcnasError("no valid program was found")
        return self.hall_of_fame[0]


def _program(ind: dict[str, Any], to_scalar: str) -> Program:
    return Program(
        ind["expr"],
        to_scalar=to_scalar,
        sign=ind["sign"],
        fitness=ind["fitness"],
        meta={"taus": ind["taus"], "generation": ind["generation"]},
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def evolve(
    stats_dirs: PathLike | Sequence[PathLike],
    *,
    generations: int = 15,
    population: int = 50,
    tournament: int = 4,
    mu: int = 25,
    lam: int = 50,
    cxpb: float = 0.4,
    mutpb: float = 0.4,
    min_depth: int = 2,
    max_depth: int = 10,
    s: int = 4,
    nets_per_eval: int = 20,
    abs_tau: bool = False,
    seed: int = 0,
    checkpoint: PathLike | None = None,
    progress: bool = True,
    init_max_depth: int = 6,
    mut_depth: tuple[int, int] = (0, 5),
    to_scalar: str = "mean",
    n_validation: int = 2,
    hall_of_fame: int = 10,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> EvolutionResult:
    """Search for a proxy program over one or more task datasets (directories written by
    :func:`zcnas.eznas.collect_task`).

    The first keyword arguments are the paper's hyperparameters (``lam`` is lambda). Beyond
    the paper: ``init_max_depth`` and ``mut_depth`` bound the heights of fresh programs and of
    mutation subtrees (the reference's 6 and 0..5), ``n_validation`` is the size of the
    validation subset, ``callback(generation_stats)`` runs after each generation (after the
    checkpoint is written; an exception there stops the run, which a later call with the same
    ``checkpoint`` resumes).
    """
    dirs = [stats_dirs] if isinstance(stats_dirs, (str, os.PathLike)) else list(stats_dirs)
    if not dirs:
        raise ZcnasError("evolve needs at least one task dataset directory")
    if to_scalar not in ("mean", "l2"):
        raise ZcnasError(f"to_scalar must be 'mean' or 'l2', got {to_scalar!r}")
    for name, v in (("seed", seed), ("generations", generations)):
        if v < 0:
            raise ZcnasError(f"{name} must be >= 0, got {v}")
    config: dict[str, Any] = {
        "generations": int(generations),
        "population": int(population),
        "tournament": int(tournament),
        "mu": int(mu),
        "lambda": int(lam),
        "cxpb": float(cxpb),
        "mutpb": float(mutpb),
        "min_depth": int(min_depth),
        "max_depth": int(max_depth),
        "init_max_depth": int(init_max_depth),
        "mut_depth": [int(mut_depth[0]), int(mut_depth[1])],
        "s": int(s),
        "nets_per_eval": int(nets_per_eval),
        "abs_tau": bool(abs_tau),
        "seed": int(seed),
        "to_scalar": to_scalar,
        "n_validation": int(n_validation),
        "hall_of_fame": int(hall_of_fame),
    }
    paths = [os.fspath(d) for d in dirs]
    ckpt = Path(checkpoint) if checkpoint is not None else None
    state_json = None
    if ckpt is not None and ckpt.exists():
        try:
            state_json = ckpt.read_text(encoding="utf-8")
            saved = json.loads(state_json)["config"]
        except OSError as e:
            raise ZcnasError(f"cannot read checkpoint {ckpt}: {e}") from None
        except (ValueError, KeyError, TypeError, RecursionError) as e:
            # not UTF-8, not JSON, nested too deeply, or not an object with a config
            raise ZcnasError(f"invalid checkpoint {ckpt}: {type(e).__name__}: {e}") from None
        if not isinstance(saved, dict):
            raise ZcnasError(f"invalid checkpoint {ckpt}: 'config' is not an object")
        if saved != config:
            diff = sorted(k for k in config if saved.get(k) != config[k])
            raise ZcnasError(
                f"checkpoint {ckpt} was made with different settings ({', '.join(diff)}); "
                "use another checkpoint path or the same arguments"
            )
    evolver = _native.EznasEvolver(paths, json.dumps(config), state_json)
    start = time.perf_counter()
    total = generations + 1
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("[bold]EZNAS[/] gen {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
        )
        bar.start()
        task = bar.add_task("evolve", total=total, completed=evolver.next_generation, best="-")
    try:
        while not evolver.done:
            stats = json.loads(evolver.step())
            if ckpt is not None:
                _write_atomic(ckpt, evolver.state_json())
            if bar is not None:
                best = stats["best"]
                bar.update(task, advance=1, best="-" if best is None else f"{best:.3f}")
            if callback is not None:
                callback(stats)
    finally:
        if bar is not None:
            bar.stop()
    state = json.loads(evolver.state_json())
    return EvolutionResult(
        hall_of_fame=[_program(i, to_scalar) for i in state["hall_of_fame"]],
        history=state["history"],
        wall_time=time.perf_counter() - start,
        config=config,
        state=state,
    )
