#!/usr/bin/env python
"""ASSET: spikelens (``analysis.asset``) against Elephant 1.2.1 on the same data, same run.

Steps timed on both sides (Elephant step -> spikelens step):

  binning + imat   ASSET(...) + .intersection_matrix()   Asset.intersection_matrix()
  pmat             .probability_matrix_analytical()      Asset.probability_matrix_analytical()
  jmat             .joint_probability_matrix()           Asset.joint_probability_matrix()
  mask             ASSET.mask_matrices()                 Asset.mask_matrix()
  clustering       ASSET.cluster_matrix_entries()        Asset.cluster_matrix()
  SSE extraction   .extract_synchronous_events()         Asset.synchronous_events()
  end to end       the six steps back to back: spikelens' wall clock over them, Elephant's
                   sum of its six step times (only when all six ran)

Default size: the ASSET tutorial problem, ``simulate.synfire_chain(seed=...)`` defaults (500
neurons, a 10 x 50 chain, 5 s), bin 3 ms, kernel 50 ms, filter (11, 3), n_largest 3, alphas
0.99, clustering (max_distance 11, min_neighbors 10, stretch 5). Elephant's jmat takes about
20 minutes there on 2 cores; ``--elephant-steps`` leaves steps out (a left-out Elephant step
is fed spikelens' result in Elephant's layout so the later Elephant steps can still run, and
its time is reported as "-").

spikelens runs with ``binary=False`` (spike counts, as Elephant) so that the matrices can be
compared entry by entry; ``--binary`` uses spikelens' default clipped bins instead.

numba: the kernels are compiled into a fresh temporary cache (``NUMBA_CACHE_DIR``) so that the
first call below includes the real compilation; a child process then reports the first call
with that cache on disk. Neither touches the repository's ``__pycache__``. Timed runs come
after a warm-up on a tiny problem: compilation is not what is measured.

Usage::

    python benchmarks/asset_vs_elephant.py --quick                 # smoke test, ~1 min
    python benchmarks/asset_vs_elephant.py                         # tutorial size, ~25 min
    python benchmarks/asset_vs_elephant.py --elephant-steps imat,pmat,mask,cluster,sse

No timing here is asserted anywhere; this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["imat", "pmat", "jmat", "mask", "cluster", "sse"]
LABELS = {"imat": "binning + imat", "pmat": "pmat", "jmat": "jmat", "mask": "mask",
          "cluster": "clustering", "sse": "SSE extraction", "total": "end to end"}


def say(*args):
    print(*args, flush=True)


# ============================================================================ arguments
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small problem for a smoke test: 100 neurons (10 x 10 chain), 1 s, "
                        "filter (5, 1), clustering (5, 3, 5)")
    p.add_argument("--n-units", type=int, default=None, help="neurons (default 500; quick 100)")
    p.add_argument("--duration", type=float, default=None,
                   help="recording length in s (default 5; quick 1)")
    p.add_argument("--n-groups", type=int, default=10, help="chain groups (default 10)")
    p.add_argument("--group-size", type=int, default=None,
                   help="neurons per chain group (default min(50, n_units // n_groups))")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p.add_argument("--elephant-steps", default="all",
                   help="comma-separated Elephant steps to run, from "
                        f"{','.join(STEPS)}; 'all' (default) or 'none'")
    p.add_argument("--repeats", type=int, default=3,
                   help="spikelens timed repeats (median reported; default 3). Elephant runs "
                        "once.")
    p.add_argument("--binary", action="store_true",
                   help="spikelens with its default clipped (binary) bins; the cross-check "
                        "then differs wherever a neuron has 2 spikes in a bin")
    p.add_argument("--numba-cache", action="store_true",
                   help="use numba's normal on-disk cache (the repository's __pycache__) "
                        "instead of a fresh temporary one")
    p.add_argument("--elephant-progress", action="store_true",
                   help="show Elephant's tqdm progress bars (off by default: TQDM_DISABLE=1)")
    p.add_argument("--warmup-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    args.n_units = args.n_units or (100 if args.quick else 500)
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    if args.group_size is None:
        args.group_size = min(50, args.n_units // args.n_groups)
    if args.group_size < 1:
        p.error(f"--n-units {args.n_units} is too small for {args.n_groups} chain groups")
    args.bin_size = 0.003
    args.kernel_width = 0.05
    args.filter_shape = (5, 1) if args.quick else (11, 3)
    args.n_largest = 3
    args.alpha = 0.99
    args.clustering = (5.0, 3, 5.0) if args.quick else (11.0, 10, 5.0)

    steps = args.elephant_steps.strip().lower()
    if steps == "all":
        args.elephant_steps = list(STEPS)
    elif steps in ("", "none"):
        args.elephant_steps = []
    else:
        chosen = [s.strip() for s in steps.split(",") if s.strip()]
        bad = [s for s in chosen if s not in STEPS]
        if bad:
            p.error(f"--elephant-steps: unknown step(s) {bad}; choose from {STEPS}")
        args.elephant_steps = [s for s in STEPS if s in chosen]
    return args


def setup_environment(args):
    """Env vars that must be set before numba / tqdm are imported."""
    if not args.numba_cache and "SPIKELENS_BENCH_NUMBA_DIR" not in os.environ:
        os.environ["SPIKELENS_BENCH_NUMBA_DIR"] = tempfile.mkdtemp(prefix="numba-bench-")
    if not args.numba_cache:
        os.environ["NUMBA_CACHE_DIR"] = os.environ["SPIKELENS_BENCH_NUMBA_DIR"]
    if not args.elephant_progress:
        os.environ["TQDM_DISABLE"] = "1"
    sys.path.insert(0, str(ROOT))


# ============================================================================ machine
def machine_info():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cores (os.cpu_count)": os.cpu_count(), "cores usable (affinity)": usable,
            "CPU model": model, "RAM": ram, "platform": platform.platform(),
            "python": sys.version.split()[0]}


def library_versions():
    from importlib import metadata

    out = {}
    for name in ["spikelens", "elephant", "numpy", "scipy", "numba", "scikit-learn", "neo",
                 "quantities", "tqdm", "param"]:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit():
    """The checked-out commit (read-only git calls), with '+dirty' if files differ."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
        return head + (" +uncommitted changes" if dirty else "")
    except Exception:
        return "unknown"


