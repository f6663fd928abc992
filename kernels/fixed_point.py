"""Synaptic input is accumulated in 64-bit fixed point.

Integer addition is associative, so the input a neuron receives in a step is the same
whatever order its spikes arrive in — on any number of ranks, with any exchange, on CPU or
GPU. A weight w is stored as round(w · 2**FRACTION_BITS); the neuron model converts the sum
back with one exact multiplication by 2**-FRACTION_BITS. Resolution: 1.5e-11 (mV or pA);
largest single weight: :data:`MAX_WEIGHT`.
"""
import numpy as np

FRACTION_BITS = 36
SCALE = float(2**FRACTION_BITS)
INVERSE_SCALE = 1.0 / SCALE
MAX_WEIGHT = 2.0**26


def to_fixed(weight):
    """Fixed-point form (int64) of a weight or an array of weights."""
    return np.rint(np.asarray(weight, dtype=np.float64) * SCALE).astype(np.int64)
