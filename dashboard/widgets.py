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


class OptionalFloatInput(pn.widgets.FloatInput):
    """A FloatInput that the page can empty: Panel sends a value of None to the browser as
    NaN, which the field then shows as "NaN"; this one sends null, an empty field."""

    def _process_param_change(self, params):
        empty = [k for k in ("value", "value_throttled") if k in params and params[k] is None]
        params = super()._process_param_change(params)
        for key in empty:
            params[key] = None
        return params


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


#: A table with more columns than this offers a column picker (``ColumnPicker``).
PICK_COLUMNS_OVER = 8


class ColumnPicker:
    """Which columns of a long ``pn.widgets.Tabulator`` are shown, picked by the user.

    ``box`` holds a MultiChoice of the table's columns (in the table's order, so the
    decisive ones the page puts first come first), **All columns** and **Default**. It
    drives the table's ``hidden_columns`` only: the table's value, and so every download
    made from it, keeps all columns. It shows for tables of more than
    ``PICK_COLUMNS_OVER`` columns and follows new values of the table: a column the user
    hid stays hidden, a column the table did not have before starts as ``default_hidden``
    says.

    Parameters
    ----------
    table : pn.widgets.Tabulator
    default_hidden : callable, optional
        ``default_hidden(frame)``: the columns hidden until the user picks them (e.g. the
        assembly table's surrogate quantiles).
    always : sequence of str
        Columns always shown and not offered (e.g. the frozen ``rank`` and ``unit``).
    """

    def __init__(self, table, default_hidden=None, always=(), label="Columns shown"):
        self.table = table
        self.default_hidden = default_hidden or (lambda frame: [])
        self.always = tuple(always)
        self._known = set()      # columns offered so far
        self._hidden = set()     # of those, the ones hidden now
        self._setting = False
        self.choice = pn.widgets.MultiChoice(
            label=label, options=[], value=[], sizing_mode="stretch_width",
            description="The table's columns that are shown (the downloads hold them all). "
                        "Remove one with its x, add one from the list.")
        self.all_button = pn.widgets.Button(label="All columns", width=110,
                                            margin=(26, 5, 5, 5))
        self.default_button = pn.widgets.Button(label="Default", width=90,
                                                margin=(26, 5, 5, 5))
        self.box = pn.Row(self.choice, self.all_button, self.default_button,
                          visible=False, sizing_mode="stretch_width")
        self.choice.param.watch(self._on_choice, "value")
        self.all_button.on_click(lambda event: self.show(self.choice.options))
        self.default_button.on_click(lambda event: self.reset())
        table.param.watch(lambda event: self.refresh(), "value")
        self.refresh()

    def _columns(self):
        frame = self.table.value
        if frame is None:
            return []
        return [str(c) for c in frame.columns if str(c) not in self.always]

    def refresh(self):
        """Offer the table's columns now (called when its value changes)."""
        columns = self._columns()
        frame = self.table.value
        new = [c for c in columns if c not in self._known]
        if new:
            defaults = {str(c) for c in self.default_hidden(frame)}
            self._hidden |= {c for c in new if c in defaults}
            self._known |= set(new)
        self.box.visible = frame is not None and len(frame.columns) > PICK_COLUMNS_OVER
        self._set(columns, [c for c in columns if c not in self._hidden])

    def show(self, columns):
        """Show exactly ``columns`` (and the ``always`` ones)."""
        self.choice.value = [c for c in self.choice.options if c in set(columns)]

    def reset(self):
        """Back to the default: every column but ``default_hidden``'s."""
        frame = self.table.value
        defaults = set() if frame is None else {str(c) for c in self.default_hidden(frame)}
        self.show([c for c in self.choice.options if c not in defaults])

    def _set(self, options, value):
        self._setting = True
        try:
            self.choice.param.update(options=options, value=value)
        finally:
            self._setting = False
        self._apply()

    def _on_choice(self, event):
        if self._setting:
            return
        shown = set(event.new)
        self._hidden = {c for c in self.choice.options if c not in shown} | \
            (self._hidden - set(self.choice.options))
        self._apply()

    def _apply(self):
        shown = set(self.choice.value)
        self.table.hidden_columns = [c for c in self.choice.options if c not in shown]