def loadavg():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "n/a"


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ============================================================================ spikelens
def make_asset(data, args):
    from analysis.asset import Asset

    ml, mn, st = args.clustering
    return Asset(data=data, bin_size=args.bin_size, binary=bool(args.binary),
                 kernel_width=args.kernel_width, filter_shape=tuple(args.filter_shape),
                 n_largest=args.n_largest, alpha_p=args.alpha, alpha_j=args.alpha,
                 max_distance=ml, min_neighbors=mn, stretch=st)


def spikelens_steps(asset):
    return {"imat": asset.intersection_matrix, "pmat": asset.probability_matrix_analytical,
            "jmat": asset.joint_probability_matrix, "mask": asset.mask_matrix,
            "cluster": asset.cluster_matrix, "sse": asset.synchronous_events}


def run_spikelens_once(data, args):
    """One fresh Asset, the six steps in order; returns (times, results)."""
    asset = make_asset(data, args)
    times, results = {}, {}
    t_all = time.perf_counter()
    for name, step in spikelens_steps(asset).items():
        t0 = time.perf_counter()
        results[name] = step()
        times[name] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - t_all
    return times, results


def warmup_problem(seed):
    from analysis import simulate

    data = simulate.synfire_chain(n_units=40, n_groups=4, group_size=10, t_stop=0.6,
                                  seed=seed)
    ns = argparse.Namespace(bin_size=0.003, binary=False, kernel_width=0.015,
                            filter_shape=(5, 1), n_largest=3, alpha=0.9,
                            clustering=(3.0, 2, 2.0))
    return data, ns


def warmup(seed):
    """First call (import of the kernels + numba compilation) and a second, warm call."""
    t0 = time.perf_counter()
    import analysis.asset  # noqa: F401  (imports numba and the kernels module)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    import sklearn.cluster  # noqa: F401  (imported lazily by the clustering step)
    import sklearn.neighbors  # noqa: F401
    t_sklearn = time.perf_counter() - t0
    data, ns = warmup_problem(seed)
    t0 = time.perf_counter()
    run_spikelens_once(data, ns)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_spikelens_once(data, ns)
    second = time.perf_counter() - t0
    return {"import": t_import, "import_sklearn": t_sklearn, "first": first,
            "second": second}


