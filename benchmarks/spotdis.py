"""SPOTDis: spikelens' kernels against a straightforward implementation, in the same run.

The straightforward implementation does what the definition says: for each epoch pair and
each neuron pair firing in both epochs it recomputes both delay lists (``t_j - t_i`` over
all spike pairs), and takes their 1-D earth mover's distance with
``scipy.stats.wasserstein_distance`` (which sorts them), then averages over the neuron
pairs. It is far too slow for all epoch pairs, so it runs on a random subset of epoch pairs
and its time is scaled by (all epoch pairs) / (subset); the printout marks scaled figures.
Its values on the subset are checked against spikelens' matrix.

Settings:
  (a) Fig 1 of Grossberger et al. (2018): ``simulate.spot_patterns(seed=0)``: 300 epochs
      (5 patterns x 30 + 150 homogeneous noise), 50 neurons, 300 samples of 1 ms.
  (b) sparse: 200 epochs x 1000 neurons, under 1 spike per neuron and epoch
      (``spot_patterns`` with rate_in 0.02, rate_out 0.001: about 0.87 expected).

  (c) Fig 1 handed in as plain neo SpikeTrains (no annotation): the grid is found from
      the spike times.
  (d) with ``--spot PATH``, against LGro/spot's ``spot.spot.distances`` (its default
      metric "SPOTD_xcorr", divided by 2 x epoch length like spikelens): 120 epochs
      (4 patterns x 15 + 60 noise) x 30 neurons on a 1 ms grid as plain neo SpikeTrains,
      then Fig 1 via neo (skipped with --quick: about 10 CPU-minutes for LGro/spot).

    python benchmarks/spotdis.py             # all settings (a few minutes)
    python benchmarks/spotdis.py --quick     # smaller subsets, a smoke test
    python benchmarks/spotdis.py --spot PATH # also LGro/spot's code from a local copy
    python benchmarks/spotdis.py --spot PATH --spot-only   # only (d)

The machine's cache sizes and the load average are printed: the grid kernel's speed
depends on the first, every timing on the second. LGro/spot's code is never stored in
this repository nor imported by spikelens; ``--spot`` names a local checkout of it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import wasserstein_distance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import simulate  # noqa: E402
from machine import machine  # noqa: E402
from analysis.spotdis import spotdis  # noqa: E402


def cache_sizes():
    """The CPU caches as ``L1d 32K, L2 1024K (per core), L3 32768K (shared by 2)``."""
    out = []
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for d in sorted(base.glob("index*")):
        try:
            level, kind, size, shared = ((d / f).read_text().strip() for f in
                                         ("level", "type", "size", "shared_cpu_list"))
        except OSError:
            continue
        if kind == "Instruction":
            continue
        n = sum(int(b) - int(a) + 1 for a, _, b in
                (r.partition("-") if "-" in r else (r, "", r) for r in shared.split(",")))
        name = f"L{level}" + ("d" if kind == "Data" else "")
        out.append(f"{name} {size}" + (" (per core)" if n == 1 else f" (shared by {n})"))
    return ", ".join(out) or "unknown (no /sys/devices/system/cpu/cpu0/cache)"


def load_average():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def lgro_spot(path):
    """LGro/spot's ``spot.spot.distances`` from a local checkout, or a message why not."""
    root = Path(path).resolve()
    if not (root / "spot" / "spot.py").is_file():
        return None, (f"--spot {path}: no LGro/spot checkout there (expected "
                      f"spot/spot.py); skipping the comparison")
    sys.path.insert(0, str(root))
    try:
        from spot.spot import distances   # noqa: PLC0415 (optional, external)
    except ImportError as exc:
        return None, f"--spot {path}: cannot import spot.spot ({exc}); skipping"
    return distances, None


def spot_layout(data):
    """LGro/spot's input: all spike times and (epochs, neurons, 2) index ranges into them."""
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


def via_neo(data):
    """The same spikes and epochs as plain neo SpikeTrains would hand them in: no
    annotation, so any sampling grid must be found from the spike times."""
    from analysis import SpikeTrains
    return SpikeTrains.from_neo(SpikeTrains(data.times, data.offsets, data.t_start,
                                            data.t_stop, epochs=data.epochs).to_neo())


