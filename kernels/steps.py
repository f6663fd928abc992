"""Many intervals in one compiled call (one rank).

:func:`advance` does, interval after interval, what the interval loop of
:class:`bigbrain.simulation.Simulation` does: Poisson input (the same ``poisson_input``,
one call per interval), the neuron updates (the same ``*_blocks`` kernels, called with the
interval's steps), the spikes of the spike sources and parrot neurons, the multimeter
samples (one-step intervals), the post-synaptic spike history of a plastic projection (the
same ``record_post_spikes``), and the delivery of the interval's spikes into the ring
buffers (the same :func:`~.delivery.deliver` and :func:`~.stdp.deliver`). The arithmetic
and its order are unchanged, so states, weights and spikes are bit for bit those of the
interval loop; only the Python around each interval (tens of µs) is gone.

The neuron groups come one per kernel slot (``delta``, ``exp``, ``alpha``, ``cond``,
``cond2``: the block table of that kernel, or None where the rank has none: Numba removes
the branch); ``cond2`` takes a second group of conductance neurons (another model, so
another table type). The parrots, samples and Poisson projections come as an array or
typed list that may be empty, not None: Numba compiles :func:`advance` once per
combination of argument types (seconds each), and these would double the combinations
for a loop of a few iterations less.

Numba's on-disk cache (``cache=True``) is keyed on this file alone, yet :func:`advance`
holds compiled copies of the kernels it calls: a change to one of them must come with a
change here, or a checkout with a warm cache keeps running the old code. So this file names
the digest of those kernels' sources (:data:`KERNELS_DIGEST`, checked by
``tests/test_fused.py``): a changed kernel fails that test until the digest here is
updated, which changes this file and makes every cache compile :func:`advance` anew.
"""
import numba
import numpy as np

from .cond import cond_blocks
from .delivery import deliver_each
from .fixed_point import FRACTION_BITS
from .lif import iaf_psc_alpha_blocks, iaf_psc_delta_blocks, iaf_psc_exp_blocks
from .poisson import poisson_input
from .stdp import deliver as stdp_deliver
from .stdp import record_post_spikes

#: SHA-256 (first 16 hex digits) of the sources of the kernel modules this one imports,
#: directly or through each other, concatenated in the order of their names.
KERNELS_DIGEST = "a6fc1b2a35cc7155"

#: What :func:`advance` returns as ``pending`` where no interval is left half done.
NONE_PENDING = -1


