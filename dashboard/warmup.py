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

    # datashader compiles its numba functions in each process (not cached on disk): the
    # pages' first rasters and matrices spent about 11 s of a first run's drawing on that
    started = time.perf_counter()
    warm_rasterize(data, epochs)
    times["datashader"] = time.perf_counter() - started
    return times


# Numba compiles one machine-code version per argument type signature: the warm-up must
# draw what the pages draw, with the same element types, dtypes, aggregators, array layouts
# ('C' for a whole matrix, 'A' for the slice a zoom takes) and canvas paths (a matrix with
# more bins than pixels is downsampled, one with fewer is upsampled). Drawing on tiny
# stand-ins of the wrong kind compiled nothing the pages used (a flipped hv.Image(array)
# gave 'A' layouts only; a dense raster never spread): tests/dashboard/test_warmup.py
# renders the pages' views after the warm-up and counts numba compilations.
# bins: more and fewer than an ASSET matrix plot's 250 pixels, also in a zoom (0.2-0.8)
MATRIX_SIZES = (700, 100)
DISSIMILARITY_SIZES = (700, 60)  # epochs: more and fewer than the SPOTDis matrix's 600


def warm_rasterize(data, epochs=None):
    """Compute each datashaded view of the pages once on small inputs, so that datashader's
    numba functions are compiled for the signatures the pages use: the spike raster (counts,
    spread by 1 and 2 pixels where sparse: the first spread imports ``datashader.composite``,
    which compiles all its operators), the ASSET matrices (max and mean aggregation, whole
    and zoomed, down- and upsampled), the SPOTDis matrix and, given ``epochs`` (data with
    epochs), the delay image. ``dynamic=False`` runs the operations as the elements are
    built; no Bokeh figure is made (it would compile nothing more), no Panel object either
    (this runs in a thread beside the server's sessions).
    """
    import holoviews as hv
    import numpy as np
    from holoviews.operation.datashader import rasterize

    from . import asset_views, spotdis_views, views

    if "bokeh" not in hv.Store.renderers:  # the server has loaded it (dashboard.app)
        hv.extension("bokeh", logo=False)
    pause_while_busy()
    cache_datashader()

    # rasters: dense, reordered, and sparse enough to be spread by 2 and by 1 pixels
    pause_while_busy()
    views.raster(data, dynamic=False, width=40, height=20)
    views.raster(data, order=np.arange(3), dynamic=False, width=40, height=20)
    views.raster(data.time_slice(data.t_start, data.t_start + 0.05), dynamic=False,
                 width=400, height=200)
    pause_while_busy()
    _warm_spread()

    rng = np.random.default_rng(0)
    frame = asset_views.MATRIX_FRAME
    for n in MATRIX_SIZES:
        result = _stand_in_asset_result(n, rng)
        # one matrix per aggregator: all five are float32 images (matrix_image)
        for name in ("imat", "pmat"):
            pause_while_busy()
            image = asset_views.matrix_image(name, result)
            asset_views.matrix_plot(image, name, dynamic=False)
            # a zoom rasterizes a slice of the matrix (a non-contiguous array)
            lo = result.t_start + 0.2 * n * result.bin_size
            hi = result.t_start + 0.8 * n * result.bin_size
            rasterize(image, aggregator=asset_views.MATRIX_STYLES[name]["aggregator"],
                      dynamic=False, width=frame, height=frame, x_range=(lo, hi),
                      y_range=(lo, hi))
    for m in DISSIMILARITY_SIZES:
        pause_while_busy()
        matrix = rng.random((m, m))
        labels = rng.integers(-1, 3, m)
        spotdis_views.matrix_plot(matrix, labels, dynamic=False)
        rasterize(spotdis_views.matrix_image(matrix, labels), aggregator="mean",
                  dynamic=False, width=600, height=600, x_range=(0.2 * m, 0.6 * m),
                  y_range=(0.2 * m, 0.6 * m))
    pause_while_busy()
    if epochs is not None and epochs.epochs is not None and len(epochs.epochs):
        spotdis_views.xcorr_plot(epochs, np.arange(len(epochs.epochs)), 0, dynamic=False)
    # a cluster's epochs superimposed (spotdis_views.epochs_raster above RASTER_POINTS_MAX
    # spikes): its x range starts at the integer 0, a signature of its own
    points = hv.Points((rng.random(50) * 300.0, rng.integers(0, 6, 50).astype(np.float64)),
                       kdims=["time in epoch (ms)", "unit"])
    rasterize(points, dynamic=False, width=600, height=380, x_range=(0, 300.0),
              y_range=(-0.5, 5.5))


