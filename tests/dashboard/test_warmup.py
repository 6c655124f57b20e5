"""The server's warm-up compiles what the pages draw: after ``warm_rasterize`` in a fresh
process, drawing the ASSET, SPOTDis and raster views compiles no numba function (numba
compiles one version per argument signature and process; a warm-up on stand-ins of another
dtype, layout or canvas path left the first ASSET draw 11 s of compilation)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
import json, sys, time
import holoviews as hv
import numpy as np
from numba.core import event

from analysis import simulate
from analysis.asset import Asset
from dashboard import asset_views, spotdis_views, views, warmup

hv.extension("bokeh", logo=False)  # as the server (dashboard.app)

# inputs like the demos' in kind: a chain with more bins than a matrix plot has pixels, and
# epochs fewer than the SPOTDis matrix's pixels (the other paths are warmed too)
chain = simulate.synfire_chain(n_units=100, n_groups=8, group_size=10, t_stop=1.2, seed=1)
result = Asset(data=chain, filter_shape=(5, 1), scheduler="local").run()
epochs = simulate.spot_patterns(n_patterns=3, epochs_per_pattern=20, n_noise_epochs=40,
                                n_units=20, seed=1)
small = simulate.poisson(n_units=10, t_stop=2.0, seed=0)
if sys.argv[1] == "warm":
    warmup.warm_rasterize(small, epochs)

compiled = []
class Recorder(event.Listener):
    def on_start(self, e):
        pass
    def on_end(self, e):
        f = e.data["dispatcher"].py_func
        compiled.append(f"{f.__module__}.{f.__qualname__}{e.data['args']}")
event.register("numba:compile", Recorder())

# also what numba's on-disk cache would load (no compile event): new signatures of any
# dispatcher alive now or made while drawing
import gc
from numba.core.dispatcher import Dispatcher

def signatures():
    return {id(d): (f"{d.py_func.__module__}.{d.py_func.__qualname__}", len(d.overloads))
            for d in gc.get_objects() if issubclass(type(d), Dispatcher)}
before = signatures()

def render(element):
    hv.render(element, backend="bokeh")

assert result.imat.shape[0] > asset_views.MATRIX_FRAME, result.imat.shape
stream, marks = hv.streams.Pipe(data=result), hv.streams.Pipe(data=(result, 1))
render(views.raster(chain, title="original order"))
for plot in asset_views.matrix_plots(result, stream, marks):
    render(plot)
for order, title in asset_views.raster_orders(result, chain):
    render(views.raster(chain, order=order, title=title))
cluster = max(result.sses, key=lambda k: len(result.sses[k]))
for closeup in asset_views.closeups(result, chain, cluster):
    render(closeup)
window = asset_views.sse_window(result, cluster)
for plot in asset_views.matrix_plots(result, stream, marks, window):
    render(plot)
labels = np.repeat(np.arange(4), len(epochs.epochs) // 4 + 1)[:len(epochs.epochs)] - 1
matrix = np.random.default_rng(0).random((labels.size, labels.size))
render(spotdis_views.matrix_plot(matrix, labels))
render(spotdis_views.xcorr_plot(epochs, np.flatnonzero(labels == 1), 0))
spotdis_views.RASTER_POINTS_MAX = 0  # a cluster's epochs, rasterized as with many spikes
render(spotdis_views.epochs_raster(epochs, np.flatnonzero(labels == 1)))
after = signatures()
added = sorted(name for key, (name, n) in after.items() if n > before.get(key, (name, 0))[1])
print(json.dumps({"drawn": True, "compiled": compiled, "new_signatures": added}))
'''


def draw_pages(mode):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                         check=False, text=True, env=env, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_after_the_warm_up_drawing_the_pages_compiles_nothing():
    report = draw_pages("warm")
    assert report["drawn"]
    assert report["compiled"] == []
    assert report["new_signatures"] == []
