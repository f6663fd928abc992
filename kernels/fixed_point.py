"""Synaptic input is accumulated in 64-bit fixed point.

Integer addition is associative, so the input a neuron receives in a step is the same
whatever order its spikes arrive in — on any number of ranks, with any exchange, on CPU or
GPU. A weight w is stored as round(w · 2**FRACTION_BITS); the neuron model converts the sum
back with one exact multiplication by 2**-FRACTION_BITS. Resolution: 1.5e-11 (mV or pA);
largest single weight: :data:`MAX_WEIGHT`.

Per-synapse static weights are stored in 32 bits: a projection keeps m = round(f / 2**shift)
(int32) for each fixed-point weight f, and delivers m << shift, with the smallest shift
(:func:`weight_shift`) that fits its largest weight. The resolution is then 2**shift units
of 2**-FRACTION_BITS, about 2**-31 of the projection's largest weight; the sums stay int64.
"""
import numpy as np

FRACTION_BITS = 36
SCALE = float(2**FRACTION_BITS)
INVERSE_SCALE = 1.0 / SCALE
MAX_WEIGHT = 2.0**26


def to_fixed(weight):
    """Fixed-point form (int64) of a weight or an array of weights."""
    return np.rint(np.asarray(weight, dtype=np.float64) * SCALE).astype(np.int64)


INT32_MAX = 2**31 - 1


def quantize(fixed, shift):
    """round(fixed / 2**shift) to the nearest integer (ties upwards), for int64 fixed-point
    weights (a number or an array) and a shift >= 0."""
    return fixed if shift == 0 else (fixed + (1 << (shift - 1))) >> shift


def weight_shift(max_abs):
    """The smallest shift >= 0 at which every fixed-point weight of magnitude <= ``max_abs``
    (an int) quantizes (:func:`quantize`) into int32."""
    shift = 0
    while quantize(max_abs, shift) > INT32_MAX:
        shift += 1
    return shift