def pause_while_busy(longest=120.0):
    """Wait while a session's job runs in a worker (``dashboard.workers``), at most
    ``longest`` s: the warm-up's compilations share the interpreter with the server's event
    loop, and beside a run they slowed its Cancel from about 1.3 s to 3.5 s (load 7). A
    run's own drawing compiles whatever the warm-up has not reached."""
    from . import workers

    waited = 0.0
    while waited < longest and any(workers.running(kind) for kind in workers.DEFAULT_WORKERS):
        time.sleep(0.1)
        waited += 0.1


def cache_datashader():
    """Let numba keep datashader's resampling functions and composite operators in its
    on-disk cache, as it keeps ours (``cache=True``): datashader compiles them anew in each
    process, seconds a fresh server spends before its first matrix or spread raster. Only
    functions not yet compiled are changed; the operators only if ``datashader.composite``
    is not imported yet (it compiles them all at import, so ``numba.vectorize`` is given
    ``cache=True`` for that import). Functions datashader builds at run time (closures,
    generated code) cannot be cached and are left alone. Returns the number of functions
    set to cache."""
    import sys

    import numba
    from datashader import resampling
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    count = 0
    for obj in vars(resampling).values():
        if (isinstance(obj, CPUDispatcher) and isinstance(obj._cache, NullCache)
                and not obj.overloads):
            obj.enable_caching()
            count += 1
    if "datashader.composite" not in sys.modules:
        plain = numba.vectorize

        def cached(*args, **kwargs):
            kwargs.setdefault("cache", True)
            return plain(*args, **kwargs)
        with _COMPOSITE_IMPORT:
            numba.vectorize = cached
            try:
                from datashader import composite
            finally:
                numba.vectorize = plain
        count += len(composite.composite_op_lookup)
    return count


_COMPOSITE_IMPORT = threading.Lock()


def _warm_spread():
    """``dynspread``'s kernels for a count image (uint32, zeros ignored, 'max'), 1 and 2
    pixels (a 3x3 and a 5x5 mask), as ``views.raster`` spreads."""
    import numpy as np
    import xarray as xr
    from datashader import transfer_functions as tf

    counts = np.zeros((9, 9), dtype=np.uint32)
    counts[4, 4] = 1
    image = xr.DataArray(counts, dims=["y", "x"],
                         coords={"y": np.arange(9.0), "x": np.arange(9.0)})
    for px in (1, 2):
        tf.spread(image, px=px, how="max")


def _stand_in_asset_result(n_bins, rng):
    """What ``asset_views.matrix_image`` reads of an ``AssetResult``: n_bins x n_bins
    matrices of the real dtypes (counts, probabilities, a boolean mask, cluster ids)."""
    from types import SimpleNamespace

    import numpy as np

    imat = rng.integers(0, 5, (n_bins, n_bins))
    pmat = rng.random((n_bins, n_bins))
    mask = pmat > 0.9
    cmat = np.where(mask, rng.integers(-1, 4, (n_bins, n_bins)), 0)
    return SimpleNamespace(imat=imat, pmat=pmat, jmat=pmat.copy(), mask=mask, cmat=cmat,
                           t_start=0.0, bin_size=0.005, symmetric=True, params={})


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
