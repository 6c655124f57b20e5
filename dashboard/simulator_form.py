"""Widgets for a simulator's parameters, derived from its signature.

The simulator function in ``analysis.simulate`` is the single declaration of its parameters
and defaults; this module turns that signature into a ``param.Parameterized`` so that
``pn.Param`` can build the widgets. Validation stays in the simulator (it raises a
``ValueError`` naming the parameter, which the page shows as a notification).

- A parameter whose NumPy docstring type is a set of literals (``noise : {"homogeneous",
  "patterned"}``) becomes a ``Selector`` of those values.
- A simulator with variants (``spot_patterns``: ``variant`` and the options of each variant
  in ``SPOT_VARIANTS``, passed as ``**variant_options``) gets a ``Selector`` of the variant
  names and one parameter per option, with the option's default; only the options of the
  chosen variant are shown and passed on.
- Other non-scalar defaults (``None``, tuples) are edited as Python literals.
"""

from __future__ import annotations

import ast
import inspect
import re

import param

from analysis import simulate

#: simulator name -> (the parameter that picks a variant, {variant: {option: default}})
VARIANTS = {"spot_patterns": ("variant", simulate.SPOT_VARIANTS)}

#: label of the variant ``None`` in the variant selector
BASIC = "none (basic patterns)"


def _declare(name, default, doc):
    if isinstance(default, bool):
        return param.Boolean(default=default, doc=doc)
    if isinstance(default, int):
        return param.Integer(default=default, doc=doc)
    if isinstance(default, float):
        return param.Number(default=default, doc=doc)
    if isinstance(default, str):
        return param.String(default=default, doc=doc)
    # tuples, lists, None: edited as a Python literal
    return param.String(default=repr(default), doc=doc + " (Python literal)")


def _declare_option(name, default, doc):
    """A variant option: typed by its default; ``None`` ("derived from other parameters")
    is an empty integer field, a pair a range."""
    if default is None:
        return param.Integer(default=None, allow_None=True, doc=doc + " Empty: the default.")
    if isinstance(default, (tuple, list)) and len(default) == 2:
        lo, hi = (float(v) for v in default)
        return param.Range(default=(lo, hi), bounds=(0, None),
                           softbounds=(0, max(5.0, 2 * hi)), step=0.05, doc=doc)
    return _declare(name, default, doc)


def _param_docs(func):
    """Map parameter name -> (type text, first line of its description) from the NumPy
    docstring's entries ``name : type``."""
    docs, lines = {}, (inspect.getdoc(func) or "").splitlines()
    for k, line in enumerate(lines):
        head, colon, kind = line.partition(":")
        if not colon or line.startswith(" "):
            continue
        for name in [n.strip() for n in head.split(",")]:
            if name.isidentifier():
                following = lines[k + 1].strip() if k + 1 < len(lines) else ""
                docs[name] = (kind.strip(), following)
    return docs


def _choices(kind):
    """The values of a NumPy-docstring type ``{"a", "b"}``, else None."""
    match = re.fullmatch(r"\{(.+)\}", kind.strip())
    if not match:
        return None
    try:
        values = ast.literal_eval(f"[{match.group(1)}]")
    except (ValueError, SyntaxError):
        return None
    return values or None


def _variant_docs(func, variants):
    """variant name -> its bullet in the docstring (``- ``"name"``: text``), one line."""
    text = inspect.getdoc(func) or ""
    out = {}
    for name in variants:
        if name is None:
            continue
        match = re.search(rf'- ``"{re.escape(name)}"``:(.*?)(?=\n\s*- ``"|\n\S|\n\s*\n|\Z)',
                          text, re.DOTALL)
        if match:
            out[name] = " ".join(match.group(1).split())
    return out


def settings_class(name, func, exclude=("seed",)):
    """A Parameterized class with one parameter per keyword argument of ``func`` (plus the
    variant options when ``name`` is in ``VARIANTS``)."""
    docs = _param_docs(func)
    chooser, variants = VARIANTS.get(name, (None, {}))
    attrs, options, literals = {}, {}, []
    for pname, p in inspect.signature(func).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.default is p.empty \
                or pname in exclude:
            continue
        kind, doc = docs.get(pname, ("", ""))
        values = _choices(kind)
        if pname == chooser:
            labels = {BASIC if v is None else v: v for v in variants}
            attrs[pname] = param.Selector(default=p.default, objects=labels, doc=doc)
            # the options follow the variant selector in the form
            vdocs = _variant_docs(func, variants)
            for variant, opts in variants.items():
                for oname, odefault in opts.items():
                    options.setdefault(oname, []).append(variant)
                    if oname not in attrs:
                        attrs[oname] = _declare_option(
                            oname, odefault, f"Option of variant {variant!r}: "
                            f"{vdocs.get(variant, '')}")
        elif values is not None and p.default in values:
            attrs[pname] = param.Selector(default=p.default, objects=values, doc=doc)
        else:
            attrs[pname] = _declare(pname, p.default, doc)
            if not isinstance(p.default, (bool, int, float, str)):
                literals.append(pname)
    attrs["seed"] = param.Integer(default=1, bounds=(0, None), doc="Random seed.")
    if chooser is not None:
        attrs["_show_options"] = param.depends(chooser, watch=True, on_init=True)(
            _show_options)
    cls = type(f"{name.title().replace('_', '')}Settings", (param.Parameterized,), attrs)
    cls._func = staticmethod(func)
    cls._chooser = chooser
    cls._options = options
    cls._literals = tuple(literals)
    return cls


def _show_options(self):
    """Show the options of the chosen variant only (pn.Param hides precedence < 0)."""
    chosen = getattr(self, type(self)._chooser)
    for oname, variants in type(self)._options.items():
        self.param[oname].precedence = None if chosen in variants else -1


def call(settings):
    """Call the simulator with the settings' values (literals parsed back; of the variant
    options only those of the chosen variant)."""
    cls = type(settings)
    func = cls._func
    chosen = getattr(settings, cls._chooser) if getattr(cls, "_chooser", None) else None
    options = getattr(cls, "_options", {})
    kwargs = {}
    for pname in settings.param:
        if pname == "name":
            continue
        value = getattr(settings, pname)
        if pname in options:
            if chosen in options[pname]:
                kwargs[pname] = tuple(value) if isinstance(value, list) else value
            continue
        if pname in cls._literals:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"{pname}: {value!r} is not a valid value")
        kwargs[pname] = value
    return func(**kwargs)
