"""Several one-step intervals in one compiled call (one rank, minimum delay of one step).

:func:`advance` does, step after step, what the interval loop of
:class:`bigbrain.simulation.Simulation` does for an interval of one step: the neuron
updates (the same ``*_blocks`` kernels, called with ``n_steps`` = 1), Poisson input (the
same ``poisson_input``, one step at a time), the spikes of the spike sources, the
multimeter samples, and the delivery of the step's spikes into the ring buffers (the same
:func:`~.delivery.deliver`). The arithmetic is unchanged, so states and spikes are bit for
bit those of the interval loop; only the Python around each step (a few tens of µs) is
gone.

The neuron groups come one per kernel (``delta``, ``exp``, ``alpha``, ``cond``: the block
table of that kernel, or None where the rank has none: Numba removes the branch).
"""
import numba
import numpy as np

from .cond import cond_blocks
from .delivery import deliver_each
from .lif import iaf_psc_alpha_blocks, iaf_psc_delta_blocks, iaf_psc_exp_blocks
from .poisson import poisson_input


@numba.njit(cache=True)
def advance(t0, n_steps, delta, exp, alpha, cond, emit_step, emit_col, position, static,
            samples, poisson, poisson_from, ring_ex, ring_in, ring_cur, out_col, out_step, room):
    """Advance steps t0, t0+1, … (at most ``n_steps``) while ``out_col`` has ``room`` entries
    left for a step's spikes; returns (steps advanced, spikes).

    ``emit_step``, ``emit_col``: the spike sources' spikes (emission step ascending, rank
    column); ``position``: each rank column's position among the static projections'
    sources (−1: none), as ``deliver`` takes them; ``static``: the static projections'
    ``deliver`` arguments (a typed list, or None); ``samples``: (rec_v, buffer) of each
    sampled block (a typed list, or None), rec_v[0] copied to buffer[s] after step offset
    s; ``poisson``: the ``poisson_input`` arguments (after the steps, before the ring
    buffers) of each Poisson projection (a typed list, or None), whose events read in each
    step from ``poisson_from`` on are added before that step's update. Spikes: ``out_col``
    (rank columns) and ``out_step`` (emission steps), step after step.
    """
    e = np.searchsorted(emit_step, t0)
    src = np.empty(room, np.int64)
    k = 0
    for s in range(n_steps):
        if k + room > out_col.shape[0]:
            return s, k
        t, k0 = t0 + s, k
        if poisson is not None and t >= poisson_from:
            _poisson_step(poisson, t, ring_ex, ring_in)
        if delta is not None:
            k += iaf_psc_delta_blocks(delta, ring_ex, ring_in, ring_cur, t, 1, out_col[k:],
                                      out_step[k:])
        if exp is not None:
            k += iaf_psc_exp_blocks(exp, ring_ex, ring_in, ring_cur, t, 1, out_col[k:],
                                    out_step[k:])
        if alpha is not None:
            k += iaf_psc_alpha_blocks(alpha, ring_ex, ring_in, ring_cur, t, 1, out_col[k:],
                                      out_step[k:])
        if cond is not None:
            k += cond_blocks(cond, ring_ex, ring_in, ring_cur, t, 1, out_col[k:], out_step[k:])
        while e < emit_step.shape[0] and emit_step[e] == t:
            out_col[k] = emit_col[e]
            k += 1
            e += 1
        out_step[k0:k] = t
        if samples is not None:
            _copy_samples(samples, s)
        if static is not None and k > k0:
            for j in range(k0, k):
                src[j - k0] = position[out_col[j]]
            deliver_each(src[:k - k0], out_step[k0:k], static, ring_ex, ring_in)
    return n_steps, k


@numba.njit(cache=True)
def _poisson_step(poisson, t, ring_ex, ring_in):
    """Add the events of each Poisson projection of ``poisson`` read in step t."""
    for j in range(len(poisson)):
        post, post_gid, ordinal, delay, weight, cdf, guide, k0, k1, c2 = poisson[j]
        poisson_input(t, 1, post, post_gid, ordinal, delay, weight, cdf, guide, k0, k1, c2,
                      ring_ex, ring_in)


@numba.njit(cache=True)
def _copy_samples(samples, s):
    """buffer[s] = rec_v[0] for each (rec_v, buffer) of ``samples``."""
    for b in range(len(samples)):
        rec_v, buffer = samples[b]
        for j in range(rec_v.shape[1]):
            for v in range(rec_v.shape[2]):
                buffer[s, j, v] = rec_v[0, j, v]
