"""The browser's Back and Forward buttons for the app's pages.

Panel's ``pn.state.location.sync`` writes the page into the URL (``?page=ASSET``) but does
not listen to the browser's history: Back changed the URL and left the page as it was.
``PageHistory`` is a tiny browser component that pushes one history entry per page the
user opens and, on Back or Forward (``popstate``), tells the server which page the URL now
names. A page change that comes from Back does not push a new entry, so Back twice goes
back two pages.
"""

from __future__ import annotations

import param
from panel.custom import JSComponent


class PageHistory(JSComponent):
    """``page`` follows the URL's ``page`` query parameter both ways."""

    page = param.String(default="", doc="The page named in the URL (navigation title).")

    _esm = """
    export function render({ model }) {
      const named = () => new URL(window.location.href).searchParams.get("page")
      if (!named() && model.page) {  // the first entry names its page too, for Back
        const url = new URL(window.location.href)
        url.searchParams.set("page", model.page)
        window.history.replaceState({}, "", url)
      }
      model.on("page", () => {
        if (model.page && named() !== model.page) {
          const url = new URL(window.location.href)
          url.searchParams.set("page", model.page)
          window.history.pushState({}, "", url)
        }
      })
      const back = () => {
        const page = named()
        if (page && page !== model.page) { model.page = page }
      }
      window.addEventListener("popstate", back)
      model.on("remove", () => window.removeEventListener("popstate", back))
      return document.createElement("span")
    }
    """


def initial_page(names, default):
    """The page the request's URL names (``?page=...``), if it is one of ``names``."""
    import panel as pn

    args = getattr(pn.state, "session_args", None) or {}
    for raw in args.get("page", []):
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if name in names:
            return name
    return default
