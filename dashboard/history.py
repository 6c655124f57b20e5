"""The browser's Back and Forward buttons for the app's pages.

Panel's ``pn.state.location.sync`` writes the page into the URL (``?page=ASSET``) but does
not listen to the browser's history: Back changed the URL and left the page as it was.
``PageHistory`` is a tiny browser component that pushes one history entry per page the
user opens and, on Back or Forward (``popstate``), tells the server which page the URL now
names. A page change that comes from Back does not push a new entry, so Back twice goes
back two pages.

It also keeps each analysis page's parameters in the URL, one query key per parameter that
is not at its default, named ``<method key>.<parameter>`` in the analysis object's own
units (``?page=ASSET&asset.bin_size=0.005&asset.alpha_p=0.95``): a reload gets them back
before any run, and Back, Forward and a shared link keep them. The values are whatever the
URL says, so :func:`decode_params` reads them like any other hostile input: only the
parameters the page shows as widgets, only their own type, Param's bounds apply, and a value
that does not pass is ignored with a one-line notice naming the parameter.
"""

from __future__ import annotations

import math
import re

import param
from panel.custom import JSComponent

#: A query key's parameter part, and the longest value read from a URL
PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_VALUE_CHARS = 200
#: How the URL writes None (a parameter that allows it)
NONE = "none"


class PageHistory(JSComponent):
    """``page`` follows the URL's ``page`` query parameter both ways; ``params`` (query key
    -> text, see the module docstring) is written into the URL, replacing the keys of
    ``prefixes`` that were there."""

    page = param.String(default="", doc="The page named in the URL (navigation title).")
    params = param.Dict(default={}, doc="""
        The analysis pages' parameters that are not at their defaults, as query keys
        (``asset.bin_size``) and their text.""")
    prefixes = param.List(default=[], item_type=str, doc="""
        The query keys' prefixes that ``params`` owns (the method keys).""")

    _esm = """
    export function render({ model }) {
      const named = () => new URL(window.location.href).searchParams.get("page")
      const withParams = (url) => {  // the URL with the pages' parameters as they are now
        for (const key of [...url.searchParams.keys()]) {
          const dot = key.indexOf(".")
          if (dot > 0 && model.prefixes.includes(key.slice(0, dot))) {
            url.searchParams.delete(key)
          }
        }
        for (const [key, value] of Object.entries(model.params || {})) {
          url.searchParams.set(key, value)
        }
        return url
      }
      const rewrite = () => {
        const url = withParams(new URL(window.location.href))
        if (url.href !== window.location.href) {
          window.history.replaceState(window.history.state, "", url)
        }
      }
      if (!named() && model.page) {  // the first entry names its page too, for Back
        const url = new URL(window.location.href)
        url.searchParams.set("page", model.page)
        window.history.replaceState({}, "", url)
      }
      rewrite()
      model.on("params", rewrite)
      model.on("page", () => {
        if (model.page && named() !== model.page) {
          const url = withParams(new URL(window.location.href))
          url.searchParams.set("page", model.page)
          window.history.pushState({}, "", url)
        }
      })
      const back = () => {
        const page = named()
        if (page && page !== model.page) { model.page = page }
        // the pages keep their parameters over Back and Forward: the URL says so again
        rewrite()
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


# ---------------------------------------------------------------------- parameters in the URL
def _takes_none(p):
    return p.allow_None or (isinstance(p, param.Selector) and None in p.objects)


def encode_value(p, value):
    """``value`` of parameter ``p`` as URL text, or None when the URL cannot hold it."""
    if value is None:
        return NONE if _takes_none(p) else None
    if isinstance(p, param.Boolean):
        return "true" if value else "false"
    if isinstance(p, param.Selector):
        for obj in p.objects:
            if obj is not None and obj == value and isinstance(obj, (str, int, float)):
                return str(obj)
        return None
    if isinstance(p, param.Integer):
        return str(int(value))
    if isinstance(p, param.Number):
        return repr(float(value))
    if isinstance(p, (param.NumericTuple, param.Tuple)) and isinstance(value, tuple) \
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return ",".join(str(v) if isinstance(v, int) else repr(float(v)) for v in value)
    return None


def _number(text, integer):
    if integer:
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
            raise ValueError("not a whole number")
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def decode_value(p, text):
    """The value URL ``text`` gives parameter ``p``; ValueError (a short reason) when it
    does not fit the parameter's type. Bounds are checked when the value is set."""
    if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS:
        raise ValueError("too long")
    text = text.strip()
    if text.lower() == NONE:
        if _takes_none(p):
            return None
        raise ValueError("may not be none")
    if isinstance(p, param.Boolean):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError("not true or false")
    if isinstance(p, param.Selector):
        for obj in p.objects:
            if obj is not None and isinstance(obj, (str, int, float)) and str(obj) == text:
                return obj
        choices = ", ".join(str(o).lower() if o is None else str(o) for o in p.objects)
        raise ValueError(f"not one of {choices}")
    if isinstance(p, param.Integer):
        return _number(text, True)
    if isinstance(p, param.Number):
        return _number(text, False)
    if isinstance(p, (param.NumericTuple, param.Tuple)) and isinstance(p.default, tuple):
        parts = text.split(",")
        if len(parts) != len(p.default):
            raise ValueError(f"needs {len(p.default)} numbers separated by commas")
        return tuple(_number(part.strip(), isinstance(d, int))
                     for part, d in zip(parts, p.default))
    raise ValueError("cannot be set from the URL")


