"""Restricted loading: ``load(path)`` against ``load(path, window=...)`` and ``units=``.

Issue #14 item 7: a recording far larger than memory must open as a window. The data: 1000
units, time-ordered uniform spikes over 1000 s (10 Hz each), 1e7 spikes, written by
``analysis.save`` as NPZ (members stored, as ``save`` writes them) and Parquet (row groups
of 65,536 rows), and the same NPZ with compressed members (``numpy.savez_compressed``).

For each file: a full load, a 1 s window, 10 units, and 10 units in a 1 s window. Time: the
median of ``--repeats`` loads after one warm-up load (file in the page cache). Bytes read:
the growth of ``rchar`` in ``/proc/self/io`` during one load (every byte that read calls
returned, page cache included; Linux).

    python benchmarks/io_window.py            # 1e7 spikes, 1000 units
    python benchmarks/io_window.py --quick    # 1e6 spikes, a smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _rchar():
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


def _measure(path, repeats, **ask):
    from analysis.io import load

    load(path, **ask)  # warm-up
    before = _rchar()
    out = load(path, **ask)
    nbytes = _rchar() - before
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        load(path, **ask)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), nbytes, out.n_spikes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e6 spikes")
    parser.add_argument("--spikes", type=int, default=10_000_000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.spikes = 1_000_000

    import numpy as np

    from analysis import SpikeTrains
    from analysis.io import save

    print(f"# benchmarks/io_window.py, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {machine()}")
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rate = 10.0
    duration = args.spikes / (args.units * rate)
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.0, duration, args.spikes))
    units = rng.integers(0, args.units, args.spikes)
    data = SpikeTrains.from_spikes(times, units, t_start=0.0, t_stop=duration)
    del times, units
    mid = duration / 2
    asks = {"full": {}, "1 s window": dict(window=(mid, mid + 1.0)),
            "10 units": dict(units=list(range(0, args.units, args.units // 10))),
            "10 units, 1 s": dict(window=(mid, mid + 1.0),
                                  units=list(range(0, args.units, args.units // 10)))}
    print(f"data: {data.n_spikes:,} spikes, {data.n_units} units, {duration:g} s\n")
    head = f"{'file':22s}{'MB':>6s}  {'asked':15s}{'spikes':>11s}{'load (s)':>10s}{'read MB':>9s}"
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {"NPZ (stored)": save(data, tmp / "own.npz"),
                 "Parquet": save(data, tmp / "own.parquet")}
        compressed = tmp / "compressed.npz"
        with np.load(files["NPZ (stored)"]) as z:
            np.savez_compressed(compressed, **{k: z[k] for k in z.files})
        files["NPZ (compressed)"] = compressed
        del data
        for name, path in files.items():
            for what, ask in asks.items():
                seconds, nbytes, n = _measure(path, args.repeats, **ask)
                print(f"{name:22s}{path.stat().st_size / 1e6:6.0f}  {what:15s}{n:11,d}"
                      f"{seconds:10.3f}{nbytes / 1e6:9.2f}", flush=True)
    print(f"\nload average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