@numba.njit(cache=True)
def advance(t0, n_steps, interval, delta, exp, alpha, cond, cond2, emit_step, emit_col,
            parrots, position, static, plastic, samples, poisson, poisson_from, ring_ex,
            ring_in, ring_cur, out_col, out_step, room):
    """Advance intervals of ``interval`` steps from t0 (the last one shorter where
    ``n_steps`` ends inside one) while ``out_col`` has ``room`` entries left for an
    interval's spikes besides the parrots'; returns (steps advanced, spikes, pending,
    Poisson input added up to this step).

    ``emit_step``, ``emit_col``: the spike sources' spikes (emission step ascending, rank
    column); ``parrots``: (first rank column, count) of each parrot block (n × 2);
    ``position``: each rank column's position among the static projections' sources (−1:
    none), as ``deliver`` takes them; ``static``: the static projections' ``deliver``
    arguments (a typed list, or None); ``plastic``: :func:`plastic_arguments` of the one
    plastic projection, or None; ``samples``: (rec_v, buffer) of each sampled block (a
    typed list; one-step intervals), rec_v[0] copied to buffer[s] after step offset s;
    ``poisson``: the ``poisson_input`` arguments (after the steps, before the ring
    buffers) of each Poisson projection (a typed list), whose events read in
    each step from ``poisson_from`` on are added before the update of that step's
    interval. Spikes: ``out_col`` (rank columns) and ``out_step`` (emission steps),
    interval after interval.

    ``pending`` ≥ 0: the interval after the steps advanced has updated its neurons and
    output its spikes (the last ones of ``out_col``, from ``out_col`` entry ``start``
    returned as pending's pair), but a post-synaptic history row is full and must grow:
    its spikes from index ``pending`` on are still to be recorded, then delivered (the
    caller finishes the interval). Otherwise ``pending`` is ``NONE_PENDING``.
    """
    e = np.searchsorted(emit_step, t0)
    src = np.empty(out_col.shape[0], np.int64)
    stamp = np.empty(out_col.shape[0], np.int64)
    k, s = np.int64(0), np.int64(0)  # not literals: each would compile its callees once more
    poisson_until = poisson_from
    while s < n_steps:
        n = min(interval, n_steps - s)
        t, k0 = t0 + s, k
        if k + room > out_col.shape[0]:
            return s, k, NONE_PENDING, k0, poisson_until
        if len(poisson) and t + n > poisson_until:
            first = max(t, poisson_until)
            _poisson_steps(poisson, first, t + n - first, ring_ex, ring_in)
            poisson_until = t + n
        if k + room + _parrot_input(parrots, ring_ex, ring_in, t, n) > out_col.shape[0]:
            return s, k, NONE_PENDING, k0, poisson_until
        k = _update(delta, exp, alpha, cond, cond2, ring_ex, ring_in, ring_cur, t, n, out_col,
                    out_step, k)
        while e < emit_step.shape[0] and emit_step[e] < t + n:
            out_col[k] = emit_col[e]
            out_step[k] = emit_step[e]
            k += 1
            e += 1
        k = _relay(parrots, ring_ex, ring_in, t, n, out_col, out_step, k)
        _copy_samples(samples, s)
        if plastic is not None and k > k0:
            for j in range(k0, k):
                stamp[j - k0] = out_step[j] + 1
            i = _record(plastic, out_col[k0:k], stamp[:k - k0], np.int64(0))
            if i < k - k0:
                return s, k, i, k0, poisson_until
        _deliver(static, plastic, position, out_col[k0:k], out_step[k0:k], t, n, src, stamp,
                 ring_ex, ring_in)
        s += n
    return s, k, NONE_PENDING, k, poisson_until


@numba.njit(cache=True)
def _update(delta, exp, alpha, cond, cond2, ring_ex, ring_in, ring_cur, t, n, out_col,
            out_step, k):
    """Each group's kernel for steps t … t+n−1, spikes appended from ``k`` (their emission
    steps absolute); returns the new end."""
    k0 = k
    if delta is not None:
        k += iaf_psc_delta_blocks(delta, ring_ex, ring_in, ring_cur, t, n, out_col[k:],
                                  out_step[k:])
    if exp is not None:
        k += iaf_psc_exp_blocks(exp, ring_ex, ring_in, ring_cur, t, n, out_col[k:], out_step[k:])
    if alpha is not None:
        k += iaf_psc_alpha_blocks(alpha, ring_ex, ring_in, ring_cur, t, n, out_col[k:],
                                  out_step[k:])
    if cond is not None:
        k += cond_blocks(cond, ring_ex, ring_in, ring_cur, t, n, out_col[k:], out_step[k:])
    if cond2 is not None:
        k += cond_blocks(cond2, ring_ex, ring_in, ring_cur, t, n, out_col[k:], out_step[k:])
    for j in range(k0, k):
        out_step[j] += t
    return k


@numba.njit(cache=True)
def _parrot_input(parrots, ring_ex, ring_in, t, n):
    """Spikes the parrot blocks will emit in steps t … t+n−1 (their input is complete)."""
    L, total = ring_ex.shape[0], 0
    for b in range(parrots.shape[0]):
        for s in range(t, t + n):
            for c in range(parrots[b, 0], parrots[b, 0] + parrots[b, 1]):
                total += (ring_ex[s % L, c] + ring_in[s % L, c]) >> FRACTION_BITS
    return total


@numba.njit(cache=True)
def _relay(parrots, ring_ex, ring_in, t, n, out_col, out_step, k):
    """:class:`bigbrain.neurons.relays.ParrotBlock`: each spike read in steps t … t+n−1
    is emitted in its step (k in, k out; step, then column order), slots cleared."""
    L = ring_ex.shape[0]
    for b in range(parrots.shape[0]):
        for s in range(t, t + n):
            for c in range(parrots[b, 0], parrots[b, 0] + parrots[b, 1]):
                count = (ring_ex[s % L, c] + ring_in[s % L, c]) >> FRACTION_BITS
                ring_ex[s % L, c] = 0
                ring_in[s % L, c] = 0
                for _ in range(count):
                    out_col[k] = c
                    out_step[k] = s
                    k += 1
    return k