def url_values(obj, names):
    """``{name: text}`` of the parameters ``names`` of ``obj`` that are not at their
    defaults (the URL leaves defaults out)."""
    out = {}
    for name in names:
        p = obj.param[name]
        text = encode_value(p, getattr(obj, name))
        if text is not None and text != encode_value(p, p.default):
            out[name] = text
    return out


def decode_params(obj, names, raw, prefix=""):
    """Set the parameters of ``obj`` that ``raw`` (``{name: text}`` from a URL) names.

    Only ``names`` may be set; each value must fit its parameter's type and pass Param's
    own checks (bounds, choices). Returns ``(set, notices)``: the values set, and one line
    per value ignored, naming the parameter (``asset.bin_size``); nothing raises.
    """
    done, notices = {}, []
    for name, text in raw.items():
        key = f"{prefix}.{name}" if prefix else name
        shown = str(text)[:40] + ("..." if len(str(text)) > 40 else "")
        if name not in names or name not in obj.param:
            notices.append(f"URL parameter {key} ignored: not a setting of this page")
            continue
        try:
            value = decode_value(obj.param[name], text)
            obj.param.update(**{name: value})
        except (ValueError, TypeError) as exc:
            reason = " ".join(str(exc).split())
            if len(reason) > 160:
                reason = reason[:157] + "..."
            notices.append(f"URL parameter {key}={shown!r} ignored: {reason}")
            continue
        done[name] = value
    return done, notices


def query_params(args, prefixes):
    """``{prefix: {name: text}}`` from a request's query arguments (``pn.state.session_args``:
    key -> list of bytes) for the keys ``<prefix>.<name>`` of ``prefixes``; other keys and
    malformed names are left out. The last value of a repeated key counts."""
    out = {}
    for key, values in (args or {}).items():
        if not isinstance(key, str) or "." not in key or not values:
            continue
        prefix, name = key.split(".", 1)
        if prefix not in prefixes or not PARAMETER_NAME.fullmatch(name):
            continue
        raw = values[-1]
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        out.setdefault(prefix, {})[name] = text[:MAX_VALUE_CHARS + 1]
    return out


def flat_params(params):
    """``{prefix: {name: text}}`` as query keys: ``{"prefix.name": text}``."""
    return {f"{prefix}.{name}": text for prefix, values in sorted(params.items())
            for name, text in sorted(values.items())}
