"""Random values for parameters, weights and delays: constants or distributions.

A distribution draws its values from the counter-based streams
(:mod:`bigbrain.kernels.philox`): value ``j`` of element ``id`` for purpose ``purpose`` is a
pure function of (seed, purpose, aux, id, j), so it does not depend on the partition.
Redrawing (for :class:`clipped_normal`) uses the counter word ``sub`` as the round number.
"""
import math

import numpy as np

from .errors import ModelError, number
from .kernels.philox import uniform as philox_uniform


class Distribution:
    """Base class: ``sample(stream, ids, index)`` returns one float64 per (id, index) pair."""

    def sample(self, stream, ids, index):
        raise NotImplementedError

    def describe(self):
        """A JSON-able description (for archives and model files)."""
        return {"distribution": type(self).__name__, **vars(self)}

    def bounds(self):
        """(lowest, highest) value the distribution can produce."""
        raise NotImplementedError


class Stream:
    """The random stream of one purpose: fixes seed, purpose and aux of the counter."""

    def __init__(self, seed, purpose, aux):
        self.seed, self.purpose, self.aux = seed, purpose, aux

    def uniform(self, ids, index, sub=0):
        return philox_uniform(self.seed, self.purpose, self.aux, ids, index, sub)


class uniform(Distribution):
    """Uniform on [low, high)."""

    def __init__(self, low, high):
        low, high = number("uniform.low", low), number("uniform.high", high)
        if not high > low:
            raise ModelError("uniform", f"high ({high}) must be greater than low ({low})")
        self.low, self.high = low, high

    def sample(self, stream, ids, index):
        return self.low + (self.high - self.low) * stream.uniform(ids, index)

    def bounds(self):
        return self.low, self.high


def _standard_normal(stream, ids, index, sub):
    """Box-Muller on two independent uniforms (index 2j and 2j+1 of the stream):
    sqrt(−2·log1p(−u1))·cos(2π·u2), computed in place (no temporaries)."""
    index = np.asarray(index, dtype=np.uint64) * np.uint64(2)
    u1 = stream.uniform(ids, index, sub)
    index += np.uint64(1)
    u2 = stream.uniform(ids, index, sub)
    del index
    np.negative(u1, out=u1)
    np.log1p(u1, out=u1)
    u1 *= -2.0
    np.sqrt(u1, out=u1)
    u2 *= 2.0 * math.pi
    np.cos(u2, out=u2)
    u1 *= u2
    return u1


class normal(Distribution):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    def __init__(self, mean, std):
        self.mean, self.std = number("normal.mean", mean), number("normal.std", std, ">= 0")

    def sample(self, stream, ids, index):
        return self.mean + self.std * _standard_normal(stream, ids, index, 0)

    def bounds(self):
        return (-math.inf, math.inf) if self.std > 0 else (self.mean, self.mean)


class clipped_normal(Distribution):
    """Normal truncated to [low, high]: values outside are redrawn (NEST's ``redraw``)."""

    MAX_ROUNDS = 1000
    #: The least probability of [low, high] accepted: a value then fails all MAX_ROUNDS
    #: draws with probability below (1 − 0.03)^1000 ≈ 6e-14.
    MIN_MASS = 0.03

    def __init__(self, mean, std, low=-math.inf, high=math.inf):
        self.mean = number("clipped_normal.mean", mean)
        self.std = number("clipped_normal.std", std, ">= 0")
        self.low = number("clipped_normal.low", low, finite=False)
        self.high = number("clipped_normal.high", high, finite=False)
        if not self.high > self.low:
            raise ModelError("clipped_normal", f"high ({high}) must be greater than low ({low})")
        if self.mass() < self.MIN_MASS:
            raise ModelError("clipped_normal", f"[{self.low}, {self.high}] is too unlikely under "
                             f"normal({self.mean}, {self.std}) (probability {self.mass():.3g}, "
                             f"below {self.MIN_MASS}): redrawing would not end")

    def mass(self):
        """Probability of [low, high] under normal(mean, std)."""
        if self.std == 0:
            return float(self.low <= self.mean <= self.high)
        cdf = lambda x: 0.5 * math.erfc(-(x - self.mean) / (self.std * math.sqrt(2)))  # noqa: E731
        return cdf(self.high) - cdf(self.low)

    def sample(self, stream, ids, index):
        ids, index = np.broadcast_arrays(np.asarray(ids, np.uint64), np.asarray(index, np.uint64))
        out = self.mean + self.std * _standard_normal(stream, ids, index, 0)
        bad = np.flatnonzero((out < self.low) | (out > self.high))
        for rnd in range(1, self.MAX_ROUNDS):
            if bad.size == 0:
                return out
            out[bad] = self.mean + self.std * _standard_normal(stream, ids[bad], index[bad], rnd)
            bad = bad[(out[bad] < self.low) | (out[bad] > self.high)]
        raise ModelError("clipped_normal", f"[{self.low}, {self.high}] is too unlikely under "
                         f"normal({self.mean}, {self.std}): redrawing did not end")

    def bounds(self):
        return self.low, self.high


def describe(value):
    """JSON-able form of a constant, an array or a distribution (inverse:
    :func:`bigbrain.rebuild.from_description`)."""
    if isinstance(value, Distribution):
        return value.describe()
    if np.ndim(value) > 0:
        return {"array": np.asarray(value).tolist()}
    return value
