"""Loading 1e7 spikes: ``analysis.load`` against reading the same file without validation.

Issue #2 asks that loading 1e7 spikes from Parquet or NPZ take seconds, not minutes. The
data: 1000 units, time-ordered uniform spikes over 1000 s (10 Hz each), 1e7 spikes, written
once into a temporary folder as

* spikelens' own NPZ, Parquet (and, with ``--csv``, CSV), written by ``analysis.save``;
* with ``--nwb``, an NWB file written by ``analysis.save`` (reference: h5py reading the
  units table's ``spike_times``, ``spike_times_index`` and ``id`` arrays);
* a foreign Parquet (and, with ``--csv``, CSV) table with the columns ``time, unit`` in
  time order, without spikelens metadata (``load`` groups its rows by unit).

Reference for each file: the bytes into arrays without any checks or grouping by unit:
``numpy.load`` of every NPZ member, ``pandas.read_parquet``, ``pandas.read_csv``.

Each measurement runs in a child process of its own, after one warm-up load that is not
counted (lazy imports). Time: the median of ``--repeats`` loads (file in the page cache),
wall clock and CPU (every thread counted; CPU time moves less than wall time when other
work shares the machine). Memory: the largest, over the repeats, peak RSS during a
load above the RSS just before it (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``),
in MB; the result itself is part of it, and the spike times alone take 8 bytes per spike
(80 MB at 1e7). With ``--baseline REV``, ``load`` of the ``analysis`` package at git
revision ``REV`` (extracted with ``git archive``) is measured right after the current one.

    python benchmarks/io_load.py            # 1e7 spikes, 1000 units
    python benchmarks/io_load.py --csv      # CSV as well (about a minute more)
    python benchmarks/io_load.py --quick    # 1e6 spikes, a smoke test
    python benchmarks/io_load.py --nwb      # NWB as well
    python benchmarks/io_load.py --csv --baseline a56bbc7   # and load as it was then
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from machine import machine

HERE = Path(__file__).resolve().parent


def _status_mb(key):
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------- child process
def _child(kind, path, repeats):
    """Time ``kind`` on ``path`` in this process; print one JSON line."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the baseline)

    from analysis.io import load

    def read_npz(p):
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def read_nwb_h5py(p):
        import h5py

        with h5py.File(p, "r") as f:
            return {k: f["units"][k][()] for k in ("spike_times", "spike_times_index", "id")}

    readers = {
        "load": load,
        "h5py (units arrays)": read_nwb_h5py,
        "numpy.load": read_npz,
        "pandas.read_parquet": pd.read_parquet,
        "pandas.read_csv": lambda p: pd.read_csv(p, comment="#"),
    }
    fn = readers[kind]
    fn(path)  # warm-up: lazy imports, first-call set-up (not counted)
    seconds, cpu, peaks = [], [], []
    n_spikes = None
    for _ in range(repeats):
        gc.collect()
        base = _status_mb("VmRSS")
        exact = _reset_peak()
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(path)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        peaks.append(_status_mb("VmHWM") - base if exact else
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base)
        if kind == "load":
            n_spikes = out.n_spikes
        del out
    print(json.dumps({"seconds": statistics.median(seconds), "all": seconds,
                      "cpu": statistics.median(cpu), "peak_mb": max(peaks),
                      "n_spikes": n_spikes}))


