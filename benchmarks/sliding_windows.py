"""Sliding windows over a long recording: 10^5 windows in graph mode, stage by stage.

Data: ``simulate.embedded_sequences`` with 30 units at 2 Hz, 3 sequences of 100 ms each
embedded ``--occurrences`` times, and a duration that gives ``--windows`` windows of
``--length`` s every ``--step`` s (100,000 windows of 200 ms every 50 ms: 5,000.15 s).

``SlidingWindows`` with SpikeShip (``--dissimilarity``), ``min_active`` (docs/spotdis.md
recommends it, or ``--events-only``), ``max_full_epochs`` below the clustered windows so
``SpotDisClust`` runs in graph mode. Each stage is printed with its wall time, the CPU
time of the process (all threads) in it, the load average after it and the peak resident
memory so far; then the ARI against the embedded truth (``window_truth``: windows cutting
an occurrence left out) and the estimate ``windows_bytes`` made before cutting.

    python benchmarks/sliding_windows.py                    # 100,000 windows
    python benchmarks/sliding_windows.py --windows 10000    # a quick check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from analysis import simulate  # noqa: E402
from analysis.spotdis import SlidingWindows  # noqa: E402
from analysis.spotdis.windows import windows_bytes  # noqa: E402
from machine import cpu_s, load, machine, peak_gb  # noqa: E402


def stage(name, call):
    w, c = time.perf_counter(), cpu_s()
    out = call()
    print(f"  {name:<36} {time.perf_counter() - w:8.1f} s wall {cpu_s() - c:8.1f} s CPU   "
          f"load {load()}   peak {peak_gb():.2f} GB", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=100_000)
    ap.add_argument("--length", type=float, default=0.2)
    ap.add_argument("--step", type=float, default=0.05)
    ap.add_argument("--occurrences", type=int, default=1000,
                    help="occurrences of each of the 3 sequences")
    ap.add_argument("--dissimilarity", choices=["spikeship", "spotdis"], default="spikeship")
    ap.add_argument("--min-active", type=int, default=15)
    ap.add_argument("--events-only", action="store_true")
    ap.add_argument("--max-full-epochs", type=int, default=2000)
    ap.add_argument("--n-neighbors", type=int, default=30)
    args = ap.parse_args()

    import numba
    print(f"machine: {machine()}, numba {numba.get_num_threads()} threads")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}   load average {load()} (start)")
    t_stop = args.length + args.step * (args.windows - 1) + args.step / 2
    t = time.perf_counter()
    data = simulate.embedded_sequences(n_units=30, n_patterns=3, occurrences=args.occurrences,
                                       t_stop=t_stop, seed=0)
    print(f"data: {data.n_units} units, {t_stop:.2f} s, {data.n_spikes:,} spikes, 3 sequences"
          f" x {args.occurrences} occurrences; simulated in {time.perf_counter() - t:.1f} s; "
          f"peak {peak_gb():.2f} GB")

    # warm the numba kernels on a short recording so compile time is not counted
    small = simulate.embedded_sequences(n_units=30, occurrences=10, t_stop=60.0, seed=1)
    SlidingWindows(data=small, length=args.length, step=args.step, min_active=args.min_active,
                   dissimilarity=args.dissimilarity, max_full_epochs=50,
                   n_neighbors=10).run()

    sw = SlidingWindows(data=data, length=args.length, step=args.step,
                        dissimilarity=args.dissimilarity, min_active=args.min_active,
                        events_only=args.events_only, max_full_epochs=args.max_full_epochs,
                        n_neighbors=args.n_neighbors)
    n = sw.n_windows()
    est = windows_bytes(data, n, args.length, args.n_neighbors)
    print(f"\n{n:,} windows of {args.length * 1e3:g} ms every {args.step * 1e3:g} ms, "
          f"{args.dissimilarity}, min_active {args.min_active}, events_only "
          f"{args.events_only}, max_full_epochs {args.max_full_epochs}, n_neighbors "
          f"{args.n_neighbors}")
    print(f"estimate before cutting (windows_bytes, graph mode): {est / 1e9:.2f} GB; a full "
          f"matrix would be {windows_bytes(data, n, args.length) / 1e9:,.0f} GB")
    wall0, cpu0 = time.perf_counter(), cpu_s()
    stage("cut windows (grid)", sw.grid)
    if args.events_only:
        stage("population events", sw.events)
    keep = stage("select (min_active / events)", sw.selected)
    stage("windows as epochs", sw.windowed)
    clust = sw._clust()
    graph = stage("neighbour graph (stages below)", clust.graph)
    for name, sec in graph.seconds.items():
        print(f"    {name:<34} {sec:8.1f} s wall")
    stage("HDBSCAN (sparse graph)", sw.cluster)
    stage("sequences", sw.sequences)
    result = stage("scores (ARI, sampled silhouette)", sw.run)
    wall, cpu = time.perf_counter() - wall0, cpu_s() - cpu0
    print(f"  {'total':<36} {wall:8.1f} s wall {cpu:8.1f} s CPU   peak {peak_gb():.2f} GB")
    s = result.scores
    print(f"  graph mode {result.graph_mode}; {int(keep.sum()):,} clustered windows of {n:,}; "
          f"{graph.n_pairs:,} exact pairs, {graph.n_undefined} undefined, "
          f"k = {graph.neighbors.shape[1]}")
    print(f"  ARI {s['ari']:.4f} (against the embedded truth, {s['n_ambiguous']:,} windows "
          f"cutting an occurrence left out)  silhouette {s['silhouette']:.3f}  "
          f"patterns {s['n_clusters']}  windows labelled -1 {s['n_noise']:,}")
    print(f"load average {load()} (end)")


if __name__ == "__main__":
    main()
