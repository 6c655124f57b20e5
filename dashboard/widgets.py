"""Small widget helpers shared by the pages."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import panel as pn

from .text import Alert, Markdown, PlainText, escape_html, escape_markdown


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
    # the page's settings that a URL may carry (``AnalysisPage.url_parameters``)
    widget._sets_parameter = (obj, name)
    return widget


def _to_ms(seconds):
    return round(float(seconds) * 1e3, 9)


def show_error(session, alert, text):
    """Show one line of error text in the page's alert and as a notification (``text`` is
    plain text: it may quote file names and unit ids, and is escaped here)."""
    session.message = text
    alert.object = escape_markdown(text)
    alert.visible = True
    if pn.state.notifications is not None:
        pn.state.notifications.error(escape_html(text), duration=8000)


def run_controls(run_label):
    """The controls every analysis page has, built one way.

    Returns a namespace with ``status`` (error alert), ``stale`` (settings changed since the
    last run), ``summary`` (Markdown), ``run_button``, ``progress`` (bar) and
    ``progress_text``.
    """
    return SimpleNamespace(
        status=Alert("", alert_type="danger", visible=False,
                             sizing_mode="stretch_width"),
        stale=Alert(f"Settings changed since the last run: press **{run_label}** to "
                            "apply them.", alert_type="warning", visible=False,
                            sizing_mode="stretch_width"),
        summary=Markdown("", sizing_mode="stretch_width"),
        run_button=pn.widgets.Button(label=run_label, color="primary",
                                     sizing_mode="stretch_width"),
        progress=pn.indicators.Progress(value=0, max=100, active=False, visible=False,
                                        sizing_mode="stretch_width"),
        progress_text=PlainText("", visible=False, styles={"font-size": "0.85em"}),
    )
