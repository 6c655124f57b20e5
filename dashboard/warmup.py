"""Warm the numba kernels when a server starts, so the first visitor's run does not wait.

The first call of a numba kernel in a new process loads it from numba's on-disk cache, or
compiles it when there is none (after an install or an upgrade): seconds that no progress
report interrupts, so a first run pressed Cancel in vain. ``start`` runs each method's
kernels once on a tiny problem (``warm_kernels``) in a daemon thread of the server process;
the server accepts connections meanwhile, and a visitor's run that starts before the
warm-up is done waits only for what is left of it (numba compiles a kernel once per
process).
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


def warm_kernels():
    """Run the assembly, ASSET and SPOTDis kernels once each on a tiny problem, locally
    (whatever ``$SPIKELENS_SCHEDULER`` says: the kernels must be ready in this process).

    Returns
    -------
    dict method -> seconds
    """
    from analysis import simulate
    from analysis.assembly import AssemblyNeurons
    from analysis.asset import Asset
    from analysis.spotdis import spotdis

    times = {}
    started = time.perf_counter()
    data = simulate.poisson(n_units=10, t_stop=2.0, seed=0)
    # one kernel serves every kind; weighted adds the alias table, trial (10 trials, more
    # orders than surrogates) the distinct random orders
    for settings in ({}, {"surrogate": "weighted"},
                     {"surrogate": "trial", "trial_length": 0.2}):
        AssemblyNeurons(data=data, n_surrogates=5, scheduler="local", **settings).statistics()
    times["assembly"] = time.perf_counter() - started

    started = time.perf_counter()
    chain = simulate.synfire_chain(n_units=40, n_groups=4, group_size=10, t_stop=0.6, seed=0)
    Asset(data=chain, filter_shape=(5, 1), scheduler="local").run()
    times["ASSET"] = time.perf_counter() - started

    started = time.perf_counter()
    epochs = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=3, n_noise_epochs=2,
                                    n_units=6, epoch_samples=60, pulse_samples=10, seed=0)
    for method in ("grid", "continuous"):
        spotdis(epochs, method=method, scheduler="local")
    times["SPOTDis"] = time.perf_counter() - started

    # datashader compiles its aggregation functions with numba in each process (not cached
    # on disk): the pages' first rasters and matrices took about 11 s of that at load 5
    started = time.perf_counter()
    warm_rasterize(data)
    times["datashader"] = time.perf_counter() - started
    return times


def warm_rasterize(data):
    """Rasterize a spike raster and the matrices' aggregations once on tiny inputs, so
    datashader's numba functions are compiled. HoloViews and datashader only: no Panel
    object is built here, in a thread beside the server's sessions."""
    import holoviews as hv
    import numpy as np
    from holoviews.operation.datashader import rasterize

    from . import views

    hv.render(views.raster(data, dynamic=False, width=40, height=20), backend="bokeh")
    hv.render(views.raster(data, order=np.arange(3), dynamic=False, width=40, height=20),
              backend="bokeh")
    image = hv.Image(np.random.default_rng(0).random((20, 20)))
    for aggregator in ("mean", "max"):
        hv.render(rasterize(image, aggregator=aggregator, dynamic=False, width=10,
                            height=10), backend="bokeh")


def start(warm=None):
    """Run ``warm`` (default: ``warm_kernels``) in a daemon thread named
    ``spikelens-warm-up`` and log how long it took, or, should it fail, the error (a failed
    warm-up only leaves a slower first run).

    Returns
    -------
    threading.Thread, started
    """
    warm = warm or warm_kernels

    def run():
        started = time.perf_counter()
        try:
            times = warm()
        except Exception:  # the server runs on; its first run compiles what is missing
            log.warning("kernel warm-up failed after %.1f s", time.perf_counter() - started,
                        exc_info=True)
            return
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in (times or {}).items())
        log.info("kernels warmed up in %.1f s%s", time.perf_counter() - started,
                 f" ({parts})" if parts else "")

    thread = threading.Thread(target=run, name="spikelens-warm-up", daemon=True)
    thread.start()
    return thread
