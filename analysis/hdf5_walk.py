"""The safety walk of an HDF5 file (NWB, NIX), which also maps the file's objects.

:func:`walk` visits every link of an open ``h5py.File`` once, before any dataset is read,
and refuses what would make h5py read other files or allocate more than the memory budget:
external links, user-defined links, datasets with external raw storage and virtual datasets
(soft links are paths inside the file, whose every link is visited here); each dataset
counts with its declared size (a chunked dataset can declare gigabytes it never wrote), and
attributes, which have no chunking and no fill value, count once with the file's bytes
outside the storage of the datasets larger than 64 KiB.

The walk opens every object once, relative to its group, and keeps what it opened: the
returned :class:`FileMap` gives a reader (:mod:`analysis.nix_io`) each group's members in
h5py's order and each dataset's shape and dtype without opening anything again. On a NIX
file of a few hundred spike trains (thousands of small objects) the cost per object is
what counts: h5py's high-level objects cost several times more than the low-level
identifiers used here, and a second open of the file would parse every object header
again.
"""

from __future__ import annotations

import math
import os

from h5py import h5d, h5g, h5l, h5o

from .errors import SpikeDataError

__all__ = ["FileMap", "Node", "walk"]

_SOFT = -1  # address placeholder of a soft link in Node.children
# The storage of datasets that declare at most this many bytes is not subtracted from the
# file's size when attributes are counted: a larger (safe) bound for the attributes, and
# no chunk-index walk for each of the thousands of small datasets of a NIX file
_SMALL = 65536


class Node:
    """One object of the file: its low-level h5py identifier and the path by which the
    walk first reached it (bytes, without the leading ``/``). A group has ``children``
    (member name -> address, in h5py's iteration order); a dataset ``shape`` and
    ``dtype``."""

    __slots__ = ("children", "dtype", "id", "path", "shape")

    def __init__(self, oid, path, children=None, shape=None, dtype=None):
        self.id = oid
        self.path = path
        self.children = children
        self.shape = shape
        self.dtype = dtype

    @property
    def is_dataset(self):
        return self.dtype is not None

    @property
    def where(self):
        """The path for messages."""
        return _where(self.path)


class FileMap:
    """The objects of a walked file by address; see :func:`walk`."""

    def __init__(self, root, nodes):
        self.root = root
        self.nodes = nodes  # address -> Node

    def child(self, node, name):
        """The member ``name`` (str or bytes) of the group ``node``, or None (also for a
        None or non-group ``node``)."""
        if node is None or node.children is None:
            return None
        key = name.encode() if isinstance(name, str) else name
        addr = node.children.get(key)
        if addr is None:
            return None
        if addr == _SOFT:  # resolved by HDF5; its target was visited by its hard link
            try:
                addr = h5o.get_info(h5o.open(node.id, key)).addr
            except (KeyError, RuntimeError, OSError):  # dangling, or a loop of soft links
                return None
        return self.nodes.get(addr)

    def members(self, node, name=None):
        """(name, Node) of the members of ``node`` (of its member ``name``, when given)
        in h5py's order: creation order where the group tracks it, else by name."""
        if name is not None:
            node = self.child(node, name)
        if node is None or node.children is None:
            return []
        out = []
        for key in node.children:
            member = self.child(node, key)
            if member is not None:
                out.append((key.decode("utf-8", errors="replace"), member))
        return out

    def close(self):
        """Release the identifiers (before the file closes: h5py's close otherwise
        looks for each open object)."""
        self.nodes.clear()
        self.root = None


def walk(f, source, budget, partial=()):
    """Check the open ``h5py.File`` ``f`` (see the module docstring) and map its objects.

    ``budget`` has ``left`` and ``take(nbytes, source, where)`` (``analysis.io._Budget``);
    datasets whose path (bytes, without the leading ``/``) is in ``partial`` are read in
    part, and their reader counts what it reads.

    Raises
    ------
    SpikeDataError
        At the first refused link or dataset (in the order of h5py's ``visit``: by name,
        depth first), or when the declared sizes exceed the budget.
    """
    root_addr = h5o.get_info(f.id).addr
    root = Node(f.id, b"", children={})
    nodes = {root_addr: root}
    stored = 0  # bytes of the datasets' raw storage
    stack = [(root, iter(_links(f.id, root)))]
    while stack:
        group, links = stack[-1]
        link = next(links, None)
        if link is None:
            stack.pop()
            continue
        name, kind, addr = link
        path = group.path + b"/" + name if group.path else name
        if kind == h5l.TYPE_EXTERNAL:
            raise SpikeDataError("is an external link to another file (refused)", source,
                                 _where(path))
        if kind == h5l.TYPE_SOFT:
            continue
        if kind != h5l.TYPE_HARD:
            raise SpikeDataError("is a user-defined link (refused)", source, _where(path))
        if addr in nodes:  # one object under several hard links
            continue
        oid = h5o.open(group.id, name)
        if isinstance(oid, h5g.GroupID):
            node = Node(oid, path, children={})
            nodes[addr] = node
            stack.append((node, iter(_links(oid, node))))
        elif isinstance(oid, h5d.DatasetID):
            plist = oid.get_create_plist()
            if plist.get_layout() == h5d.VIRTUAL:
                raise SpikeDataError("is a virtual dataset (data from other files is "
                                     "refused)", source, _where(path))
            if plist.get_external_count():
                raise SpikeDataError("keeps its data in an external file (refused)", source,
                                     _where(path))
            shape, dtype = oid.shape, oid.dtype
            declared = _nbytes(shape, dtype)
            nbytes = 0 if path in partial else declared
            if nbytes > budget.left:
                budget.take(nbytes, source, _where(path))
            budget.left -= nbytes
            if declared > _SMALL:  # see _SMALL
                stored += oid.get_storage_size()
            nodes[addr] = Node(oid, path, shape=shape, dtype=dtype)
        else:  # a committed datatype
            nodes[addr] = Node(oid, path)
    budget.take(max(os.path.getsize(f.filename) - stored, 0), source, "attributes")
    return FileMap(root, nodes)


def _links(gid, node):
    """(name, link type, address) of the links of group ``gid`` by name (h5py's ``visit``
    order); fills ``node.children`` in h5py's iteration order."""
    links = []

    def add(name, info):  # h5py reuses ``info`` for the next link: copy its fields
        links.append((name, info.type, info.u if info.type == h5l.TYPE_HARD else _SOFT,
                      info.corder if info.corder_valid else None))

    gid.links.iterate(add, info=True)
    # creation order where the group tracks it (then every link has one), as h5py
    # iterates a group
    ordered = links
    if links and all(link[3] is not None for link in links):
        ordered = sorted(links, key=lambda link: link[3])
    node.children.update((name, addr) for name, kind, addr, _ in ordered
                         if kind in (h5l.TYPE_HARD, h5l.TYPE_SOFT))
    return [link[:3] for link in links]


def _where(path):
    """``/path`` for a message, control characters escaped (one line)."""
    text = "/" + path.decode("utf-8", errors="replace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _nbytes(shape, dtype):
    """Bytes of an HDF5 dataset once read (None shape: empty dataspace)."""
    return 0 if shape is None else math.prod(shape) * dtype.itemsize