def first_call_in_child(args):
    """First call in a new process that finds the kernels in the on-disk numba cache."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--warmup-only",
           "--seed", str(args.seed)]
    if args.numba_cache:
        cmd.append("--numba-cache")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                             env=os.environ.copy(), check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:  # a measurement that failed is reported, not fatal
        return {"error": repr(exc)}


# ============================================================================ Elephant
def to_neo_trains(data):
    return list(data.to_neo().segments[0].spiketrains)


def lower_layout_jmat(jmat, length):
    """spikelens' symmetric jmat in Elephant's layout: lower triangle i - j >= l only."""
    import numpy as np

    out = np.tril(jmat, -length).astype(np.float32)
    return out


def run_elephant(trains, args, sl):
    """Elephant's steps; a step not chosen takes spikelens' result (``sl``) instead."""
    import logging

    import numpy as np
    import quantities as pq
    from elephant.asset import asset as easset

    easset.logger.setLevel(logging.WARNING)
    chosen = set(args.elephant_steps)
    times, results, substituted = {}, {}, []
    ml, mn, st = args.clustering
    sym_length = args.filter_shape[0]

    t0 = time.perf_counter()
    obj = easset.ASSET(trains, bin_size=args.bin_size * pq.s)
    t_init = time.perf_counter() - t0
    if "imat" in chosen:
        say("  Elephant: binning + imat ...")
        t0 = time.perf_counter()
        imat = obj.intersection_matrix()
        times["imat"] = t_init + time.perf_counter() - t0
    else:
        imat = np.asarray(sl["imat"], dtype=np.float32)
        substituted.append("imat")
    results["imat"] = imat

    if "pmat" in chosen:
        say("  Elephant: pmat ...")
        t0 = time.perf_counter()
        pmat = obj.probability_matrix_analytical(imat, kernel_width=args.kernel_width * pq.s)
        times["pmat"] = time.perf_counter() - t0
    else:
        pmat = np.array(sl["pmat"], dtype=np.float64)
        substituted.append("pmat")
    results["pmat"] = pmat

    if "jmat" in chosen:
        say(f"  Elephant: jmat ... (started {datetime.datetime.now():%H:%M:%S}; "
            f"about 20 min at tutorial size on 2 cores)")
        t0 = time.perf_counter()
        jmat = obj.joint_probability_matrix(pmat, filter_shape=tuple(args.filter_shape),
                                            n_largest=args.n_largest)
        times["jmat"] = time.perf_counter() - t0
    else:
        jmat = lower_layout_jmat(sl["jmat"], sym_length)
        substituted.append("jmat")
    results["jmat"] = jmat

    if "mask" in chosen:
        say("  Elephant: mask ...")
        t0 = time.perf_counter()
        mask = easset.ASSET.mask_matrices([pmat, jmat], [args.alpha, args.alpha])
        times["mask"] = time.perf_counter() - t0
    else:
        mask = np.tril(sl["mask"], -1)
        substituted.append("mask")
    results["mask"] = mask

    if "cluster" in chosen:
        say("  Elephant: clustering ...")
        t0 = time.perf_counter()
        cmat = easset.ASSET.cluster_matrix_entries(mask, max_distance=ml, min_neighbors=mn,
                                                   stretch=st)
        times["cluster"] = time.perf_counter() - t0
    else:
        cmat = np.tril(sl["cluster"], -1)
        substituted.append("cluster")
    results["cluster"] = cmat

    if "sse" in chosen:
        say("  Elephant: SSE extraction ...")
        t0 = time.perf_counter()
        sses = obj.extract_synchronous_events(cmat)
        times["sse"] = time.perf_counter() - t0
    else:
        sses = sl["sse"]
        substituted.append("sse")
    results["sse"] = sses
    if not substituted:
        times["total"] = sum(times[s] for s in STEPS)  # run back to back
    return times, results, substituted


# ============================================================================ cross-check
def cross_check(sl, el, args, substituted):
    """Lines comparing the two sides' matrices and SSEs."""
    import numpy as np

    lines = []
    ran = [s for s in STEPS if s not in substituted]

    def fed(step):
        up = [s for s in STEPS[:STEPS.index(step)] if s in substituted]
        return f" (Elephant fed spikelens' {', '.join(up)})" if up else ""

    if "imat" in ran:
        d = np.abs(np.asarray(sl["imat"], float) - np.asarray(el["imat"], float))
        lines.append(("imat", f"max |Δimat| = {d.max():.3g}  ({int((d > 0).sum())} entries "
                              f"differ of {d.size})"))
    if "pmat" in ran:
        d = np.abs(np.asarray(sl["pmat"]) - np.asarray(el["pmat"]))
        lines.append(("pmat", f"max |Δpmat| = {d.max():.3g}{fed('pmat')}"))
    if "jmat" in ran:
        a = np.tril(np.asarray(sl["jmat"], float), -1)
        b = np.tril(np.asarray(el["jmat"], float), -1)
        d = np.abs(a - b)
        upper = float(np.abs(np.triu(np.asarray(el["jmat"], float), 1)).max())
        lines.append(("jmat", f"max |Δjmat| (lower triangle) = {d.max():.3g}; entries > "
                              f"alpha: spikelens {int((a > args.alpha).sum())}, Elephant "
                              f"{int((b > args.alpha).sum())}; Elephant upper triangle max "
                              f"{upper:.3g} (lower only, by design){fed('jmat')}"))
    if "mask" in ran:
        a = np.tril(np.asarray(sl["mask"], bool), -1)
        b = np.tril(np.asarray(el["mask"], bool), -1)
        lines.append(("mask", f"mask (lower triangle): spikelens {int(a.sum())}, Elephant "
                              f"{int(b.sum())} significant entries, {int((a != b).sum())} "
                              f"disagree{fed('mask')}"))
    if "cluster" in ran:
        a = np.tril(np.asarray(sl["cluster"]), -1)
        b = np.tril(np.asarray(el["cluster"]), -1)
        same_part = _same_partition(a, b)
        lines.append(("cluster", f"clusters (lower triangle): spikelens {int(a.max(initial=0))}, "
                                 f"Elephant {int(b.max(initial=0))}; noise entries "
                                 f"{int((a == -1).sum())} / {int((b == -1).sum())}; labels "
                                 f"identical: {bool(np.array_equal(a, b))}; same partition: "
                                 f"{same_part}{fed('cluster')}"))
    if "sse" in ran:
        ns, ne = _norm_sses(sl["sse"]), _norm_sses(el["sse"])
        lines.append(("sse", f"SSEs: spikelens {len(ns)}, Elephant {len(ne)}; identical "
                             f"(ids, pixels, neuron sets): {ns == ne}; pixels "
                             f"{sum(map(len, ns.values()))} / {sum(map(len, ne.values()))}"
                             f"{fed('sse')}"))
    return lines


