"""Run one kernel over blocks of work serially or on threads.

The kernels take a block (a tile of bins, a batch of surrogates) and return its result, so
the same function runs here serially, on a thread pool, or (later) as dask tasks. Results
come back in block order, so the outcome does not depend on the backend.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def default_workers():
    return max(1, min(os.cpu_count() or 1, 8))


def map_blocks(func, blocks, backend="threads", n_workers=None, progress=None):
    """``[func(b) for b in blocks]``, in order, serially or on threads.

    Parameters
    ----------
    func : callable taking one block
    blocks : sequence of blocks
    backend : "serial" or "threads"
    n_workers : int, optional (default: the number of cores, at most 8)
    progress : callable(fraction, message), optional, called as blocks finish
    """
    blocks = list(blocks)
    if backend not in ("serial", "threads"):
        raise ValueError(f"backend: expected 'serial' or 'threads', got {backend!r}")
    total = max(len(blocks), 1)
    if backend == "serial" or len(blocks) <= 1:
        out = []
        for k, block in enumerate(blocks):
            out.append(func(block))
            if progress:
                progress((k + 1) / total, f"block {k + 1}/{total}")
        return out
    with ThreadPoolExecutor(max_workers=n_workers or default_workers()) as pool:
        futures = [pool.submit(func, b) for b in blocks]
        out = []
        for k, fut in enumerate(futures):
            out.append(fut.result())
            if progress:
                progress((k + 1) / total, f"block {k + 1}/{total}")
        return out
