"""Loading a NIX file of many small spike trains: ``analysis.load`` against neo's NixIO.

Issue #14 asks for NIX loading at least 5x faster than neo's NixIO on files with hundreds of
spike trains. The data: as in Elephant's ASSET tutorial file, 500 spike trains of a few
spikes each (about 1,500 spikes, times in ms, ``t_stop`` 5000 ms, the segment annotation
``spiketrain_ordering``), written by neo's NixIO; and the same trains written by
``analysis.save`` (which adds the spikelens metadata and unit annotations).

Reference: ``neo.io.NixIO(path).read_all_blocks()`` followed by ``SpikeTrains.from_neo``
(what ``load`` did before); it reads every object through nixio. ``load`` reads the same
layout with h5py (``analysis/nix_io.py``) after its HDF5 safety walk, both counted. Each
time is the best of ``--repeats`` runs in this process, after one warm-up run of each.
Timings swing with other work on the machine: the load average is printed before and after.

    python benchmarks/nix_load.py               # 500 trains
    python benchmarks/nix_load.py --trains 200
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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


def _best(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trains", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import neo

    from analysis import io
    from analysis.spiketrains import SpikeTrains

    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        files, n_spikes = _write(Path(tmp), args.trains, seed=0)
        print(f"{args.trains} spike trains, {n_spikes} spikes")

        def neo_load(path):
            with neo.io.NixIO(str(path), mode="ro") as r:
                return SpikeTrains.from_neo(r.read_all_blocks()[0], source=str(path))

        for label, path in files.items():
            ours, theirs = io.load(path), neo_load(path)
            assert ours.unit_ids.tolist() == theirs.unit_ids.tolist()
            assert (ours.times == theirs.times).all()
            t_neo = _best(lambda p=path: neo_load(p), args.repeats)
            t_ours = _best(lambda p=path: io.load(p), args.repeats)
            print(f"{label:<26} {path.stat().st_size / 1e6:6.2f} MB   neo NixIO + from_neo "
                  f"{t_neo:7.3f} s   analysis.load {t_ours:7.3f} s   ratio {t_neo / t_ours:5.1f}x")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
