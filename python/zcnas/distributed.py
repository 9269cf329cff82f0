"""Score many architectures in parallel: local processes or a Ray cluster, one interface.

:func:`score_distributed` fans the work of :class:`zcnas.scoring.ArchScorer` (build one
network, score it with every requested proxy on the shared minibatch) out over workers and
streams every result into a :class:`~zcnas.bench.ScoreStore` as it arrives:

* **Backends.** ``"local"`` (default): ``workers`` processes on this machine (``spawn`` start
  method, each with ``threads_per_worker`` torch / zcnas threads). ``"ray"``: ``workers`` Ray
  actors; ``ray.init()`` starts a local Ray instance (``num_cpus=workers * threads_per_worker``)
  unless one is already initialised, or ``address`` joins an existing cluster (zcnas must be
  installed on its nodes). Both backends speak the same small protocol (:class:`Backend`), and
  the driver loop, the store writes and the progress bar are shared.
* **Only the driver writes.** Workers return scores; the driver writes each finished
  architecture in one transaction (all that are ready at once in one), so remote workers need
  no access to the store's file.
* **Resumable.** Before starting, the driver asks :meth:`ScoreStore.missing` what is left; an
  interrupted run (Ctrl-C, a killed driver, a killed worker) loses at most the architectures in
  flight and recomputes nothing already stored.
* **Failures are data.** An architecture whose scoring raises is recorded with its error in the
  store's ``failures`` table (:meth:`ScoreStore.put_failure`) and the run goes on; so is one
  whose worker process dies (the worker is replaced). A resumed run skips recorded failures
  unless ``retry_failed=True``; a later success clears the record.
* **Progress.** A rich bar with architectures done, throughput (architectures per minute),
  elapsed time, ETA and failures, laid out to stay whole in an 80-column terminal.

Workers ignore SIGINT: Ctrl-C reaches the driver, which stops the workers and re-raises.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from zcnas.exceptions import ZcnasError

__all__ = [
    "BACKENDS",
    "Backend",
    "LocalBackend",
    "RayBackend",
    "RunReport",
    "all_archs",
    "score_distributed",
]

BACKENDS = ("local", "ray")

# Event kinds a backend reports: a result, a Python exception in the job, a dead worker.
_OK, _ERROR, _DIED = "ok", "error", "died"
_READY = "ready"  # first message of a local worker, once set up


def all_archs(space: str) -> list[Any]:
    """Every architecture of ``space`` that ``zcnas score --all`` scores.

    * ``nb201``: the 15,625 cell indices; ``macro``: the 6,561 NAS-Bench-Macro indices.
    * ``tnb101-micro`` / ``tnb101-macro``: the 4,096 micro cells / 3,256 macro networks of
      TransNAS-Bench-101 (:func:`zcnas.spaces.tnb101.all_archs`, code tuples).
    * ``darts``: the 725 NB301 genotypes NAS-Bench-Suite-Zero scored
      (``naslib_zc_nasbench301_725.csv``), as NASLib's encoding text (the store key).
    * ``nb101``: the 500 NAS-Bench-101 cells NAS-Bench-Suite-Zero scored
      (``naslib_zc_nasbench101_500.csv``; 292 distinct graphs up to isomorphism), as NASLib's
      flattened encoding text. The full space (423,624 graphs) is not enumerated: "all" means
      the architectures that have stored Suite-Zero values and validation accuracies.

    The NB101 / NB301 lists are packaged (``zcnas/data/suite_zero_archs.npz``, copied from
    the Suite-Zero CSVs in file order); their texts are exactly the store keys of
    :func:`zcnas.bench.import_suite_zero`, so live and imported scores line up.

    ``darts-c3`` has no such list (any DARTS genotype is one of its architectures).

    Raises:
        ZcnasError: an unknown space, or ``darts-c3``.

    >>> [len(all_archs(s)) for s in ("nb101", "darts", "tnb101-micro", "tnb101-macro")]
    [500, 725, 4096, 3256]
    """
    if space == "nb201":
        from zcnas.spaces.nb201 import NUM_ARCHS

        return list(range(NUM_ARCHS))
    if space == "macro":
        from zcnas.spaces import macro

        return list(range(len(macro.load_macro())))
    if space in ("tnb101-micro", "tnb101-macro"):
        from zcnas.spaces import tnb101

        return list(tnb101.all_archs(space.split("-")[1]))
    if space in ("nb101", "darts"):
        from zcnas._tables import load_npz

        table = load_npz("suite_zero_archs.npz")
        return [str(a) for a in table["nasbench101" if space == "nb101" else "nasbench301"]]
    if space == "darts-c3":
        raise ZcnasError(
            "darts-c3 has no list of all architectures (the DARTS space is not enumerated): "
            "pass them with --arch / --arch-file (e.g. darts/darts_1000_cifar10.csv) or --sample"
        )
    raise ZcnasError(
        f"unknown space {space!r}; expected one of 'nb201', 'macro', 'nb101', 'darts', "
        "'tnb101-micro', 'tnb101-macro'"
    )


def _worker_setup(threads: int) -> None:
    """Runs first in every worker: one thread budget for torch and the zcnas pool, and freed
    tensor buffers kept in the heap (:func:`zcnas._malloc.keep_heap`)."""
    import torch

    import zcnas
    from zcnas._malloc import keep_heap

    keep_heap()
    torch.set_num_threads(threads)
    zcnas.set_num_threads(threads)


def _run_job(job: Any, key: str, arch: Any) -> tuple[str, str, Any]:
    """One unit of work inside a worker: ``(key, "ok", (scores, seconds))`` or
    ``(key, "error", message)``; never raises for a failing architecture."""
    try:
        scores, elapsed = job(arch)
        return key, _OK, ({p: float(v) for p, v in scores.items()}, float(elapsed))
    except Exception as e:  # the failure is the result
        return key, _ERROR, f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------------------------- backends


class Backend(Protocol):
    """What :func:`score_distributed` needs from a backend.

    Workers are numbered ``0..n-1``; each runs at most one task at a time. ``wait`` returns
    events ``(worker, kind, key, payload)`` with ``kind`` one of ``"ok"`` (payload:
    ``(scores, seconds)``), ``"error"`` (payload: message) or ``"died"`` (payload: a
    description; the worker is gone and must be ``restart``-ed before it gets more work).
    """

    name: str

    def start(self, job: Any, n_workers: int) -> None: ...
    def submit(self, worker: int, key: str, arch: Any) -> None: ...
    def wait(self, timeout: float) -> list[tuple[int, str, str, Any]]: ...
    def restart(self, worker: int) -> None: ...
    def close(self) -> None: ...


def _local_worker_main(conn: Any, job: Any, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_setup(threads)
    conn.send(_READY)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        conn.send(_run_job(job, *msg))


class LocalBackend:
    """Worker processes on this machine (``spawn`` start method), one pipe each.

    Args:
        threads_per_worker: torch and zcnas threads in each worker.
    """

    name = "local"

    def __init__(self, threads_per_worker: int = 1) -> None:
        import multiprocessing as mp

        self._ctx = mp.get_context("spawn")
        self.threads = int(threads_per_worker)
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self._inflight: list[str | None] = []
        self._ready: list[bool] = []
        self._job: Any = None

    def _spawn(self) -> tuple[Any, Any]:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_local_worker_main, args=(child, self._job, self.threads), daemon=True
        )
        proc.start()
        child.close()
        return proc, parent

    def start(self, job: Any, n_workers: int) -> None:
        self._job = job
        for _ in range(n_workers):
            proc, conn = self._spawn()
            self._procs.append(proc)
            self._conns.append(conn)
            self._inflight.append(None)
            self._ready.append(False)

    def submit(self, worker: int, key: str, arch: Any) -> None:
        self._inflight[worker] = key
        try:
            self._conns[worker].send((key, arch))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            pass  # the worker is dead: wait() reports it through its sentinel

    def wait(self, timeout: float) -> list[tuple[int, str, str, Any]]:
        from multiprocessing.connection import wait as mp_wait

        busy = [i for i, k in enumerate(self._inflight) if k is not None]
        if not busy:
            return []
        handles = {}
        for i in busy:
            handles[self._conns[i]] = i
            handles[self._procs[i].sentinel] = i
        ready = mp_wait(list(handles), timeout)
        events = []
        for i in sorted({handles[h] for h in ready}):
            key = self._inflight[i]
            assert key is not None
            msg, broken = None, self._procs[i].sentinel in ready
            try:
                while self._conns[i].poll():
                    msg = self._conns[i].recv()
                    if msg != _READY:
                        break
                    self._ready[i], msg = True, None
            except (EOFError, OSError):
                msg, broken = None, True
            if msg is not None:
                self._inflight[i] = None
                events.append((i, msg[1], msg[0], msg[2]))
                continue
            if not broken:
                continue  # only the start-up message
            proc = self._procs[i]
            proc.join(timeout=5.0)
            if proc.is_alive():
                continue  # spurious wake-up
            code = proc.exitcode
            why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            if not self._ready[i]:
                raise ZcnasError(
                    f"a worker process failed to start ({why}); its error is printed above. "
                    "A script using the local backend must guard its entry point with "
                    "`if __name__ == '__main__':` (worker processes are spawned)"
                )
            self._inflight[i] = None
            events.append((i, _DIED, key, f"worker process died ({why})"))
        return events

    def restart(self, worker: int) -> None:
        self._conns[worker].close()
        self._procs[worker], self._conns[worker] = self._spawn()
        self._inflight[worker] = None
        self._ready[worker] = False

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                pass
        deadline = time.monotonic() + 2.0
        for proc in self._procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():  # busy with a long architecture: stop it
                proc.terminate()
                proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._procs, self._conns, self._inflight, self._ready = [], [], [], []


class _RayWorkerImpl:
    """The body of a Ray actor (wrapped with ``ray.remote`` at start-up)."""

    def __init__(self, job: Any, threads: int) -> None:
        _worker_setup(threads)
        self.job = job

    def run(self, key: str, arch: Any) -> tuple[str, str, Any]:
        return _run_job(self.job, key, arch)


_RAY_AUTH_MODE = "RAY_AUTH_MODE"


def _check_head_reachable(address: str | None, timeout: float = 5.0) -> None:
    """For an explicit ``HOST:PORT`` address, fail fast when nothing listens there (Ray itself
    keeps retrying the GCS connection for minutes); ``auto``, ``ray://`` and None pass.

    Raises:
        ZcnasError: the port is closed, the host unknown, or the connection times out.
    """
    import socket

    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ZcnasError(f"Ray address {address!r} is not HOST:PORT, 'auto' or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ZcnasError(
            f"no Ray head node answers at {address} ({type(e).__name__}: {e}); start one there "
            f"with `ray start --head --port {port}`, or use --address auto on the head node"
        ) from None


def _ray_token_auth_for_address(address: str | None) -> bool:
    """Before ``ray.init(address=HOST:PORT)``: turn Ray's token mode on when
    ``RAY_AUTH_MODE`` is unset and a token is available here, as Ray does for ``"auto"``.

    A client in token mode also joins a cluster without authentication (it ignores the
    header). Returns whether ``RAY_AUTH_MODE`` was set by this call.
    """
    if address in (None, "auto") or address.startswith("ray://"):
        return False  # a new local instance, or Ray's own discovery / Ray Client
    if os.environ.get(_RAY_AUTH_MODE) is not None:
        return False  # the user's choice
    from zcnas._optional import require

    try:  # Ray >= 2.52; private, hence the guard
        setup = require("ray._private.authentication.authentication_token_setup", "Ray auth")
        enable = setup.maybe_enable_token_auth_if_token_available
    except (ImportError, AttributeError, ZcnasError):
        return False
    quiet = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "enabled for this cluster" warning is about a new one
    try:
        return bool(enable(warn_if_disabled=False))
    except Exception:  # a Ray whose helper changed: leave the decision to Ray
        return False
    finally:
        quiet.setLevel(level)


def _is_ray_auth_failure(e: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _ray_auth_message(address: str | None) -> str:
    mode = os.environ.get(_RAY_AUTH_MODE)
    why = (
        "the token given here is not the cluster's"
        if mode == "token"
        else f"{_RAY_AUTH_MODE} is {mode!r} here"
        if mode
        else "no Ray token was found here"
    )
    return (
        f"cannot join the Ray cluster at {address}: it requires token authentication and "
        f"{why}. Set {_RAY_AUTH_MODE}=token and give this process the cluster's token, as "
        "RAY_AUTH_TOKEN=<token>, RAY_AUTH_TOKEN_PATH=<file> or the file ~/.ray/auth_token "
        "(`ray get-auth-token` prints it on the head node). On the head node itself, "
        "`--address auto` finds the cluster and its token."
    )


class RayBackend:
    """Ray actors, one per worker (``max_restarts=0``: a dead actor is reported and replaced).

    Args:
        address: ``None`` starts a local Ray instance (unless one is initialised already);
            otherwise the address of an existing cluster: ``"auto"`` (the cluster running on
            this machine, e.g. after ``ray start --head``), ``"HOST:PORT"`` (the head node's
            GCS port, 6379 by default) or ``"ray://host:10001"`` (Ray Client).
        threads_per_worker: CPUs reserved and torch threads used by each actor.

    Token authentication (Ray >= 2.52): a cluster started with ``ray start --head`` on a
    machine that has a Ray token (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
    ``~/.ray/auth_token``, which a local ``ray.init()`` writes) requires it from every client.
    Ray itself sends the token only when it finds the cluster (``"auto"``) or when
    ``RAY_AUTH_MODE=token`` is set; for a ``HOST:PORT`` address with ``RAY_AUTH_MODE`` unset,
    this backend turns token mode on for the join when a token is available here (Ray's own
    rule for ``"auto"``), and a cluster that rejects the client raises a
    :class:`~zcnas.exceptions.ZcnasError` saying what to set.
    """

    name = "ray"

    def __init__(self, address: str | None = None, threads_per_worker: int = 1) -> None:
        from zcnas._optional import require

        self._ray = require("ray", "the Ray backend")
        self.address = address
        self.threads = int(threads_per_worker)
        self._owns_ray = False
        self._actors: list[Any] = []
        self._refs: dict[Any, tuple[int, str]] = {}
        self._cls: Any = None
        self._job_ref: Any = None
        self._auth_env = False

    def start(self, job: Any, n_workers: int) -> None:
        ray = self._ray
        _check_head_reachable(self.address)  # also when this process already runs Ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                "log_to_driver": False,
            }
            if self.address is None:
                kwargs["num_cpus"] = n_workers * self.threads
            self._auth_env = _ray_token_auth_for_address(self.address)
            try:
                ray.init(address=self.address, **kwargs)
            except Exception as e:
                try:
                    ray.shutdown()  # what a failed join left behind
                except Exception:
                    pass
                self._restore_auth_env()
                if _is_ray_auth_failure(e):
                    raise ZcnasError(_ray_auth_message(self.address)) from e
                raise ZcnasError(f"cannot start or join Ray (address={self.address!r}): {e}") from e
            self._owns_ray = True
        self._cls = ray.remote(num_cpus=self.threads, max_restarts=0)(_RayWorkerImpl)
        self._job_ref = ray.put(job)
        self._actors = [self._new_actor() for _ in range(n_workers)]

    def _new_actor(self) -> Any:
        return self._cls.remote(self._job_ref, self.threads)

    def submit(self, worker: int, key: str, arch: Any) -> None:
        ref = self._actors[worker].run.remote(key, arch)
        self._refs[ref] = (worker, key)

    def wait(self, timeout: float) -> list[tuple[int, str, str, Any]]:
        ray = self._ray
        if not self._refs:
            return []
        ready, rest = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready and rest:  # collect whatever else is done too, without waiting
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        events = []
        for ref in ready:
            worker, key = self._refs.pop(ref)
            try:
                k, kind, payload = ray.get(ref)
                events.append((worker, kind, k, payload))
            except ray.exceptions.RayActorError as e:
                events.append((worker, _DIED, key, f"Ray actor died: {type(e).__name__}"))
            except ray.exceptions.RayError as e:
                events.append((worker, _ERROR, key, f"{type(e).__name__}: {e}"))
        return events

    def restart(self, worker: int) -> None:
        self._ray.kill(self._actors[worker], no_restart=True)
        self._actors[worker] = self._new_actor()

    def close(self) -> None:
        ray = self._ray
        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        self._actors, self._refs = [], {}
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
            self._restore_auth_env()

    def _restore_auth_env(self) -> None:
        if self._auth_env:  # RAY_AUTH_MODE was set for this join only
            os.environ.pop(_RAY_AUTH_MODE, None)
            self._auth_env = False


def make_backend(
    backend: str, *, address: str | None = None, threads_per_worker: int = 1
) -> Backend:
    """A backend by name (``local`` or ``ray``)."""
    if backend == "local":
        if address is not None:
            raise ZcnasError("address is only meaningful with the Ray backend")
        return LocalBackend(threads_per_worker)
    if backend == "ray":
        return RayBackend(address, threads_per_worker)
    raise ZcnasError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


# ---------------------------------------------------------------------------------- driver


@dataclass
class RunReport:
    """What one :func:`score_distributed` call did.

    Attributes:
        backend: ``local`` or ``ray``.
        workers: Workers started.
        n_requested: Distinct architectures asked for.
        n_already_stored: Of those, how many had every proxy stored (skipped).
        n_skipped_failed: Skipped because a failure was recorded earlier (no ``retry_failed``).
        n_scored: Scored and written in this call.
        n_failed: Failed in this call (recorded in the store's ``failures`` table).
        worker_deaths: Workers that died (and were replaced) in this call.
        elapsed_s: Wall time of the call, worker start-up included.
        completion_times: Seconds since the call began at which each result arrived.
        failures: ``(arch key, error)`` of this call's failures.
    """

    backend: str
    workers: int
    n_requested: int
    n_already_stored: int
    n_skipped_failed: int = 0
    n_scored: int = 0
    n_failed: int = 0
    worker_deaths: int = 0
    elapsed_s: float = 0.0
    completion_times: list[float] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def archs_per_minute(self) -> float:
        """Throughput over the whole call (start-up included)."""
        return 60.0 * self.n_scored / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def steady_archs_per_minute(self) -> float:
        """Throughput between the first and the last result (start-up excluded)."""
        t = self.completion_times
        if len(t) < 2 or t[-1] <= t[0]:
            return float("nan")
        return 60.0 * (len(t) - 1) / (t[-1] - t[0])


_BAR_DESCRIPTION_WIDTH = 12


def _progress_bar(console: Any = None) -> Any:
    """The bar of :func:`score_distributed`, laid out to fit an 80-column terminal.

    Counts (``done/total``), throughput, elapsed time, ETA and failures never wrap or get
    cut: they are no-wrap columns of their natural width; the description is ellipsised at
    :data:`_BAR_DESCRIPTION_WIDTH` characters and the bar takes what is left of the line (at
    least 5 cells). The widest line at 80 columns (15,625/15,625 architectures, a 5-digit
    rate, hours of ETA) is 80 characters.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Column
    from rich.text import Text

    def fixed() -> Column:
        return Column(no_wrap=True, overflow="ignore")

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            # the mean since the bar started, as the final report's archs_per_minute (rich's
            # windowed speed jumps when workers finish several architectures at once)
            elapsed = task.finished_time if task.finished else task.elapsed
            if not elapsed or not task.completed:
                return Text("--/min")
            return Text(f"{60 * task.completed / elapsed:,.0f}/min")

    class EtaColumn(TimeRemainingColumn):
        def render(self, task: Any) -> Text:
            return Text.assemble("ETA ", super().render(task))

    return Progress(
        TextColumn(
            "[progress.description]{task.description}",
            table_column=Column(
                no_wrap=True, overflow="ellipsis", max_width=_BAR_DESCRIPTION_WIDTH
            ),
        ),
        BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=5)),
        MofNCompleteColumn(table_column=fixed()),
        RateColumn(table_column=fixed()),
        TimeElapsedColumn(table_column=fixed()),
        EtaColumn(table_column=fixed()),
        TextColumn("{task.fields[failed]} failed", table_column=fixed()),
        console=console,
        transient=False,
        expand=True,
    )


