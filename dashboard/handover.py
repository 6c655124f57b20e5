"""Handing a result's units or time span to another analysis, in one click.

A hand-over restricts the recording the result was computed on (``analysis.restrict``) with
a line that says where the selection came from ("12 significant units of the assembly
run 2 ..."), shows it in the whole app (``Session.restrict``) and opens the chosen page. Every
page then works on that recording and its summary, its results and the report carry the
line as provenance. **Whole recording** on the Data page goes back.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import panel as pn

from analysis.restrict import restrict

from .text import Markdown, escape_markdown

#: Pages a selection of units can be handed to.
TARGETS = ["ASSET", "SPOTDis", "Assembly neurons"]
#: Most choices one result offers the Data page (one per ASSET SSE or SPOTDis cluster).
MAX_CHOICES_PER_RESULT = 100


# ---------------------------------------------------------------------- selections
# The restrict() arguments of each hand-over, with their provenance line: the pages' hand-over
# buttons and the Data page's "from a result" choice both take them from here, so both say
# the same thing.

def run_name(result, method):
    """Which run ``result`` came from, as provenance says it: "assembly run 2" (its
    ordinal among the session's runs of ``method``, ``Session.number_run``), or "the
    assembly run" for a result without a number (opened from an older file)."""
    n = (getattr(result, "data_summary", None) or {}).get("run")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return f"{method} run {n}"
    return f"the {method} run"


def assembly_units(result):
    """The significant units of an assembly result (Berger et al. 2010: find the
    assembly, then analyse its members): ``{"units": ids, "label": provenance}``."""
    from .assembly_views import statistic_label

    table = result.table
    ids = table.loc[table["significant"].to_numpy(dtype=bool), "unit"].astype(str).to_numpy()
    p = result.params
    return {"units": ids,
            "label": f"{ids.size} significant units of {run_name(result, 'assembly')} "
                     f"({statistic_label(p)}, α = {p['alpha']:g}, "
                     f"{result.n_surrogates} surrogates)"}


def sse_units(result, data, sse_id):
    """The neurons of SSE ``sse_id`` of an ASSET result computed on ``data``."""
    from analysis.asset import sse_neurons

    ids = data.unit_ids[np.asarray(sse_neurons(result.sses[sse_id]), dtype=np.int64)]
    ids = ids.astype(str)
    return {"units": ids,
            "label": f"the {ids.size} neurons of SSE {sse_id} of {run_name(result, 'ASSET')} "
                     f"({result.bin_size * 1e3:g} ms bins)"}


def cluster_epochs(result, cluster):
    """The epochs SPOTDis put in ``cluster`` (indices into the epochs of its run)."""
    from .spotdis_views import cluster_name

    members = np.flatnonzero(np.asarray(result.labels) == cluster)
    return {"epochs": members,
            "epochs_label": f"the {members.size} epochs of {cluster_name(cluster)} of "
                            f"{run_name(result, 'SPOTDis')}"}


def result_choices(results):
    """What this session's results (``Session.results``) offer a restriction.

    Returns ``{key: (text, restrict arguments, data)}``: units come from ids, so they
    restrict the whole recording (``data`` None); epochs are those of the run's own
    recording (``data``), as the SPOTDis page's hand-over does.
    """
    out = {}
    if "assembly" in results:
        result, _ = results["assembly"]
        choice = assembly_units(result)
        if choice["units"].size:
            out["assembly"] = (choice["label"], choice, None)
    if "asset" in results:
        result, data = results["asset"]
        for sse_id in sorted(result.sses)[:MAX_CHOICES_PER_RESULT]:
            if result.sses[sse_id]:
                choice = sse_units(result, data, sse_id)
                out[f"asset:{sse_id}"] = (choice["label"], choice, None)
    if "spotdis" in results:
        result, data = results["spotdis"]
        clusters = [int(c) for c in np.unique(result.labels) if c >= 0]
        if data.epochs is not None and len(data.epochs) == len(result.labels):
            for c in clusters[:MAX_CHOICES_PER_RESULT]:
                choice = cluster_epochs(result, c)
                out[f"spotdis:{c}"] = (choice["epochs_label"], choice, data)
    return out


def hand_over(session, *, data=None, page=None, on_error=None, **choice):
    """Show ``data`` (default ``session.data``) restricted by ``choice`` (the arguments of
    ``analysis.restrict``: ``units``, ``window``, ``label``, ``epochs``, ``epoch_labels``,
    ``epochs_label``) on ``page``.

    Returns the restricted recording, or None when the restriction was refused (the reason
    goes to ``on_error``, one line).
    """
    data = session.data if data is None else data
    if data is None:
        return None
    try:
        restricted = restrict(data, **choice)
    except ValueError as exc:
        if on_error is None:
            raise
        on_error(f"Hand-over: {exc}")
        return None
    session.restrict(restricted, page=page)
    return restricted


def handover_controls(action, targets=TARGETS, exclude=()):
    """A "<label> [page] Go" row; ``action(page)`` runs on click. ``offer(n, label)``
    enables it for ``n`` > 0 selected units (hidden otherwise)."""
    pages = [t for t in targets if t not in exclude]
    text = Markdown("", margin=(12, 8, 0, 8))
    target = pn.widgets.Select(options=pages, value=pages[0], width=170,
                               description="The page that analyses the selection next.")
    button = pn.widgets.Button(label="Go", color="primary", width=70)
    button.on_click(lambda event: action(target.value))
    row = pn.Row(text, target, button, visible=False, sizing_mode="stretch_width")

    def offer(n, label):
        text.object = f"**{escape_markdown(label)}**"
        row.visible = n > 0

    return SimpleNamespace(row=row, target=target, button=button, offer=offer)
