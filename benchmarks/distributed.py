"""SPOTDis on one process against a 2-worker dask cluster, and dask's per-task overhead.

Problem: ``simulate.spot_patterns(n_patterns=10, epochs_per_pattern=50,
n_noise_epochs=500, seed=0)``: 1,000 epochs x 50 neurons, 300 samples of 1 ms (grid kernel;
the continuous kernel is timed too). Timed, each after a warm-up run (numba compiled and
cached, cluster workers started and their kernels loaded):

  * local, numba on 1 thread (``NUMBA_NUM_THREADS=1`` in a subprocess);
  * local, numba on all threads (the default);
  * a ``LocalCluster`` of 2 worker processes x 1 thread, reached by address, each worker's
    numba on 1 thread (set for the workers), so each core does one task at a time.

Checks that every backend gives the identical matrix, then prints the speedup and the cost
of one trivial task (time of N no-op tasks / N through ``map_blocks``).

    python benchmarks/distributed.py
    python benchmarks/distributed.py --quick     # 300 epochs, a smoke test
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
# this file is named like the dask package: keep its folder off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402

from analysis import parallel, simulate  # noqa: E402
from analysis.spotdis import spotdis  # noqa: E402

_spec = importlib.util.spec_from_file_location("_bench_machine", HERE / "machine.py")
_machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_machine)
machine = _machine.machine


def problem(quick):
    if quick:
        return simulate.spot_patterns(n_patterns=5, epochs_per_pattern=30,
                                      n_noise_epochs=150, seed=0)
    return simulate.spot_patterns(n_patterns=10, epochs_per_pattern=50, n_noise_epochs=500,
                                  seed=0)


def timed(data, method, repeat=1, **kw):
    spotdis(data, method=method, **kw)   # warm-up
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = spotdis(data, method=method, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, out


def _noop(block):
    return block


def single_thread(quick, method):
    """Time in a subprocess with NUMBA_NUM_THREADS=1 (numba reads it at import)."""
    out = HERE / "results" / f".single_{method}.npy"
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    env.pop(parallel.SCHEDULER_ENV, None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", method, str(out)]
    if quick:
        cmd.append("--quick")
    res = subprocess.run(cmd, env=env, text=True, capture_output=True, check=True)
    matrix = np.load(out)
    out.unlink()
    return float(res.stdout.strip().splitlines()[-1]), matrix


def main():
    from distributed import LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", type=int, default=500, help="trivial tasks for overhead")
    parser.add_argument("--single", nargs=2, metavar=("METHOD", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        t, out = timed(problem(args.quick), args.single[0])
        np.save(args.single[1], out.matrix)
        print(t)
        return
    os.environ.pop(parallel.SCHEDULER_ENV, None)
    import numba

    data = problem(args.quick)
    M = len(data.epochs)
    print("SPOTDis: local process vs a 2-worker dask LocalCluster (reached by address)")
    print(f"  machine: {machine()}")
    print(f"  numpy {np.__version__}, numba {numba.__version__}, dask "
          f"{__import__('dask').__version__}, numba threads by default: "
          f"{numba.config.NUMBA_NUM_THREADS}")
    print(f"  problem: spot_patterns, {M} epochs x {data.n_units} neurons, "
          f"{data.n_spikes} spikes, {M * (M - 1) // 2:,} epoch pairs")
    # workers: numba on one thread each, one task at a time per worker process
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, worker_dashboard_address=None)
    if old is None:
        os.environ.pop("NUMBA_NUM_THREADS")
    else:
        os.environ["NUMBA_NUM_THREADS"] = old
    address = cluster.scheduler_address
    try:
        for method in ("grid", "continuous"):
            t1, m1 = single_thread(args.quick, method)
            tl, local = timed(data, method)
            td, remote = timed(data, method, scheduler=address)
            same = np.array_equal(local.matrix, remote.matrix) and np.array_equal(m1,
                                                                                  local.matrix)
            print(f"\n  {method} kernel ({'bit-identical on all backends' if same else 'DIFFERENT RESULTS'}):")
            print(f"    local, numba 1 thread          {t1:8.2f} s")
            print(f"    local, numba default threads   {tl:8.2f} s")
            print(f"    dask, 2 workers x 1 thread     {td:8.2f} s")
            print(f"    speedup of the cluster: {t1 / td:.2f}x against 1 thread, "
                  f"{tl / td:.2f}x against local threads")
        client = parallel.get_client(address)
        parallel.map_blocks(_noop, range(20), client=client)   # warm
        n = args.tasks
        t0 = time.perf_counter()
        parallel.map_blocks(_noop, range(n), client=client)
        dt = time.perf_counter() - t0
        print(f"\n  per-task overhead: {n} trivial tasks in {dt:.2f} s = "
              f"{1e3 * dt / n:.2f} ms per task (SPOTDis uses 20 blocks per matrix)")
    finally:
        parallel.close_clients()
        cluster.close()


if __name__ == "__main__":
    main()
