"""Neuron parameters on the device: the CUDA form of :func:`bigbrain.kernels.params.at`.

A CUDA kernel that takes per-neuron parameters (``kernels/cuda/params.cuh``) reads
parameter k of neuron i from two device arrays of one entry per parameter: the address of
its float64 array (one value per neuron), or 0 and the number itself. :class:`DeviceParams`
builds them from the parameters as the Numba kernels take them (numbers or per-neuron
arrays; integers such as refractory steps travel as doubles, exact below 2**53) and caches
them, so that a population's parameters are copied to the device once, not once per
interval. The per-neuron arrays follow the numbers in the second array, so the two arrays
hold everything the kernel reads: whoever keeps them (a segment table keeps them for as
long as its launches read them by address) keeps the values alive, whatever the cache
drops.

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
        return self.cached(values, lambda: self._upload(values))

    def _upload(self, values):
        """(addresses, numbers and then the per-neuron arrays) on the device: two copies."""
        arrays = [v.astype(np.float64, copy=False).ravel() for v in values if is_array(v)]
        number = [0.0 if is_array(v) else float(v) for v in values]
        body = self._put(np.concatenate([np.array(number)] + arrays))
        offset = np.cumsum([len(values)] + [len(a) for a in arrays])[:-1]
        at = iter(address(body) + 8 * offset.astype(np.uint64))
        ptr = np.array([next(at) if is_array(v) else 0 for v in values], np.uint64)
        return self._put(ptr), body
