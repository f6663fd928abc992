"""Neuron parameters on the device: the CUDA form of :func:`bigbrain.kernels.params.at`.

A CUDA kernel that takes per-neuron parameters (``kernels/cuda/params.cuh``) reads
parameter k of neuron i from two device arrays of one entry per parameter: the address of
its float64 array (one value per neuron), or 0 and the number itself. :class:`DeviceParams`
builds them from the parameters as the Numba kernels take them (numbers or per-neuron
arrays; integers such as refractory steps travel as doubles, exact below 2**53) and caches
them, so that a population's parameters are copied to the device once, not once per
interval.

The cache knows an array by its identity: the blocks replace their parameter arrays when a
parameter changes (:meth:`bigbrain.neurons.base.Block.set_parameter`) and never change
them in place. Each entry holds the arrays it was made from, so their identities stay
theirs while the entry lives.
"""
from collections import OrderedDict

import numpy as np

#: Cache entries kept (least recently used first out): a few per population.
CACHE_SIZE = 1024


def address(arr):
    """The address of an array's data (CuPy: on the device), 0 for an empty array."""
    if arr.size == 0:
        return 0
    return arr.data.ptr if hasattr(arr.data, "ptr") else arr.ctypes.data


def is_array(value):
    return hasattr(value, "ndim") and value.ndim > 0


def per_neuron(values):
    """Whether any of ``values`` is an array (one value per neuron)."""
    return any(is_array(v) for v in values)


def _identity(value):
    if is_array(value):
        return ("array", id(value))
    return (type(value).__name__, value)


class DeviceParams:
    """``params(values)`` -> (addresses, numbers): the device arrays of
    ``kernels/cuda/params.cuh`` for ``values`` (numbers or per-neuron arrays), cached;
    ``put`` copies a host array to the device."""

    def __init__(self, put, size=CACHE_SIZE):
        self._put, self._size = put, size
        self._cache = OrderedDict()

    def cached(self, parts, make):
        """``make()``, made once for ``parts`` (numbers and arrays, by identity)."""
        key = tuple(_identity(p) for p in parts)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key][1]
        value = make()
        self._cache[key] = (tuple(parts), value)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return value

    def __call__(self, values):
        return self.cached(values, lambda: self._upload(values))[:2]

    def _upload(self, values):
        arrays = [self._put(v.astype(np.float64, copy=False)) if is_array(v) else None
                  for v in values]
        ptr = np.array([0 if a is None else address(a) for a in arrays], np.uint64)
        number = np.array([0.0 if is_array(v) else float(v) for v in values])
        return self._put(ptr), self._put(number), arrays  # the arrays stay alive with the entry
