"""Numba typed lists built in cached compiled code.

A kernel that loops over several populations or projections takes their arguments as a
typed list of tuples. Built from Python (``numba.typed.List(items)``), such a list compiles
its constructor and ``append`` for the tuple's type in every process — about 0.9 s and
7 MiB per type, paid by every rank of every run, as Numba does not cache them. Built here,
the two functions are compiled once per tuple type and then loaded from Numba's cache.
"""
import numba
from numba.typed import List


@numba.njit(cache=True)
def _start(first):
    out = List()
    out.append(first)
    return out


@numba.njit(cache=True)
def _append(out, item):
    out.append(item)


@numba.njit(cache=True)
def _empty(example):
    out = List()
    out.append(example)
    out.pop()
    return out


def typed_list(items, example=None):
    """A typed list of ``items`` (a sequence of tuples of the same types); where there are
    none, an empty list of ``example``'s type."""
    if not len(items):
        return _empty(example)
    out = _start(items[0])
    for item in items[1:]:
        _append(out, item)
    return out
