"""Where the heavy work runs: in this process, or partitioned by municipality on Dask.

``riskmap run --engine dask`` cuts the region into one partition per municipality: the
municipality's window of the region grid (:meth:`riskmap.grid.Region.window`). A partition

* reads every source with the extent of its window widened by what the indicator must see
  (``pad_m``: the distance cap, the density radius) and measures it on the window;
* computes the kernel density of the incidents that reach the window (the kernel is cut at
  five bandwidths, so the window needs no more), and the Gi* z-scores on the window widened
  by the Gi* distance band (the halo), with the mean, standard deviation and number of cells
  of the whole region passed in;
* writes its municipality's files.

What must see the whole region stays with the caller: the choice of the risk settings
(rolling-origin back-test), the scale of ``normalise = "region"``, the density's maximum (the
score), the false-discovery-rate correction of Gi*, the emerging hot spots, the ranking and
the plan. Because every cell is computed from the same numbers in the same order, the
partitioned run equals the single-process run (tests/test_engine.py compares every output).

The engine is an object with ``map(fn, items)``: :class:`LocalEngine` calls ``fn`` in this
process, :class:`DaskEngine` on a ``distributed`` cluster — a local one (one single-threaded
worker process per core) unless a scheduler address is given.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from riskmap import clock
from riskmap.errors import ConfigError
from riskmap.grid import Region

__all__ = ["DaskEngine", "LocalEngine", "Partition", "Pending", "get_engine", "partitions"]

ENGINES = ("local", "dask")


@dataclass(frozen=True)
class Partition:
    """One municipality's window of the region grid (``array[rows, cols]``)."""

    code: str
    rows: slice
    cols: slice

    def widened(self, n: int, shape: tuple[int, int]) -> tuple[slice, slice]:
        """The window widened by ``n`` cells on every side, clipped to ``shape``."""
        return (slice(max(self.rows.start - n, 0), min(self.rows.stop + n, shape[0])),
                slice(max(self.cols.start - n, 0), min(self.cols.stop + n, shape[1])))


def partitions(region: Region, codes: Iterable[str] | None = None) -> list[Partition]:
    """One partition per municipality (all of the region by default)."""
    out = []
    for code in codes or region.codes:
        rows, cols = region.window(code)
        out.append(Partition(code=code, rows=rows, cols=cols))
    return out


class LocalEngine:
    """The computation in this process: in one piece, or (``partitioned=True``) one
    municipality at a time like :class:`DaskEngine` (for debugging and tests without a
    cluster).

    With ``workers`` > 1 the sources are measured, and the files of the municipalities (maps,
    lists, pages) written, by that many processes forked from this one (POSIX): they see the
    computed maps without copying them, and each writes its own municipalities' files, so
    the files are the same. :meth:`submit` returns at once, so this process computes the
    next stage while they work. The computation itself stays in one piece here
    (``partitioned`` re-reads every window's halo; on one machine that costs more than it
    gives).
    """

    name = "local"

    def __init__(self, *, partitioned: bool = False, workers: int = 1) -> None:
        self.partitioned = partitioned
        self.workers = max(int(workers), 1) if _can_fork() else 1
        self._inflight: Pending | None = None

    @property
    def parallel(self) -> bool:
        """Whether :meth:`map` spreads work over processes (or partitions)."""
        return self.partitioned or self.workers > 1

    def map(self, fn: Callable, items: Sequence, *, desc: str = "",
            progress: bool = False) -> list:
        """``[fn(item) for item in items]`` with a progress bar, in ``workers`` processes.

        The first error of an item is raised here (a :class:`~riskmap.errors.RiskmapError`
        keeps its code and message across the process boundary).
        """
        return self.submit(fn, items, desc=desc, progress=progress).result()

    def submit(self, fn: Callable, items: Sequence, *, desc: str = "",
               progress: bool = False) -> Pending:
        """Start ``fn`` over ``items`` in ``workers`` forked processes and return at once:
        the caller computes on while they work; :meth:`Pending.result` waits for them.

        One batch of worker processes at a time: a new batch (or :meth:`map`) first waits
        for the one before (and raises its first error). With one worker the items run here,
        now.
        """
        self.settle()
        if self.workers == 1 or len(items) < 2:
            return Pending.done([fn(item) for item in tqdm(items, desc=desc,
                                                           disable=not progress)])
        batch = _ForkedBatch(fn, items, workers=min(self.workers, len(items)), desc=desc,
                             progress=progress)
        self._inflight = batch.pending
        return batch.pending

    def settle(self) -> None:
        """Wait for the batch of worker processes started last, if any."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.result()

    def close(self) -> None:
        """Stop a batch still running (after an error elsewhere)."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.cancel()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _can_fork() -> bool:
    import multiprocessing as mp

    return "fork" in mp.get_all_start_methods()


