"""Tables of exp(−m·dt/τ) for step counts m, computed by the CPU's libm.

The STDP and refractory kernels take exponentials of integer step differences. The GPU's
``exp`` may differ from libm's in the last bit, so the CUDA kernels read these tables
instead (kernels/cuda/common.cuh: ``exp_steps``). Each value is computed here by the same
compiled ``math.exp`` the Numba kernels call, with the CPU kernel's operation order:
``(-m * dt) / tau`` (:func:`exp_div`) or ``(-m * dt) * inv_tau`` (:func:`exp_mul`). A table
runs until the value is 0.0 (every larger m gives 0.0 too) or until ``MAX_LENGTH`` entries.
"""
import math

import numba
import numpy as np

MAX_LENGTH = 1 << 22


@numba.njit(cache=True)
def _fill(dt, tau, multiply, max_length):
    out = np.empty(max_length)
    for m in range(max_length):
        x = -m * dt
        out[m] = math.exp(x * tau if multiply else x / tau)
        if out[m] == 0.0:
            return out[:m + 1]
    return out


def exp_div(dt, tau, max_length=MAX_LENGTH):
    """exp(−m·dt/τ) for m = 0, 1, … (dt, τ in ms)."""
    return _fill(float(dt), float(tau), False, int(max_length)).copy()


def exp_mul(dt, inv_tau, max_length=MAX_LENGTH):
    """exp(−m·dt·inv_tau) for m = 0, 1, … (dt in ms, inv_tau in 1/ms); for inv_tau = 0
    (no trace) the one entry 1.0, which the kernels' fallback continues exactly."""
    if inv_tau == 0.0:
        return np.ones(1)
    return _fill(float(dt), float(inv_tau), True, int(max_length)).copy()


def per_column(dt, inv_tau, max_length=MAX_LENGTH):
    """Tables exp(−m·dt·inv_tau[c]) for the columns c (one per distinct inv_tau, in 1/ms),
    concatenated: (tables, start of column c's table, its length)."""
    values, column_table = np.unique(np.asarray(inv_tau, np.float64), return_inverse=True)
    tables = [exp_mul(dt, v, max_length) for v in values]
    lengths = np.array([len(t) for t in tables], np.int64)
    starts = np.cumsum(lengths) - lengths
    return np.concatenate(tables + [np.zeros(0)]), starts[column_table], lengths[column_table]
