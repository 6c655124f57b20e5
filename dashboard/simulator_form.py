"""Widgets for a simulator's parameters, derived from its signature.

The simulator function in ``analysis.simulate`` is the single declaration of its parameters
and defaults; this module turns that signature into a ``param.Parameterized`` so that
``pn.Param`` can build the widgets. Validation stays in the simulator (it raises a
``ValueError`` naming the parameter, which the page shows as a notification).
"""

from __future__ import annotations

import ast
import inspect

import param


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


def _param_docs(func):
    """Map parameter name -> first line of its NumPy docstring entry."""
    docs, lines = {}, (inspect.getdoc(func) or "").splitlines()
    for k, line in enumerate(lines):
        head = line.split(":")[0].strip()
        for name in [n.strip() for n in head.split(",")]:
            if name.isidentifier() and ":" in line and k + 1 < len(lines):
                docs[name] = lines[k + 1].strip()
    return docs


def settings_class(name, func, exclude=("seed",)):
    """A Parameterized class with one parameter per keyword argument of ``func``."""
    docs = _param_docs(func)
    attrs = {}
    for pname, p in inspect.signature(func).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.default is p.empty:
            continue
        attrs[pname] = _declare(pname, p.default, docs.get(pname, ""))
    attrs["seed"] = param.Integer(default=1, bounds=(0, None), doc="Random seed.")
    cls = type(f"{name.title().replace('_', '')}Settings", (param.Parameterized,), attrs)
    cls._func = staticmethod(func)
    return cls


def call(settings):
    """Call the simulator with the settings' values (literals parsed back)."""
    func = type(settings)._func
    sig = inspect.signature(func).parameters
    kwargs = {}
    for pname in settings.param:
        if pname == "name":
            continue
        value = getattr(settings, pname)
        default = sig[pname].default if pname in sig else None
        if isinstance(value, str) and not isinstance(default, str) and pname in sig:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"{pname}: {value!r} is not a valid value")
        kwargs[pname] = value
    return func(**kwargs)
