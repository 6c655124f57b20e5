"""User-controlled text (unit ids, epoch labels, file names, error messages quoting them) in
the dashboard's Markdown and HTML.

Panel's Markdown pane (and the Alert pane, which is one) passes raw HTML through, and
notifications are shown as HTML: a unit id like ``<img src=x onerror=...>`` would run as
script there. Every string that comes from data or a user goes through one of these first.
"""

from __future__ import annotations

import html
import re

import panel as pn
import param

# what can start emphasis, strikethrough, code spans, links, images and footnotes, and the
# escape character itself; < > & are left to html.escape
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_~\[\]])")


def escape_html(text):
    """``text`` as literal text in HTML (element content or a quoted attribute)."""
    return html.escape(str(text))


def escape_markdown(text):
    """``text`` as literal inline Markdown: shown as it is, never markup.

    For use inside a line of Markdown (after a label): line breaks become spaces, so the
    text stays in that line; Markdown's inline punctuation is backslash-escaped and HTML's
    special characters become entities.
    """
    line = " ".join(str(text).splitlines())
    return html.escape(_MARKDOWN_PUNCTUATION.sub(r"\\\1", line), quote=False)


class Markdown(pn.pane.Markdown):
    """Markdown pane with MathJax off: a unit id such as ``$$\\href{javascript:...}{x}$$``
    would otherwise become a link in the browser, and no escaping can stop it (the pane
    decodes entities before it looks for TeX). The dashboard shows no formulas."""

    disable_math = param.Boolean(default=True)
    priority = 0  # never chosen by pn.panel() in place of Panel's own Markdown pane


class Alert(pn.pane.Alert):
    """Alert pane with MathJax off (see :class:`Markdown`)."""

    disable_math = param.Boolean(default=True)
    priority = 0


class PlainText(pn.pane.Str):
    """Text shown as it is, in a fixed-width font: safe for file names and unit ids.

    Panel's ``Str`` puts the text in ``<pre>`` and the browser sets it as HTML, so a file
    named ``<img src=x onerror=...>.csv`` ran its script in a progress line; here the
    text is escaped first."""

    def _transform_object(self, obj):
        if obj is None or (isinstance(obj, str) and obj == ""):
            return super()._transform_object(obj)
        return super()._transform_object(escape_html(str(obj)))
