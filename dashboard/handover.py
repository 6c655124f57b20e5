"""Handing a result's units or time span to another analysis, in one click.

A hand-over restricts the recording the result was computed on (``analysis.restrict``) with
a line that says where the selection came from ("12 significant units of the assembly
run ..."), shows it in the whole app (``Session.restrict``) and opens the chosen page. Every
page then works on that recording and its summary, its results and the report carry the
line as provenance. **Whole recording** on the Data page goes back.
"""

from __future__ import annotations

from types import SimpleNamespace

import panel as pn

from analysis.restrict import restrict

from .text import Markdown, escape_markdown

#: Pages a selection of units can be handed to.
TARGETS = ["ASSET", "SPOTDis", "Assembly neurons"]


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