def _same_partition(a, b):
    import numpy as np

    if not np.array_equal(a != 0, b != 0) or not np.array_equal(a == -1, b == -1):
        return False
    pos = a > 0
    pairs = set(zip(a[pos].tolist(), b[pos].tolist()))
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def _norm_sses(sses):
    return {int(k): {(int(i), int(j)): frozenset(int(n) for n in s) for (i, j), s in v.items()}
            for k, v in sses.items()}


# ============================================================================ main
def fmt_t(t):
    if t is None:
        return "-"
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def main(argv=None):
    args = parse_args(argv)
    setup_environment(args)

    if args.warmup_only:
        print(json.dumps(warmup(args.seed)), flush=True)
        return 0


    started = datetime.datetime.now()
    say("=" * 78)
    say(f"ASSET benchmark: spikelens vs Elephant   ({started:%Y-%m-%d %H:%M:%S})")
    say("=" * 78)
    for k, v in machine_info().items():
        say(f"  {k:26s} {v}")
    say(f"  {'load average at start':26s} {loadavg()}")
    for k, v in library_versions().items():
        say(f"  {k:26s} {v}")
    say(f"  {'spikelens commit':26s} {git_commit()}")
    import numba

    say(f"  {'numba threads':26s} {numba.config.NUMBA_NUM_THREADS} "
        f"(layer: {numba.config.THREADING_LAYER})")
    say(f"  {'numba cache dir':26s} "
        f"{os.environ.get('NUMBA_CACHE_DIR') or '(default: next to the sources)'}")
    say("  Note: a 2-core machine shared with other engineers' work; timings are noisy "
        "(single runs for Elephant).")
    say("")

    ml, mn, st = args.clustering
    say(f"Problem: synfire_chain(n_units={args.n_units}, n_groups={args.n_groups}, "
        f"group_size={args.group_size}, t_stop={args.duration}, seed={args.seed})"
        f"{'  [--quick]' if args.quick else ''}")
    say(f"  bin {args.bin_size * 1e3:g} ms, kernel {args.kernel_width * 1e3:g} ms, filter "
        f"{tuple(args.filter_shape)}, n_largest {args.n_largest}, alphas {args.alpha}, "
        f"clustering (max_distance {ml:g}, min_neighbors {mn}, stretch {st:g})")
    say(f"  spikelens binary={bool(args.binary)} "
        f"({'clipped bins' if args.binary else 'spike counts, as Elephant'}); "
        f"spikelens repeats {args.repeats} (median); Elephant steps: "
        f"{','.join(args.elephant_steps) or 'none'}")

    # ---- warm-up (and first-call cost)
    say("")
    say("spikelens warm-up on a tiny problem (40 neurons, 0.6 s, filter (5, 1)) ...")
    wu = warmup(args.seed)
    child = first_call_in_child(args)
    say(f"  import of analysis.asset: {fmt_t(wu['import'])}, of sklearn.cluster/neighbors: "
        f"{fmt_t(wu['import_sklearn'])} (not in the first call below)")
    say(f"  first call (numba compilation "
        f"{'from scratch' if not args.numba_cache else 'or on-disk cache'}): "
        f"{fmt_t(wu['first'])}; second call: {fmt_t(wu['second'])}")
    if "error" in child:
        say(f"  first call in a new process with the on-disk cache: failed ({child['error']})")
    else:
        say(f"  first call in a new process with the on-disk cache: {fmt_t(child['first'])} "
            f"(imports {fmt_t(child['import'])} + {fmt_t(child['import_sklearn'])} not "
            f"included; second call {fmt_t(child['second'])})")

    # ---- data
    from analysis import simulate

    data = simulate.synfire_chain(n_units=args.n_units, n_groups=args.n_groups,
                                  group_size=args.group_size, t_stop=args.duration,
                                  seed=args.seed)
    n_bins = data.n_bins(args.bin_size)
    say(f"\nData: {data.n_units} neurons, {data.n_spikes} spikes, {data.duration:g} s, "
        f"{n_bins} bins of {args.bin_size * 1e3:g} ms -> {n_bins} x {n_bins} matrices")
    trains = to_neo_trains(data)
    say(f"  Elephant input: {len(trains)} neo.SpikeTrain in {trains[0].units.dimensionality}"
        f", bin_size {args.bin_size} s")

    # ---- spikelens
    say(f"\nspikelens: {args.repeats} timed run(s) of the six steps (fresh Asset each) ...")
    runs = []
    for r in range(args.repeats):
        t, res = run_spikelens_once(data, args)
        runs.append(t)
        say("  run %d: " % (r + 1) + ", ".join(f"{LABELS[k]} {fmt_t(v)}" for k, v in t.items()))
    sl_times = {k: statistics.median(t[k] for t in runs) for k in runs[0]}
    sl_results = res
    say(f"  peak RSS so far: {peak_rss_gib():.2f} GiB")

    # ---- Elephant
    say(f"\nElephant {library_versions()['elephant']}: steps {args.elephant_steps or 'none'} "
        f"(load average {loadavg()})")
    el_times, el_results, substituted = run_elephant(trains, args, sl_results)
    for k in STEPS:
        if k in el_times:
            say(f"  {LABELS[k]:16s} {fmt_t(el_times[k])}")
    if substituted:
        say(f"  not run (fed spikelens' result in Elephant's layout): {', '.join(substituted)}")
    say(f"  peak RSS so far (whole process): {peak_rss_gib():.2f} GiB")

    # ---- cross-check
    say("\nCorrectness cross-check (same data, same run):")
    checks = cross_check(sl_results, el_results, args, substituted)
    for _, line in checks:
        say("  " + line)
    if not checks:
        say("  (no Elephant step ran)")

    # ---- table
    finished = datetime.datetime.now()
    say("")
    say("=" * 78)
    say(f"Final table: {data.n_units} neurons x {data.duration:g} s, {n_bins} bins, filter "
        f"{tuple(args.filter_shape)}; {platform.node() or 'host'}, "
        f"{os.cpu_count()} cores, load avg at end {loadavg()}")
    say("-" * 78)
    say(f"{'step':18s} {'spikelens':>12s} {'Elephant':>12s} {'Elephant/spikelens':>20s}")
    say("-" * 78)
    for k in STEPS + ["total"]:
        s, e = sl_times.get(k), el_times.get(k)
        ratio = f"{e / s:,.1f}x" if (s and e is not None) else "-"
        say(f"{LABELS[k]:18s} {fmt_t(s):>12s} {fmt_t(e):>12s} {ratio:>20s}")
    say("-" * 78)
    say(f"{'spikelens first call (tiny problem, incl. numba compilation)':62s} "
        f"{fmt_t(wu['first']):>12s}")
    if "error" not in child:
        say(f"{'spikelens first call, new process, numba cache on disk':62s} "
            f"{fmt_t(child['first']):>12s}")
    say("-" * 78)
    for k, line in checks:
        say(f"{LABELS[k]:16s} {line}")
    say("-" * 78)
    say(f"spikelens: median of {args.repeats} warm runs; Elephant: one run. Noisy shared "
        f"2-core machine. Wall time of this script: "
        f"{(finished - started).total_seconds():.0f} s.")
    say("=" * 78)
    return 0


if __name__ == "__main__":
    sys.exit(main())
