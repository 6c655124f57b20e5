"""How long an assembly-neuron run goes without calling its progress callback.

The dashboard's Cancel acts when the progress callback runs (it raises), so the longest
stretch between two progress calls, from the start of ``run()`` to its end, is how long a
Cancel can take. This script runs ``AssemblyNeurons.run()`` (and the evaluation sweeps) at
large sizes, records the time of every progress call, and prints the longest gaps with the
messages on either side and, from a stack sampler (every 20 ms), the code that ran in them.

    python benchmarks/assembly_progress.py              # every case
    python benchmarks/assembly_progress.py sip-uniform goal-uniform   # some of them
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time

from machine import machine

from analysis import simulate
from analysis.assembly import AssemblyNeurons, evaluation_sweeps


def _sip():
    return simulate.sip(n_units=150, t_stop=3.0, seed=1)


def _goal():
    return simulate.poisson(n_units=1000, rate=10.0, t_stop=100.0, seed=1)


#: name -> (data maker, detector settings); S = 200,000 is far above what a person needs at
#: alpha = 1% and the goal problem is the one of benchmarks/assembly.py
CASES = {
    "sip-uniform": (_sip, {"n_surrogates": 200_000}),
    "sip-weighted": (_sip, {"n_surrogates": 200_000, "surrogate": "weighted"}),
    "sip-trial-10": (_sip, {"n_surrogates": 200_000, "surrogate": "trial",
                            "trial_length": 0.3}),
    "sip-trial-30": (_sip, {"n_surrogates": 200_000, "surrogate": "trial",
                            "trial_length": 0.1}),
    "goal-uniform": (_goal, {"n_surrogates": 1000}),
    "goal-weighted": (_goal, {"n_surrogates": 1000, "surrogate": "weighted"}),
    "evaluation": (None, {}),
}


class Sampler(threading.Thread):
    """Samples one thread's stack every ``interval`` s: (time, innermost frames in the
    project's code)."""

    def __init__(self, thread_id, interval=0.02):
        super().__init__(daemon=True)
        self.thread_id, self.interval = thread_id, interval
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        while not self.stopped.wait(self.interval):
            frame = sys._current_frames().get(self.thread_id)
            where = []
            while frame is not None and len(where) < 2:
                path = frame.f_code.co_filename
                if path.startswith(root) and "benchmarks" not in path:
                    where.append(f"{os.path.basename(path)}:{frame.f_code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), " < ".join(where) or "?"))


def record(run):
    """Run ``run(progress)``; return (calls [(time, CPU time, fraction, message)], samples,
    seconds, CPU seconds). CPU time is the process's, all threads: the work done, which
    other work on the machine does not stretch as it stretches the wall-clock time."""
    calls = []
    sampler = Sampler(threading.get_ident())

    def now():
        return time.perf_counter(), time.process_time()

    calls.append((*now(), 0.0, "(start)"))
    sampler.start()
    try:
        run(lambda f, m: calls.append((*now(), f, m)))
    finally:
        sampler.stopped.set()
        sampler.join()
    calls.append((*now(), 1.0, "(end)"))
    return calls, sampler.samples, calls[-1][0] - calls[0][0], calls[-1][1] - calls[0][1]


def report(name, calls, samples, seconds, cpu, top=5):
    """The run's totals and its ``top`` longest gaps by CPU time."""
    gaps = sorted(((calls[k + 1][1] - calls[k][1], calls[k + 1][0] - calls[k][0], k)
                   for k in range(len(calls) - 1)), reverse=True)
    walls = sorted(g[1] for g in gaps)
    print(f"\n{name}: {seconds:.1f} s ({cpu:.1f} CPU s), {len(calls) - 2} progress calls; "
          f"longest gap {gaps[0][0]:.2f} CPU s; longest wall-clock gap {walls[-1]:.2f} s, "
          f"median {walls[len(walls) // 2]:.2f} s")
    for gap_cpu, gap, k in gaps[:top]:
        t0, t1 = calls[k][0], calls[k + 1][0]
        where = collections.Counter(w for t, w in samples if t0 <= t <= t1)
        spots = ", ".join(f"{w} {n * 0.02:.1f} s" for w, n in where.most_common(3))
        print(f"  {gap_cpu:5.2f} CPU s ({gap:5.2f} s) at {t0 - calls[0][0]:6.1f} s: "
              f"{calls[k][3]!r} -> {calls[k + 1][3]!r}  [{spots}]")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=", ".join(CASES))
    args = parser.parse_args()
    print(f"# benchmarks/assembly_progress.py; machine: {machine()}")
    print("load average (1/5/15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    warm = simulate.poisson(n_units=10, t_stop=2.0, seed=0)
    for kind in ("uniform", "weighted"):
        AssemblyNeurons(data=warm, n_surrogates=5, surrogate=kind).statistics()
    AssemblyNeurons(data=warm, n_surrogates=5, surrogate="trial",
                    trial_length=0.2).statistics()
    for name in args.cases:
        make, settings = CASES[name]
        if make is None:
            def run(progress):
                evaluation_sweeps(progress=progress)
        else:
            data = make()

            def run(progress, data=data, settings=settings):
                AssemblyNeurons(data=data, progress=progress, **settings).run()
        report(name, *record(run))


if __name__ == "__main__":
    main()