class Pending:
    """Work an engine runs while the caller goes on (:meth:`LocalEngine.submit`,
    :meth:`DaskEngine.submit`): :meth:`result` waits for it and returns its value (or raises
    its first error, every time it is asked); :meth:`then` adds a step the caller runs on the
    value; :meth:`cancel` stops it."""

    def __init__(self, wait: Callable[[], Any], cancel: Callable[[], None] | None = None,
                 ready: Callable[[], bool] | None = None) -> None:
        self._wait = wait
        self._cancel = cancel
        self._ready = ready
        self._outcome: tuple[bool, Any] | None = None

    @classmethod
    def done(cls, value: Any) -> Pending:
        """Work that is finished already."""
        pending = cls(lambda: value)
        pending._outcome = (True, value)
        return pending

    def result(self) -> Any:
        if self._outcome is None:
            try:
                self._outcome = (True, self._wait())
            except BaseException as exc:
                self._outcome = (False, exc)
            # done: let go of the work (a batch refers to its pending: without this the
            # cycle, and the results it holds, would wait for the cyclic collector)
            self._wait = self._cancel = self._ready = None
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    def then(self, fn: Callable[[Any], Any]) -> Pending:
        """``fn(self.result())``, when asked for."""
        return Pending(lambda: fn(self.result()), self.cancel, self.ready)

    def ready(self) -> bool:
        """Whether :meth:`result` would return (or raise) without waiting for the workers."""
        if self._outcome is not None:
            return True
        return self._ready is not None and self._ready()

    def cancel(self) -> None:
        if self._outcome is None and self._cancel is not None:
            self._cancel()
            self._outcome = (False, RuntimeError("cancelled"))
            self._wait = self._cancel = self._ready = None


#: What the forked workers of :class:`_ForkedBatch` run: batch number → (fn, items, the
#: run's time). A batch's entry lives while the batch runs, so a worker that the pool
#: starts again finds it too.
_FORKED: dict[int, tuple] = {}
_BATCHES = itertools.count()


class _ForkedBatch:
    """``fn`` over ``items`` in ``workers`` processes forked now, results in item order.

    The processes are forked after ``fn`` and ``items`` are set, so they inherit them (copy on
    write) and only item numbers and results cross the process boundary.
    """

    def __init__(self, fn: Callable, items: Sequence, *, workers: int, desc: str,
                 progress: bool) -> None:
        import multiprocessing as mp

        self.key = next(_BATCHES)
        self.n, self.desc, self.progress = len(items), desc, progress
        _FORKED[self.key] = (fn, items, clock.now())
        # the objects made so far go to the collector's permanent generation: the workers'
        # collections then leave their pages alone (each page a collection touches is
        # copied on write: ~10 % of the system time of a region run)
        gc.freeze()
        try:
            self.pool = mp.get_context("fork").Pool(workers)  # forks the workers now
        finally:
            gc.unfreeze()
        run = functools.partial(_run_forked, self.key)
        self.results = [self.pool.apply_async(run, (i,)) for i in range(self.n)]
        self.pending = Pending(self._wait, self._stop,
                               lambda: all(r.ready() for r in self.results))

    def _wait(self) -> list:
        try:
            done = [r.get() for r in tqdm(self.results, total=self.n, desc=self.desc,
                                          disable=not self.progress)]
        except BaseException:
            self._stop()
            raise
        self.pool.close()
        self.pool.join()
        _FORKED.pop(self.key, None)
        for _, caught in done:  # the workers' warnings, as if the items had run here
            for message, category in caught:
                warnings.warn(message, category, stacklevel=2)
        return [result for result, _ in done]

    def _stop(self) -> None:
        self.pool.terminate()
        self.pool.join()
        _FORKED.pop(self.key, None)


