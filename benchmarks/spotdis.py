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

    python benchmarks/spotdis.py             # all settings (a few minutes)
    python benchmarks/spotdis.py --quick     # smaller subsets, a smoke test
    python benchmarks/spotdis.py --spot PATH # also LGro/spot's code from a local copy

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
    """LGro/spot's SPOTDis function from a local checkout, or a message why not."""
    root = Path(path)
    if not (root / "spot").is_dir():
        return None, (f"--spot {path}: no LGro/spot checkout there (expected a 'spot' "
                      f"package folder); skipping the comparison")
    sys.path.insert(0, str(root))
    try:
        from spot.dissimilarity import distances   # noqa: PLC0415 (optional, external)
    except ImportError as exc:
        return None, f"--spot {path}: cannot import spot.dissimilarity ({exc}); skipping"
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
            "straightforward_scaled_s": scaled, "ratio": scaled / auto_s, "diff": diff,
            "matrix": d}


def bench_spot(distances, data, d, auto_s, say=print):
    """LGro/spot on the same epochs (its normalisation: 2 x epoch length, as spikelens)."""
    times, index = spot_layout(data)
    T = float(np.max(data.epochs.duration))
    t0 = time.perf_counter()
    out = distances(times, index, window_length=2 * T)
    secs = time.perf_counter() - t0
    theirs = out[0] if isinstance(out, tuple) else out
    diff = np.nanmax(np.abs(np.asarray(theirs) - d.matrix)[~d.undefined])
    say(f"  LGro/spot: {secs:9.3f} s, max |difference| {diff:.2e}, "
        f"ratio LGro/spot / spikelens auto: {secs / auto_s:8.1f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsets (smoke test)")
    parser.add_argument("--spot", metavar="PATH",
                        help="a local checkout of LGro/spot to compare against")
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
    from analysis import SpikeTrains
    plain = SpikeTrains.from_neo(SpikeTrains(fig1.times, fig1.offsets, fig1.t_start,
                                             fig1.t_stop, epochs=fig1.epochs).to_neo())
    results = [bench("(a) Fig 1", fig1, 5 if args.quick else 40, say=say),
               bench("(b) sparse", sparse, 1 if args.quick else 4, say=say),
               bench("(c) Fig 1 via neo", plain, 5 if args.quick else 40, say=say)]
    if spot_fn is not None:
        for (name, data), r in zip([("(a) Fig 1", fig1), ("(c) Fig 1 via neo", plain)],
                                   [results[0], results[2]]):
            say(f"\n== {name} against LGro/spot")
            bench_spot(spot_fn, data, r["matrix"], r["spikelens_s"], say=say)
    say("\nsetting        kernel       spikelens (s)  straightforward (s, scaled)   ratio")
    for r in results:
        say(f"{r['setting']:14s} {r['kernel']:11s} {r['spikelens_s']:13.3f}  "
            f"{r['straightforward_scaled_s']:27.1f}  {r['ratio']:8.0f}x")
    say(f"  {load_average()} (end)")


if __name__ == "__main__":
    main()
