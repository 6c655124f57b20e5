"""Built-in demo data sets, made by the project's own simulators with fixed seeds.

Each demo is simulated once per process and shared (``SpikeTrains`` is immutable, so
sessions cannot change each other's copy).
"""

from __future__ import annotations

from functools import lru_cache

from . import simulate

DEMOS = {
    "Synfire chain (500 units, 5 s)": lambda: simulate.synfire_chain(seed=2016),
    "SIP assembly (100 units, 20 s)": lambda: simulate.sip(
        n_units=100, assembly_size=10, t_stop=20.0, seed=2010),
    "Pulse patterns (300 epochs, 50 units)": lambda: simulate.spot_patterns(seed=2018),
    "Poisson (1000 units, 60 s)": lambda: simulate.poisson(
        n_units=1000, rate=10.0, t_stop=60.0, seed=1),
    "Embedded sequences (30 units, 120 s)": lambda: simulate.embedded_sequences(seed=1),
}
DEFAULT = "Synfire chain (500 units, 5 s)"


@lru_cache(maxsize=None)
def load_demo(name=DEFAULT):
    """The demo data set called ``name`` (see ``DEMOS``)."""
    if name not in DEMOS:
        raise ValueError(f"demo: unknown name {name!r} (choose from {', '.join(DEMOS)})")
    data = DEMOS[name]()
    return data.replace(annotations={**data.annotations, "demo": name})