def _run_forked(key: int, i: int):
    fn, items, when = _FORKED[key]
    with clock.at(when), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the parent's filters decide, when it re-issues them
        result = fn(items[i])  # every file of a run has one time stamp
    return result, [(w.message, w.category) for w in caught]


class DaskEngine:
    """Partitions on a Dask ``distributed`` cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). Default: start a
        ``LocalCluster`` of single-threaded worker processes and stop it on :meth:`close`.
    workers : int, optional
        Number of local worker processes (default: the number of cores).
    timeout : float, default=20
        Seconds to wait for the scheduler at ``scheduler``.
    """

    name = "dask"
    partitioned = True
    parallel = True

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None,
                 timeout: float = 20.0) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover (a dependency)
            raise ConfigError("--engine dask needs the distributed package: "
                              "pip install 'dask[distributed]'.", code="E-ENGINE") from exc
        self._cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=f"{timeout}s")
            except OSError as exc:
                raise ConfigError(f"no Dask scheduler answers at {scheduler!r} ({exc}). Start "
                                  "one (dask scheduler) or leave out --scheduler to use a local "
                                  "cluster.", code="E-ENGINE-SCHEDULER") from None
        else:
            n = workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=40)
            self.client = Client(self._cluster)

    def map(self, fn: Callable, items: Sequence, *, desc: str = "",
            progress: bool = False) -> list:
        """``fn`` over ``items`` on the cluster, results in the order of ``items``.

        The first error of a partition is raised here (a :class:`~riskmap.errors.RiskmapError`
        keeps its code and message across the process boundary).
        """
        return self.submit(fn, items, desc=desc, progress=progress).result()

    def submit(self, fn: Callable, items: Sequence, *, desc: str = "",
               progress: bool = False) -> Pending:
        """Hand ``fn`` over ``items`` to the cluster and return at once; :meth:`Pending.result`
        waits for the results (in the order of ``items``)."""
        from distributed import as_completed

        if not items:
            return Pending.done([])
        # the workers carry on the run's clock: every file of a run has one time stamp. The
        # shared arguments (project, grid, incidents, masks) go to the workers once, not
        # inside every task of the graph; under keys of their own (hash=False), because a
        # content-hashed key shared with an earlier map is released when that map's futures
        # are, under the feet of this map's tasks ("lost dependencies").
        func, shared = (fn.func, dict(fn.keywords)) if isinstance(fn, functools.partial) \
            and not fn.args else (fn, {})
        shared = {k: v if _small(v) else self.client.scatter([v], broadcast=True, hash=False)[0]
                  for k, v in shared.items()}
        futures = self.client.map(_on_clock, list(items), pure=False, fn=func,
                                  when=clock.now(), **shared)

        def wait() -> list:
            bar = tqdm(total=len(futures), desc=desc, disable=not progress)
            try:
                for fut in as_completed(futures):
                    if fut.status == "error":
                        fut.result()  # raises the partition's error
                    bar.update(1)
            finally:
                bar.close()
            return self.client.gather(futures)

        return Pending(wait, lambda: self.client.cancel(futures),
                       lambda: all(f.done() for f in futures))

    def settle(self) -> None:
        """Nothing to wait for: the cluster schedules what it is given."""

    def close(self) -> None:
        """Disconnect; stop the local cluster if this engine started it."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _on_clock(item, *, fn: Callable, when, **kwargs):
    with clock.at(when):
        return fn(item, **kwargs)


def _small(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool | os.PathLike)


def get_engine(name: str = "local", *, scheduler: str | None = None,
               workers: int | None = None) -> LocalEngine | DaskEngine:
    """The engine called ``name`` (``local`` or ``dask``); ``workers`` default: one per core."""
    if name == "local":
        if scheduler:
            raise ConfigError("--scheduler needs --engine dask.", code="E-ENGINE")
        return LocalEngine(workers=workers or os.cpu_count() or 1)
    if name == "dask":
        return DaskEngine(scheduler, workers=workers)
    raise ConfigError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}.",
                      code="E-ENGINE")