@numba.njit(cache=True)
def _record(plastic, cols, stamps, start):
    """The post-synaptic history's ``record`` (bigbrain.plasticity.PostHistory) up to a row
    that must grow: a full row first raises the bound to the projection's (its sources'
    last spikes minus the longest delay); returns the index of the first spike not
    recorded (len(cols): all)."""
    (row_of_col, ptr, post, weight, delay, delay_all, kplus, t_last, active, max_delay,
     rule, mode, h, hf, minus, inv_tau_minus, dt, exp_plus, tracked, kminus, last_stamp,
     bound, triplet, history_triplet) = plastic
    i = record_post_spikes(cols, stamps, start, tracked, kminus, last_stamp, inv_tau_minus, dt,
                           bound[0], h, hf, history_triplet)
    while i < cols.shape[0]:
        latest = np.iinfo(np.int64).max
        for r in range(active.shape[0]):
            if active[r] and t_last[r] - max_delay < latest:
                latest = t_last[r] - max_delay
        if latest <= bound[0]:
            return i
        bound[0] = latest
        i = record_post_spikes(cols, stamps, i, tracked, kminus, last_stamp, inv_tau_minus, dt,
                               bound[0], h, hf, history_triplet)
    return i


@numba.njit(cache=True)
def _deliver(static, plastic, position, cols, steps, t, n, src, step_order, ring_ex, ring_in):
    """Deliver one interval's spikes (rank columns, emission steps t … t+n−1) through the
    static projections, then, in step order, through the plastic one."""
    m = cols.shape[0]
    if m == 0:
        return
    if static is not None:
        for j in range(m):
            src[j] = position[cols[j]]
        deliver_each(src[:m], steps, static, ring_ex, ring_in)
    if plastic is None:
        return
    (row_of_col, ptr, post, weight, delay, delay_all, kplus, t_last, active, max_delay,
     rule, mode, h, hf, minus, inv_tau_minus, dt, exp_plus, tracked, kminus, last_stamp,
     bound, triplet, history_triplet) = plastic
    j = 0
    for s in range(t, t + n):  # a stable sort by step
        for i in range(m):
            if steps[i] == s:
                src[j] = row_of_col[cols[i]]
                step_order[j] = s
                j += 1
    tau_plus, lam, alpha, mu_plus, mu_minus, w_max = rule
    no_row, no_syn, no_out = np.zeros(0, np.bool_), np.zeros(0, np.int64), np.zeros(0)
    stdp_deliver(src[:m], step_order[:m], np.int64(0), ptr, post, weight, delay, delay_all,
                 kplus, t_last, h, hf, minus[0], minus[1], minus[2], inv_tau_minus, dt,
                 exp_plus, tau_plus, lam, alpha, mu_plus, mu_minus, w_max, mode, ring_ex,
                 ring_in, no_row, no_syn, no_syn, no_syn, no_out, triplet)


@numba.njit(cache=True)
def _poisson_steps(poisson, t, n, ring_ex, ring_in):
    """Add the events of each Poisson projection of ``poisson`` read in steps t … t+n−1
    (one call for the interval's steps: each synapse draws from its own stream, so the
    counts do not depend on how the steps are split)."""
    for j in range(len(poisson)):
        post, post_gid, ordinal, delay, weight, cdf, guide, k0, k1, c2 = poisson[j]
        poisson_input(t, n, post, post_gid, ordinal, delay, weight, cdf, guide, k0, k1, c2,
                      ring_ex, ring_in)


@numba.njit(cache=True)
def _copy_samples(samples, s):
    """buffer[s] = rec_v[0] for each (rec_v, buffer) of ``samples``."""
    for b in range(len(samples)):
        rec_v, buffer = samples[b]
        for j in range(rec_v.shape[1]):
            for v in range(rec_v.shape[2]):
                buffer[s, j, v] = rec_v[0, j, v]