def versions():
    import numba
    import scipy
    return f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}"


def git_commit():
    """The checked-out commit (read-only git calls), with a note if files differ."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, text=True,
                               capture_output=True, check=True).stdout.strip()
        return head + (" +uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def straightforward(data, pairs):
    """SPOTDis of the given epoch pairs, the plain way; returns values and seconds."""
    T = float(np.max(data.epochs.duration))
    t0 = time.perf_counter()
    out = np.empty(len(pairs))
    for q, (k, m) in enumerate(pairs):
        tk, ok = data.epoch_spikes(k)
        tm, om = data.epoch_spikes(m)
        both = np.flatnonzero((np.diff(ok) > 0) & (np.diff(om) > 0))
        values = []
        for a, i in enumerate(both):
            for j in both[a + 1:]:
                dk = np.subtract.outer(tk[ok[j]:ok[j + 1]], tk[ok[i]:ok[i + 1]]).ravel()
                dm = np.subtract.outer(tm[om[j]:om[j + 1]], tm[om[i]:om[i + 1]]).ravel()
                values.append(wasserstein_distance(dk, dm) / (2 * T))
        out[q] = np.mean(values) if values else 1.0
    return out, time.perf_counter() - t0


def bench(name, data, n_pairs, seed=0, say=print):
    M, N = len(data.epochs), data.n_units
    counts = np.diff(data.offsets)
    say(f"\n== {name}: {M} epochs x {N} neurons, {data.n_spikes} spikes "
        f"({counts.sum() / (M * N):.2f} per neuron and epoch)")
    # warm-up (numba compilation, cached on disk after the first run) on a small piece
    small = data.replace(epochs=type(data.epochs)(data.epochs.start[:4], data.epochs.stop[:4],
                                                  data.epochs.label[:4]), truth={})
    spotdis(small, method="grid")
    spotdis(small, method="continuous")
    rows = {}
    for method in ("auto", "grid", "continuous"):
        t0 = time.perf_counter()
        d = spotdis(data, method=method)
        rows[method] = (time.perf_counter() - t0, d)
    auto_s, d = rows["auto"]
    say(f"  spikelens auto ({d.method} kernel): {auto_s:9.3f} s")
    for method in ("grid", "continuous"):
        say(f"  spikelens {method:10s}:         {rows[method][0]:9.3f} s")
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(M, 1)
    pick = rng.choice(iu[0].size, n_pairs, replace=False)
    pairs = list(zip(iu[0][pick], iu[1][pick]))
    values, secs = straightforward(data, pairs)
    total_pairs = iu[0].size
    scaled = secs * total_pairs / n_pairs
    diff = np.max(np.abs(values - d.matrix[iu[0][pick], iu[1][pick]]))
    say(f"  straightforward (scipy wasserstein_distance per neuron pair): {secs:.3f} s for "
        f"{n_pairs} of {total_pairs} epoch pairs")
    say(f"  straightforward, SCALED to all {total_pairs} epoch pairs: {scaled:9.1f} s")
    say(f"  max |difference| on the subset: {diff:.2e}")
    say(f"  ratio straightforward (scaled) / spikelens auto:       {scaled / auto_s:10.0f}x")
    for method in ("grid", "continuous"):
        say(f"  ratio straightforward (scaled) / spikelens {method:10s}: "
            f"{scaled / rows[method][0]:10.0f}x")
    say(f"  {load_average()}")
    return {"setting": name, "spikelens_s": auto_s, "kernel": d.method,
            "straightforward_scaled_s": scaled, "ratio": scaled / auto_s, "diff": diff}


def bench_spot(distances, name, data, say=print):
    """spikelens (auto) and LGro/spot on the same epochs, both timed after a warm-up.

    LGro/spot takes all spike times in one array and, per epoch and neuron, the index
    range of its spikes ((epochs, neurons, 2)); it divides by 2 x ``epoch_length``, as
    spikelens does, and leaves NaN where no neuron pair fires in both epochs.
    """
    M, N = len(data.epochs), data.n_units
    say(f"\n== {name} against LGro/spot: {M} epochs x {N} neurons, {data.n_spikes} spikes")
    T = float(np.max(data.epochs.duration))
    times, index = spot_layout(data)
    warm = spot_layout(data.replace(epochs=type(data.epochs)(
        data.epochs.start[:4], data.epochs.stop[:4], data.epochs.label[:4]), truth={}))
    distances(*warm, epoch_length=T)                 # numba compilation (not cached)
    spotdis(data.replace(epochs=type(data.epochs)(
        data.epochs.start[:4], data.epochs.stop[:4], data.epochs.label[:4]), truth={}))
    t0 = time.perf_counter()
    d = spotdis(data)
    ours = time.perf_counter() - t0
    say(f"  spikelens auto ({d.method} kernel, sampling period "
        f"{d.sampling_period}): {ours:9.3f} s   {load_average()}")
    t0 = time.perf_counter()
    theirs = np.asarray(distances(times, index, epoch_length=T))
    secs = time.perf_counter() - t0
    say(f"  LGro/spot (SPOTD_xcorr):        {secs:9.3f} s   {load_average()}")
    defined = ~d.undefined
    diff = np.max(np.abs(theirs - d.matrix)[defined])
    nan_agree = bool(np.all(np.isnan(theirs[~defined])))
    say(f"  max |difference| {diff:.2e} over {int(defined.sum())} entries; LGro/spot NaN "
        f"exactly where spikelens is undefined: {nan_agree}")
    say(f"  ratio LGro/spot / spikelens auto: {secs / ours:8.1f}x")
    return {"setting": name, "spikelens_s": ours, "spot_s": secs, "ratio": secs / ours,
            "diff": diff}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsets (smoke test)")
    parser.add_argument("--spot", metavar="PATH",
                        help="a local checkout of LGro/spot to compare against")
    parser.add_argument("--spot-only", action="store_true",
                        help="with --spot: only the comparison against LGro/spot")
    args = parser.parse_args(argv)
    say = print
    spot_fn = None
    if args.spot:
        spot_fn, why = lgro_spot(args.spot)
        if why:
            say(why)
    say("SPOTDis benchmark: spikelens vs a straightforward implementation")
    say(f"  machine: {machine()}")
    say(f"  caches: {cache_sizes()}")
    say(f"  {load_average()} (start)")
    say(f"  {versions()}")
    say(f"  spikelens commit: {git_commit()}")
    say(f"  date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    fig1 = simulate.spot_patterns(seed=0)
    sparse = simulate.spot_patterns(n_patterns=5, epochs_per_pattern=20, n_noise_epochs=100,
                                    n_units=1000, epoch_samples=300, pulse_samples=30,
                                    rate_in=0.02, rate_out=0.001, seed=0)
    plain = via_neo(fig1)
    if spot_fn is not None:
        small = via_neo(simulate.spot_patterns(n_patterns=4, epochs_per_pattern=15,
                                               n_noise_epochs=60, n_units=30, seed=0))
        cases = [("(d) 120 x 30 via neo", small)]
        if not args.quick:
            cases.append(("(d) Fig 1 via neo", plain))
        spot_results = [bench_spot(spot_fn, name, data, say=say) for name, data in cases]
        say("\nsetting               spikelens (s)   LGro/spot (s)     ratio   max |diff|")
        for r in spot_results:
            say(f"{r['setting']:21s} {r['spikelens_s']:13.3f}   {r['spot_s']:13.3f}  "
                f"{r['ratio']:7.1f}x   {r['diff']:.1e}")
        if args.spot_only:
            say(f"  {load_average()} (end)")
            return
    results = [bench("(a) Fig 1", fig1, 5 if args.quick else 40, say=say),
               bench("(b) sparse", sparse, 1 if args.quick else 4, say=say),
               bench("(c) Fig 1 via neo", plain, 5 if args.quick else 40, say=say)]
    say("\nsetting        kernel       spikelens (s)  straightforward (s, scaled)   ratio")
    for r in results:
        say(f"{r['setting']:14s} {r['kernel']:11s} {r['spikelens_s']:13.3f}  "
            f"{r['straightforward_scaled_s']:27.1f}  {r['ratio']:8.0f}x")
    say(f"  {load_average()} (end)")


if __name__ == "__main__":
    main()