def _measure(kind, path, repeats, root=HERE.parent):
    """``kind`` on ``path`` in a child process that imports ``analysis`` from ``root``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path),
           "--repeats", str(repeats)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise RuntimeError(f"{kind} on {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- data
def _write_files(folder, n_spikes, n_units, rate, with_csv, with_nwb=False):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis import SpikeTrains
    from analysis.io import save

    rng = np.random.default_rng(0)
    duration = n_spikes / (n_units * rate)
    times = np.sort(rng.uniform(0.0, duration, n_spikes))
    units = rng.integers(0, n_units, n_spikes).astype(np.int32)
    data = SpikeTrains.from_spikes(times, units, t_start=0.0, t_stop=duration)
    files = {}
    files["NPZ (spikelens)"] = (save(data, folder / "own.npz"), "numpy.load")
    files["Parquet (spikelens)"] = (save(data, folder / "own.parquet"), "pandas.read_parquet")
    foreign = folder / "foreign.parquet"
    pq.write_table(pa.table({"time": times, "unit": units}), foreign)
    files["Parquet (foreign time,unit)"] = (foreign, "pandas.read_parquet")
    if with_csv:
        import pandas as pd

        files["CSV (spikelens)"] = (save(data, folder / "own.csv"), "pandas.read_csv")
        path = folder / "foreign.csv"
        pd.DataFrame({"time": times, "unit": units}).to_csv(path, index=False)
        files["CSV (foreign time,unit)"] = (path, "pandas.read_csv")
    if with_nwb:
        files["NWB (spikelens)"] = (save(data, folder / "own.nwb"), "h5py (units arrays)")
    return data, duration, files


def _extract(rev, folder):
    """The ``analysis`` package at git revision ``rev``, extracted under ``folder``."""
    archive = folder / "baseline.tar"
    with open(archive, "wb") as fh:
        subprocess.run(["git", "archive", rev, "analysis"], cwd=HERE.parent, stdout=fh,
                       check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "baseline", filter="data")
    return folder / "baseline"


def _commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ":/analysis"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes in analysis/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1e6 spikes")
    parser.add_argument("--spikes", type=int, default=10_000_000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="Hz per unit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="CSV files as well")
    parser.add_argument("--nwb", action="store_true", help="an NWB file written by spikelens "
                        "as well (reference: h5py reading the units table's arrays)")
    parser.add_argument("--tmp", default=None, help="folder for the files (default: a new "
                        "temporary folder, removed at the end)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also time load of the analysis package at this git revision")
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]), args.repeats)
        return
    if args.quick:
        args.spikes = 1_000_000

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    import analysis

    print(f"# benchmarks/io_load.py, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"numpy {np.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}; "
          f"spikelens from {Path(analysis.__file__).parent}, commit {_commit()}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        t0 = time.perf_counter()
        data, duration, files = _write_files(Path(tmp), args.spikes, args.units, args.rate,
                                             args.csv, args.nwb)
        print(f"\ndata: {data.n_spikes:,} spikes, {data.n_units} units, {duration:g} s "
              f"(written in {time.perf_counter() - t0:.1f} s); times alone "
              f"{data.times.nbytes / 1e6:.0f} MB")
        del data
        print(f"each figure: median of {args.repeats} loads (after one warm-up) in a fresh "
              f"child process, wall / CPU seconds; memory: peak RSS during a load above "
              f"the RSS before it (result included); ratio: load wall / reference wall")
        baseline = _extract(args.baseline, Path(tmp)) if args.baseline else None
        if baseline is not None:
            print(f"baseline: analysis at {args.baseline}, measured after the current one")
        head = (f"{'file':28s}{'MB':>5s} {'load (s)':>12s} {'peak MB':>8s}  "
                f"{'reference':20s}{'ref (s)':>12s} {'peak MB':>8s} {'ratio':>6s}"
                + (f" {'baseline (s)':>14s}" if baseline is not None else "")
                + f" {'load avg':>9s}")
        print("\n" + head)
        print("-" * len(head))
        for name, (path, ref) in files.items():
            ours = _measure("load", path, args.repeats)
            old = _measure("load", path, args.repeats, baseline) if baseline else None
            theirs = _measure(ref, path, args.repeats)
            assert ours["n_spikes"] == args.spikes, ours
            line = (f"{name:28s}{path.stat().st_size / 1e6:5.0f} "
                    f"{ours['seconds']:5.2f} / {ours['cpu']:4.2f} {ours['peak_mb']:8.0f}  "
                    f"{ref:20s}{theirs['seconds']:5.2f} / {theirs['cpu']:4.2f} "
                    f"{theirs['peak_mb']:8.0f} {ours['seconds'] / theirs['seconds']:5.1f}x")
            if old is not None:
                line += f" {old['seconds']:7.2f} / {old['cpu']:4.2f}"
            print(line + f" {os.getloadavg()[0]:9.2f}", flush=True)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
