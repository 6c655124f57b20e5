"""A figure with a colour bar, written as a file, keeps its plot left of the colour bar
(``tight_layout`` grew the plot under the colour bar HoloViews placed beside it)."""

import warnings

import holoviews as hv
import numpy as np

from dashboard import figures

hv.extension("bokeh", logo=False)


def _matrix_figure():
    figures._setup()
    z = np.random.default_rng(1).random((40, 40))
    image = hv.Image((np.arange(40.0), np.arange(40.0), z)).opts(colorbar=True,
                                                                   backend="matplotlib")
    fig = hv.renderer("matplotlib").get_plot(image).state
    fig.set_size_inches(2.5, 2.5)
    return fig


def _overlap(fig):
    plot = next(ax for ax in fig.axes if ax.get_subplotspec() is not None)
    bar = next(ax for ax in fig.axes if ax.get_subplotspec() is None)
    return plot.get_position().x1 - bar.get_position().x0


def test_the_plot_stays_left_of_its_colour_bar():
    import matplotlib.pyplot as plt

    fig = _matrix_figure()
    assert len(fig.axes) == 2 and _overlap(fig) < 0  # as HoloViews places them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout(pad=0.4)
    assert _overlap(fig) > 0  # the plain layout grows the plot under the colour bar
    plt.close(fig)

    fig = _matrix_figure()
    rect = figures._beside_colorbars(fig)
    assert rect[2] < 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout(pad=0.4, rect=rect)
    assert _overlap(fig) < 0
    plt.close(fig)
    # a figure without a colour bar fills the whole figure
    fig = hv.renderer("matplotlib").get_plot(
        hv.Curve([1, 2, 3]).opts(backend="matplotlib")).state
    assert figures._beside_colorbars(fig) == (0, 0, 1, 1)
    plt.close(fig)
    # and the file is still written at the size asked
    png = figures.render(hv.Image(np.eye(5)).opts(colorbar=True), "PNG", (250, 250))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_view_exports_from_a_fresh_python():
    """A script (or the docs' example) that never loaded the Bokeh backend can still write
    a view's PNG: the views' Bokeh options (tools, ...) used to be refused there."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("from analysis import simulate\n"
            "from dashboard import figures, views\n"
            "data = simulate.poisson(n_units=5, t_stop=1.0, seed=1)\n"
            "png = figures.render(views.raster(data, title='raster'), 'PNG', (300, 200))\n"
            "assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n', png[:8]\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
