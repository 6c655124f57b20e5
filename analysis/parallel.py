"""Run one kernel over blocks of work: serially, on threads, or as dask tasks.

The kernels take a block (a tile of bins, a range of neuron pairs, a batch of surrogates)
and return its partial result, so the same function runs here serially, on a thread pool, or
as tasks on a ``dask.distributed`` cluster. The decomposition into blocks never depends on
the backend or the number of workers, and partial results are combined in block order
(whatever order the blocks finish in), so the outcome is the same, bit for bit, on every
backend.

Where the work goes (``resolve_scheduler``): the ``scheduler`` argument (the analysis
objects' ``scheduler`` parameter), else the ``SPIKELENS_SCHEDULER`` environment variable,
else local. An address such as ``tcp://host:8786`` sends the blocks to the dask scheduler
there; its workers must have spikelens (and the same numpy/numba) installed, since they
import the kernels from the package. See docs/cluster.md.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["map_blocks", "get_client", "resolve_scheduler", "default_workers",
           "SCHEDULER_ENV", "CONNECT_TIMEOUT", "LOCAL"]

#: Environment variable giving the default scheduler address.
SCHEDULER_ENV = "SPIKELENS_SCHEDULER"
#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 5.0
#: ``scheduler="local"`` forces local execution even when the environment variable is set.
LOCAL = "local"

_NOTHING = object()
_clients = {}
_lock = threading.Lock()


def default_workers():
    return max(1, min(os.cpu_count() or 1, 8))


def resolve_scheduler(scheduler=None):
    """The scheduler address to use, or None for local execution.

    ``scheduler`` (a parameter) wins; None falls back to ``$SPIKELENS_SCHEDULER``; an empty
    string or "local" means local.
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None:
        return None
    scheduler = str(scheduler).strip()
    if not scheduler or scheduler.lower() == LOCAL:
        return None
    return scheduler


def get_client(scheduler=None):
    """A ``distributed.Client`` connected to the resolved scheduler, or None (local).

    Clients are cached per address and reused while they stay connected.

    Raises
    ------
    ConnectionError
        One line naming the address when no scheduler answers within ``CONNECT_TIMEOUT``.
    """
    address = resolve_scheduler(scheduler)
    if address is None:
        return None
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask is a dependency
            raise ConnectionError(f"scheduler: {address} given but dask.distributed is not "
                                  f"installed") from None
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError (bad address) ...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConnectionError(
                f"scheduler: cannot connect to dask scheduler at {address!r} within "
                f"{CONNECT_TIMEOUT:g} s ({reason})") from None
        _clients[address] = client
        return client


def close_clients():
    """Close the cached clients (tests, shutdown)."""
    with _lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # pragma: no cover
                pass
        _clients.clear()


