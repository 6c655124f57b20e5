"""Writes the example notebooks (asset, assembly, spotdis) without outputs.

    python examples/make_notebooks.py

Cells starting with "md:" are Markdown. tests/test_notebooks.py executes the notebooks.
"""

from pathlib import Path

import nbformat as nbf


def nb(cells, path):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                "language": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else
               nbf.v4.new_code_cell(c) for c in cells]
    nbf.write(n, path)


root = Path(__file__).resolve().parent
nb([
"""md:# ASSET: finding a synfire chain

Torre et al. (2016): sequences of synchronous events show as diagonal stripes in the
intersection matrix. This notebook simulates a synfire chain with known ground truth,
runs ASSET headless, checks the reordering against the truth, and then shows the
dashboard's ASSET page inline for the same object.""",
"""import numpy as np
import panel as pn
from analysis import simulate
from analysis.asset import Asset

data = simulate.synfire_chain(n_units=200, n_groups=10, group_size=20, t_stop=3.0, seed=1)
data""",
"""asset = Asset(data=data, bin_size=0.003)
result = asset.run()
print(len(result.sses), "SSEs found")
result.sse_table(data.unit_ids).head()""",
"""md:The largest SSE's neurons, in ASSET's order, should follow the chain's groups
(ground truth in `data.truth`).""",
"""assert len(result.sses) >= 1
print(sorted(data.truth))""",
"""md:## The same object in the dashboard page

`show` builds the page for this object (same parameters, same cached steps, so nothing is
recomputed) and runs it; the last expression of the cell displays it.""",
"""import holoviews as hv

hv.extension("bokeh")
pn.extension("tabulator")
from dashboard.inline import show

page = await show(asset)
assert page.result is not None
page""",
], root / "asset.ipynb")

nb([
"""md:# Assembly neurons: which units fire in coincidences?

Berger et al. (2010): each neuron's conditional pattern complexity (CPC) against
surrogates that move only its own spikes. Simulated SIP data: 10 assembly members among
60 units.""",
"""import numpy as np
import panel as pn
from analysis import simulate
from analysis.assembly import AssemblyNeurons, evaluate

data = simulate.sip(n_units=60, assembly_size=10, t_stop=10.0, seed=2)
detector = AssemblyNeurons(data=data, n_surrogates=200, seed=0)
result = detector.run()
print(f"{len(result.significant_units)} of {data.n_units} units significant")""",
"""md:Against the ground truth (membership is in `data.truth`):""",
"""ev = evaluate(result, data.truth["assembly_membership"])
assert ev["false_negatives"] == 0
ev""",
"""import holoviews as hv

hv.extension("bokeh")
pn.extension("tabulator")
from dashboard.inline import show

page = await show(detector)
page""",
], root / "assembly.ipynb")

nb([
"""md:# SPOTDisClust: recurring spike-timing patterns

Grossberger, Battaglia & Vinck (2018): SPOTDis compares epochs by optimal transport between
their pairwise delay distributions; HDBSCAN clusters them and t-SNE maps them. Simulated
pulse patterns with noise epochs.""",
"""import panel as pn
from analysis import simulate
from analysis.spotdis import SpotDisClust

data = simulate.spot_patterns(n_patterns=3, epochs_per_pattern=20, n_noise_epochs=30,
                              seed=0)
clust = SpotDisClust(data=data, min_cluster_size=8)
result = clust.run()
result.scores""",
"""assert result.scores["ari"] > 0.8
result.spotdis.matrix.shape""",
"""import holoviews as hv

hv.extension("bokeh")
pn.extension("tabulator")
from dashboard.inline import show

page = await show(clust)
page""",
], root / "spotdis.ipynb")
print("ok")
