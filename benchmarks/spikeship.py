"""SpikeShip: spikelens against the authors' public code, in the same run.

The authors' code (bsotomayorg/SpikeShip, MIT; Sotomayor-Gómez, Battaglia & Vinck 2023) is
never stored in this repository nor imported by spikelens: ``--spikeship PATH`` names a
local checkout of it that whoever runs this fetched. Its ``spikeship.distances`` takes all
spike times in one array and, per epoch and neuron, the index range of its spikes
((epochs, neurons, 2)); it returns the M x M matrix with NaN where fewer than two neurons
fire in both epochs, where spikelens counts the pair as undefined.

Settings:
  (a) the Allen V1 example the checkout ships (``example_data/allen_nwb``: 200 epochs x
      1000 units, 4 drift directions), laid end to end as epochs of 0.1 s;
  (b) simulated, 1,000 epochs: ``simulate.spot_patterns`` with 5 patterns x 100 epochs +
      500 noise epochs, 50 neurons (skipped with --quick).

For each: both warmed up, then timed once each; the largest difference over the defined
entries, whether the authors' NaN fall exactly on spikelens' undefined entries, the ratio,
and the peak memory of each call above the memory before it (Linux: VmHWM, reset through
/proc/self/clear_refs; "n/a" where that is not possible).

    python benchmarks/spikeship.py --spikeship PATH           # (a) and (b)
    python benchmarks/spikeship.py --spikeship PATH --quick   # (a) only

Timings depend on the machine's load: the load average is printed with each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from analysis import SpikeTrains, simulate  # noqa: E402
from analysis.spotdis import spikeship  # noqa: E402
from machine import machine  # noqa: E402

ALLEN_EPOCH = 0.1   # s: the Allen example's spike times lie in [0, 0.1)


def load_average():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def authors_code(path):
    """The checkout's ``spikeship.spikeship.distances``, or (None, why not)."""
    root = Path(path).resolve()
    if not (root / "spikeship" / "spikeship.py").is_file():
        return None, (f"--spikeship {path}: no SpikeShip checkout there (expected "
                      f"spikeship/spikeship.py)")
    # this script is spikeship.py too: its folder must not shadow the checkout's package
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(root)] + [p for p in sys.path if Path(p or ".").resolve() != here]
    try:
        from spikeship import spikeship as theirs   # noqa: PLC0415 (optional, external)
    except ImportError as exc:
        return None, f"--spikeship {path}: cannot import spikeship.spikeship ({exc})"
    return theirs.distances, None


def allen_example(path):
    """The checkout's Allen example as (SpikeTrains, spike_times, ii_spike_times)."""
    folder = Path(path).resolve() / "example_data" / "allen_nwb"
    times = np.load(folder / "spike_times.npy")
    index = np.load(folder / "ii_spike_times.npy")
    M, N, _ = index.shape
    absolute, units = [], []
    for k in range(M):
        for i in range(N):
            t = times[index[k, i, 0]:index[k, i, 1]]
            absolute.append(k * ALLEN_EPOCH + t)
            units.append(np.full(t.size, i))
    starts = np.arange(M) * ALLEN_EPOCH
    data = SpikeTrains.from_spikes(np.concatenate(absolute), np.concatenate(units),
                                   t_start=0.0, t_stop=M * ALLEN_EPOCH,
                                   epochs={"start": starts, "stop": starts + ALLEN_EPOCH})
    return data, times, index


def index_layout(data):
    """The authors' input: all spike times (relative to their epoch) and index ranges."""
    M, N = len(data.epochs), data.n_units
    times, index = [], np.zeros((M, N, 2), dtype=np.int64)
    pos = 0
    for k in range(M):
        t, o = data.epoch_spikes(k)
        times.append(t)
        index[k, :, 0] = pos + o[:-1]
        index[k, :, 1] = pos + o[1:]
        pos += t.size
    return np.concatenate(times), index


def _status_kb(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measured(call):
    """(result, seconds, peak bytes above the memory before the call or None)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")   # resets VmHWM, the peak resident size
        before = _status_kb("VmRSS")
    except OSError:
        before = None
    t0 = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM")
    extra = None if before is None or peak is None else max(peak - before, 0) * 1024
    return out, seconds, extra


def _mb(nbytes):
    return "n/a" if nbytes is None else f"{nbytes / 1e6:.0f} MB"


def compare(distances, name, data, times, index, say=print):
    M, N = len(data.epochs), data.n_units
    say(f"\n== {name}: {M} epochs x {N} neurons, {data.n_spikes} spikes")
    spikeship(data)                        # numba: compiled or loaded from the cache
    distances(times, index[:3])            # the authors' kernels compile on first use
    ours, ours_s, ours_mem = measured(lambda: spikeship(data))
    say(f"  spikelens: {ours_s:8.3f} s, peak {_mb(ours_mem)}   {load_average()}")
    theirs, theirs_s, theirs_mem = measured(lambda: np.asarray(distances(times, index)))
    say(f"  authors:   {theirs_s:8.3f} s, peak {_mb(theirs_mem)}   {load_average()}")
    defined = ~ours.undefined
    diff = float(np.max(np.abs(theirs - ours.matrix)[defined]))
    scale = float(np.max(np.abs(ours.matrix[defined])))
    nan_agree = bool(np.array_equal(np.isnan(theirs), ours.undefined))
    say(f"  max |difference| {diff:.2e} (largest value {scale:.3g}) over "
        f"{int(defined.sum())} entries; the authors' NaN exactly where spikelens is "
        f"undefined ({ours.n_undefined} pairs): {nan_agree}")
    say(f"  ratio authors / spikelens: {theirs_s / ours_s:.1f}x")
    return {"setting": name, "ours": ours_s, "theirs": theirs_s, "diff": diff,
            "ours_mem": ours_mem, "theirs_mem": theirs_mem}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikeship", metavar="PATH", required=True,
                        help="a local checkout of bsotomayorg/SpikeShip")
    parser.add_argument("--quick", action="store_true", help="the Allen example only")
    args = parser.parse_args(argv)
    say = print
    distances, why = authors_code(args.spikeship)
    if distances is None:
        say(why)
        return 1
    import numba
    say("SpikeShip benchmark: spikelens vs the authors' code")
    say(f"  machine: {machine()}, numba {numba.__version__} ({numba.get_num_threads()} "
        f"threads)")
    say(f"  {load_average()} (start)")
    say(f"  date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    rows = [compare(distances, "(a) Allen V1 example", *allen_example(args.spikeship),
                    say=say)]
    if not args.quick:
        data = simulate.spot_patterns(n_patterns=5, epochs_per_pattern=100,
                                      n_noise_epochs=500, n_units=50, seed=0)
        rows.append(compare(distances, "(b) 1,000 simulated epochs", data,
                            *index_layout(data), say=say))
    say("\nsetting                      spikelens (s)  authors (s)   ratio  max |diff|  "
        "peak memory (spikelens / authors)")
    for r in rows:
        say(f"{r['setting']:28s} {r['ours']:13.3f}  {r['theirs']:11.3f}  "
            f"{r['theirs'] / r['ours']:5.1f}x  {r['diff']:.1e}     {_mb(r['ours_mem'])} / "
            f"{_mb(r['theirs_mem'])}")
    say(f"  {load_average()} (end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