def map_blocks(func, blocks, backend="threads", n_workers=None, progress=None, *,
               shared=None, reduce=None, initial=_NOTHING, client=None, scheduler=None,
               label="block"):
    """``[func(b, **shared) for b in blocks]`` in block order, on the chosen backend.

    Parameters
    ----------
    func : callable(block, **shared)
        A module-level function (or ``functools.partial`` of one): dask pickles it.
    blocks : sequence of blocks (small: indices or ranges)
    backend : "serial", "threads" or "dask"
        Local backend, used when no scheduler is resolved; "dask" needs ``client`` or a
        scheduler address. An address (``scheduler``, or ``$SPIKELENS_SCHEDULER``) sends the
        blocks to that cluster whatever the local backend.
    n_workers : int, optional; threads for the "threads" backend
    progress : callable(fraction, message), optional, called as each block finishes
    shared : dict, optional
        Inputs every block needs, passed to ``func`` as keyword arguments. On dask they go
        inside each task when small (under ``SCATTER_BYTES``, and under
        ``SCATTER_TOTAL_BYTES`` for all tasks together), else they are scattered to the
        cluster once and fetched by the workers that need them.
    reduce : callable(accumulated, result) -> accumulated, optional
        Fold the results in block order (starting from ``initial``, else from the first
        result) and return the folded value instead of the list; results are folded as
        soon as all earlier blocks are in, so at most the out-of-order ones are held.
    initial : optional, the start of the fold
    client : distributed.Client, optional
    scheduler : str, optional; address of a dask scheduler (see ``resolve_scheduler``)
    label : word used in progress messages

    Returns
    -------
    list of results in block order, or the folded value (None for no blocks) with ``reduce``
    """
    blocks = list(blocks)
    shared = dict(shared or {})
    if backend not in ("serial", "threads", "dask"):
        raise ValueError(f"backend: expected 'serial', 'threads' or 'dask', got {backend!r}")
    if client is None:
        client = get_client(scheduler)
    if backend == "dask" and client is None:
        raise ValueError("backend: 'dask' needs a client or a scheduler address (scheduler "
                         f"parameter or ${SCHEDULER_ENV})")
    total = len(blocks)
    collector = _Ordered(reduce, initial)

    def done(index, result, n_done):
        collector.add(index, result)
        if progress:
            progress(n_done / max(total, 1), f"{label} {n_done}/{total}")

    if client is not None:
        _run_dask(client, func, blocks, shared, done)
    elif backend == "serial" or total <= 1:
        for k, block in enumerate(blocks):
            done(k, func(block, **shared), k + 1)
    else:
        with ThreadPoolExecutor(max_workers=n_workers or default_workers()) as pool:
            futures = {pool.submit(func, b, **shared): k for k, b in enumerate(blocks)}
            from concurrent.futures import as_completed

            for n, fut in enumerate(as_completed(futures), 1):
                done(futures[fut], fut.result(), n)
    return collector.result(total)


#: shared inputs smaller than this travel inside each task instead of being scattered,
#: unless all the tasks' copies together would reach ``SCATTER_TOTAL_BYTES``
SCATTER_BYTES = 8 * 2 ** 20
SCATTER_TOTAL_BYTES = 256 * 2 ** 20


def _nbytes(obj):
    """Approximate size of the arrays in ``obj`` (arrays, sparse matrices, containers)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if hasattr(obj, "data") and hasattr(obj, "indices") and hasattr(obj, "indptr"):
        return obj.data.nbytes + obj.indices.nbytes + obj.indptr.nbytes
    if isinstance(obj, dict):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj)
    return 0


def _run_dask(client, func, blocks, shared, done):
    from distributed import as_completed

    # Large shared inputs are sent once to the cluster and workers fetch what their tasks
    # need (broadcast=True made the workers hand the data back and forth without end in one
    # CI run). Small ones go inside each task: no transfer between workers can stall them
    # (a scattered input once left a CI run waiting on idle workers).
    size = _nbytes(shared) if shared else 0
    if shared and (size >= SCATTER_BYTES or size * len(blocks) >= SCATTER_TOTAL_BYTES):
        scattered = client.scatter(shared, hash=False)
    else:
        scattered = shared
    futures = [client.submit(func, b, **scattered, pure=False) for b in blocks]
    index = {f.key: k for k, f in enumerate(futures)}
    try:
        for n, fut in enumerate(as_completed(futures, loop=client.loop), 1):
            k = index[fut.key]
            result = fut.result()   # re-raises a task's exception here
            futures[k] = None       # let the cluster free it
            done(k, result, n)
    finally:
        left = [f for f in futures if f is not None]
        if left:
            client.cancel(left)


class _Ordered:
    """Collect results by block index; fold them in block order as they become ready."""

    def __init__(self, reduce, initial=_NOTHING):
        self.reduce = reduce
        self.pending = {}
        self.next = 0
        self.acc = None if initial is _NOTHING else initial
        self.fresh = initial is _NOTHING
        self.out = []

    def add(self, index, result):
        self.pending[index] = result
        while self.next in self.pending:
            value = self.pending.pop(self.next)
            if self.reduce is None:
                self.out.append(value)
            elif self.fresh:
                self.acc, self.fresh = value, False
            else:
                self.acc = self.reduce(self.acc, value)
            self.next += 1

    def result(self, total):
        if self.next != total:  # pragma: no cover - every block reports exactly once
            raise RuntimeError(f"map_blocks: {self.next} of {total} blocks collected")
        return self.out if self.reduce is None else self.acc