def score_distributed(
    space: str,
    archs: Sequence[Any],
    proxy_names: Sequence[str],
    *,
    store: Any,
    backend: str | Backend = "local",
    workers: int = 1,
    address: str | None = None,
    dataset: str = "cifar10",
    flavor: str | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    threads_per_worker: int = 1,
    retry_failed: bool = False,
    max_worker_deaths: int | None = None,
    progress: bool | Any = True,
    job: Any = None,
    plugins: Sequence[str] = (),
    images: str | os.PathLike[str] | None = None,
) -> RunReport:
    """Score ``archs`` with ``proxy_names`` on ``workers`` parallel workers into ``store``.

    Scores are what :func:`zcnas.scoring.score_architectures` computes and stores (same
    networks, seeds, minibatch and provenance); see the module docstring for the guarantees.

    Args:
        space: ``nb201``, ``macro``, ``nb101``, ``darts`` (NASLib's NB301 network),
            ``darts-c3`` (the SWAP paper's DARTS-1000 network, keyed by genotype text),
            ``tnb101-micro`` or ``tnb101-macro`` (``dataset`` is then the TNB101 task); the
            store's space key is NAS-Bench-Suite-Zero's (:data:`zcnas.scoring.SPACE_KEYS`).
        archs: architectures in any encoding (duplicates are scored once).
        proxy_names: registered proxy names (all higher = better).
        store: a :class:`~zcnas.bench.ScoreStore` (required: it is how a run resumes).
        backend: ``"local"``, ``"ray"`` or a :class:`Backend` object.
        workers: number of parallel workers (>= 1).
        address: Ray cluster address (Ray backend only).
        dataset, flavor, seed, batch_size: as in :func:`~zcnas.scoring.score_architectures`.
        threads_per_worker: torch / zcnas threads of each worker.
        retry_failed: also score architectures with a recorded failure.
        max_worker_deaths: stop (``ZcnasError``) after this many dead workers in one call
            (default ``2 * workers + 2``): something is killing them all.
        progress: show a rich progress bar (``True``), none (``False``), or a rich Console.
        job: replaces the :class:`~zcnas.scoring.ArchScorer` built from the arguments above
            (a picklable object with the same ``key``, ``__call__``, ``rows``, ``space_key``,
            ``dataset``, ``flavor_key`` and ``proxy_names``).
        plugins: modules or ``.py`` files that register proxies
            (:mod:`zcnas.proxies.plugins`): loaded here and by every worker before scoring
            (a proxy registered only in this process is unknown to the workers).
        images: an image file instead of the shipped images (see
            :class:`~zcnas.scoring.ArchScorer`); every worker reads it at this path (on a
            multi-node Ray cluster it must exist there too).

    Returns:
        A :class:`RunReport`.

    Raises:
        ZcnasError: bad arguments, or too many worker deaths.
    """
    from zcnas.scoring import ArchScorer

    if store is None:
        raise ZcnasError("score_distributed needs a ScoreStore (results stream into it)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ZcnasError(f"workers must be a positive integer, got {workers!r}")
    if isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int):
        raise ZcnasError(
            f"threads_per_worker must be a positive integer, got {threads_per_worker!r}"
        )
    if threads_per_worker < 1:
        raise ZcnasError(f"threads_per_worker must be a positive integer, got {threads_per_worker}")
    if job is None:
        job = ArchScorer(
            space,
            proxy_names,
            dataset=dataset,
            flavor=flavor,
            seed=seed,
            batch_size=batch_size,
            plugins=plugins,
            images=images,
        )
    be = (
        make_backend(backend, address=address, threads_per_worker=threads_per_worker)
        if isinstance(backend, str)
        else backend
    )
    t0 = time.perf_counter()
    by_key: dict[str, Any] = {}
    for a in archs:
        by_key.setdefault(job.key(a), a)
    names = list(job.proxy_names)
    sk, task, fk = job.space_key, job.dataset, job.flavor_key
    if hasattr(job, "check_store"):  # stored rows of another setup are not reused
        job.check_store(store, list(by_key))
    missing = dict.fromkeys(k for k, _ in store.missing(sk, task, list(by_key), names, flavor=fk))
    if hasattr(job, "ground_truth_rows"):  # what `zcnas analyze` needs to find the task
        store.put_ground_truth_many(job.ground_truth_rows(list(by_key.values())))
    report = RunReport(be.name, 0, len(by_key), len(by_key) - len(missing))
    failed_before = set(store.failures(sk, task, flavor=fk)["arch"])
    if not retry_failed:
        report.n_skipped_failed = sum(k in failed_before for k in missing)
        todo = deque((k, by_key[k]) for k in missing if k not in failed_before)
    else:
        todo = deque((k, by_key[k]) for k in missing)
    if not todo:
        report.elapsed_s = time.perf_counter() - t0
        return report
    n_workers = min(workers, len(todo))
    max_deaths = 2 * n_workers + 2 if max_worker_deaths is None else int(max_worker_deaths)
    report.workers = n_workers
    bar = None
    if progress:
        bar = _progress_bar(None if progress is True else progress)
        bar.start()
        task_id = bar.add_task(f"{be.name} x{n_workers}", total=len(todo), failed=0)
    idle = list(range(n_workers))
    n_busy = 0
    try:
        be.start(job, n_workers)
        while todo or n_busy:
            while idle and todo:
                key, arch = todo.popleft()
                be.submit(idle.pop(), key, arch)
                n_busy += 1
            events = be.wait(0.5)
            rows: list[dict[str, Any]] = []
            succeeded = []
            for worker, kind, key, payload in events:
                n_busy -= 1
                report.completion_times.append(time.perf_counter() - t0)
                if kind == _OK:
                    scores, elapsed = payload
                    rows.extend(job.rows(key, scores, elapsed))
                    succeeded.append(key)
                    report.n_scored += 1
                else:
                    store.put_failure(sk, task, key, str(payload), proxies=names, flavor=fk)
                    report.failures.append((key, str(payload)))
                    report.n_failed += 1
                    if kind == _DIED:
                        report.worker_deaths += 1
                        if report.worker_deaths > max_deaths:
                            raise ZcnasError(
                                f"{report.worker_deaths} workers died in this run (last: "
                                f"{payload}); stopping. Stored results are kept; rerun to resume."
                            )
                        be.restart(worker)
                idle.append(worker)
            if rows:
                store.put_many(rows)
            if retry_failed and succeeded:
                again = [k for k in succeeded if k in failed_before]
                if again:
                    store.clear_failures(sk, task, again, flavor=fk)
            if bar is not None and events:
                bar.update(task_id, advance=len(events), failed=report.n_failed)
    finally:
        be.close()
        if bar is not None:
            bar.stop()
        report.elapsed_s = time.perf_counter() - t0
    return report
