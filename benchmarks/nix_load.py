"""Loading a NIX file of many small spike trains: ``analysis.load`` against neo's NixIO.

Issue #14 asks for NIX loading at least 5x faster than neo's NixIO on files with hundreds of
spike trains. The data: as in Elephant's ASSET tutorial file, 500 spike trains of a few
spikes each (about 1,500 spikes, times in ms, ``t_stop`` 5000 ms, the segment annotation
``spiketrain_ordering``), written by neo's NixIO; and the same trains written by
``analysis.save`` (which adds the spikelens metadata and unit annotations).

Reference: ``neo.io.NixIO(path).read_all_blocks()`` followed by ``SpikeTrains.from_neo``
(what ``load`` did before); it reads every object through nixio. ``load`` reads the same
layout with h5py (``analysis/nix_io.py``) after its HDF5 safety walk, both counted. With
``--baseline REV``, ``load`` of the ``analysis`` package at git revision ``REV`` (extracted
with ``git archive`` into a temporary folder) is measured too.

Each measurement runs in a child process of its own that loads the file with neo's NixIO
and with ``load`` in turns (one warm-up load of each first, not counted: imports), so that
both see the same load from other work on the machine; ``--repeats`` turns, and for each
reader the best wall time and the CPU time of that load (CPU time counts every thread, and
moves less than wall time when other work shares the machine). With ``--baseline``, a
second child does the same with the old package (its own neo reference). ``--rounds``
such runs, the best of them printed. The load average is printed before and after.

    python benchmarks/nix_load.py                       # 500 trains
    python benchmarks/nix_load.py --trains 200
    python benchmarks/nix_load.py --baseline a56bbc7    # and load as it was at a56bbc7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from machine import machine

ROOT = Path(__file__).resolve().parent.parent


def _write(folder, n_trains, seed):
    import neo
    import numpy as np
    import quantities as pq

    from analysis import io

    rng = np.random.default_rng(seed)
    trains = [np.sort(rng.uniform(0, 5000, rng.integers(0, 7))) for _ in range(n_trains)]
    blk = neo.Block(name="asset tutorial layout")
    seg = neo.Segment(name="segment")
    seg.annotate(spiketrain_ordering=list(range(n_trains)))
    seg.spiketrains += [neo.SpikeTrain(t * pq.ms, t_stop=5000 * pq.ms) for t in trains]
    blk.segments.append(seg)
    foreign = folder / "neo_written.nix"
    with neo.io.NixIO(str(foreign), mode="ow") as w:
        w.write_block(blk)
    own = folder / "spikelens_written.nix"
    io.save(io.load(foreign), own)
    return {"written by neo": foreign, "written by analysis.save": own}, \
        sum(t.size for t in trains)


# ---------------------------------------------------------------------- child process
def _child(path, repeats):
    """neo's NixIO and ``load`` on ``path`` in turns in this process; print one JSON line."""
    import neo

    from analysis import io
    from analysis.spiketrains import SpikeTrains

    def neo_load(p):
        with neo.io.NixIO(str(p), mode="ro") as r:
            return SpikeTrains.from_neo(r.read_all_blocks()[0], source=str(p))

    readers = {"neo": neo_load, "load": io.load}
    for fn in readers.values():
        fn(path)  # warm-up: lazy imports (not counted)
    best = {}
    for _ in range(repeats):
        for name, fn in readers.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn(path)
            run = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
            if name not in best or run["wall"] < best[name]["wall"]:
                best[name] = run
    print(json.dumps(best))


def _measure(path, repeats, root):
    """:func:`_child` on ``path`` in a child process that imports ``analysis`` from
    ``root``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path),
           "--repeats", str(repeats)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise RuntimeError(f"loading {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _extract(rev, folder):
    """The ``analysis`` package at git revision ``rev``, extracted under ``folder``."""
    archive = folder / "baseline.tar"
    with open(archive, "wb") as fh:
        subprocess.run(["git", "archive", rev, "analysis"], cwd=ROOT, stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "baseline", filter="data")
    return folder / "baseline"


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--trains", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", metavar="REV",
                        help="also time load of the analysis package at this git revision")
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child), args.repeats)
        return

    sys.path.insert(0, str(ROOT))
    from analysis import io
    from analysis.spiketrains import SpikeTrains

    print(f"# benchmarks/nix_load.py, {time.strftime('%Y-%m-%d')}, commit {_commit()}")
    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        files, n_spikes = _write(Path(tmp), args.trains, seed=0)
        print(f"{args.trains} spike trains, {n_spikes} spikes; each figure: the best of "
              f"{args.repeats} loads taking turns with neo's in a child process, best of "
              f"{args.rounds} rounds (wall s / CPU s)")
        packages = {"analysis.load": ROOT}
        if args.baseline:
            packages[f"load at {args.baseline}"] = _extract(args.baseline, Path(tmp))

        for path in files.values():  # the readers agree before anything is timed
            import neo

            with neo.io.NixIO(str(path), mode="ro") as r:
                theirs = SpikeTrains.from_neo(r.read_all_blocks()[0], source=str(path))
            ours = io.load(path)
            assert ours.unit_ids.tolist() == theirs.unit_ids.tolist()
            assert (ours.times == theirs.times).all()

        best = {}
        for _ in range(args.rounds):
            for label, path in files.items():
                for package, root in packages.items():
                    got = _measure(path, args.repeats, root)
                    old = best.get((label, package))
                    if old is None or got["load"]["wall"] < old["load"]["wall"]:
                        best[(label, package)] = got
        for label, path in files.items():
            print(f"\n{label} ({path.stat().st_size / 1e6:.2f} MB)")
            for package in packages:
                got = best[(label, package)]
                ref, ours = got["neo"], got["load"]
                print(f"  {'neo NixIO + from_neo':22s} {ref['wall']:7.3f} s / {ref['cpu']:6.3f} s")
                print(f"  {package:22s} {ours['wall']:7.3f} s / {ours['cpu']:6.3f} s   "
                      f"neo / load: wall {ref['wall'] / ours['wall']:5.1f}x, "
                      f"CPU {ref['cpu'] / ours['cpu']:5.1f}x")
    print(f"\nload average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
