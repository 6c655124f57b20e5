"""Small widget helpers shared by the pages."""

from __future__ import annotations

import numpy as np
import panel as pn


def milliseconds_input(obj, name, on_error=None, step=0.5):
    """A FloatInput in ms for the seconds-valued parameter ``name`` of ``obj``, linked both ways.

    Label, bounds and doc come from the parameter (its label already says "(ms)"); the object
    keeps seconds. A value the parameter refuses is reported through ``on_error(text)`` and the
    widget returns to the parameter's value.
    """
    p = obj.param[name]
    lo, hi = p.bounds if p.bounds is not None else (None, None)
    widget = pn.widgets.FloatInput(
        label=p.label, value=_to_ms(getattr(obj, name)), step=step, format="0.[000]",
        start=None if lo is None else lo * 1e3, end=None if hi is None else hi * 1e3,
        description=f"{(p.doc or '').strip()} Entered here in milliseconds.",
        sizing_mode="stretch_width")

    def to_object(event):
        if event.new is None or np.isclose(event.new, _to_ms(getattr(obj, name))):
            return
        try:
            setattr(obj, name, event.new / 1e3)
        except ValueError as exc:
            widget.value = _to_ms(getattr(obj, name))
            if on_error is not None:
                on_error(f"{p.label}: {exc}")

    def to_widget(event):
        if widget.value is None or not np.isclose(widget.value, _to_ms(event.new)):
            widget.value = _to_ms(event.new)

    widget.param.watch(to_object, "value")
    obj.param.watch(to_widget, name)
    return widget


def _to_ms(seconds):
    return round(float(seconds) * 1e3, 9)


def show_error(session, alert, text):
    """Show one line of error text in the page's alert and as a notification."""
    session.message = text
    alert.object = text
    alert.visible = True
    if pn.state.notifications is not None:
        pn.state.notifications.error(text, duration=8000)
