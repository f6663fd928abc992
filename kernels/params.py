"""Neuron parameters that are one value for a population or one value per neuron.

A kernel reads parameter ``p`` of neuron ``i`` as ``at(p, i)``: ``p`` itself when it is a
number, ``p[i]`` when it is an array. Numba compiles one specialization per combination of
number and array arguments, so a homogeneous population runs exactly the code it would
with plain numbers (and vectorizes alike), while a heterogeneous one reads per-neuron
arrays.
"""
from numba.core import types
from numba.extending import overload


def at(p, i):
    """``p[i]`` for an array ``p``, ``p`` for a number (in Python as in compiled code)."""
    return p[i] if hasattr(p, "__getitem__") else p


@overload(at, inline="always")
def _at(p, i):
    if isinstance(p, types.Array):
        return lambda p, i: p[i]
    return lambda p, i: p

