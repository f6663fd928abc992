"""Nodes that pass spikes on rather than integrate: NEST's ``spike_generator`` (here
``spike_source``: given spike times) and ``parrot_neuron`` (repeats its input spikes).
Both are blocks, so their spikes travel to other ranks like any neuron's.
"""
import numpy as np

from ..kernels.fixed_point import FRACTION_BITS
from .base import Block, NeuronModel, positive


class SpikeSourceBlock(Block):
    """Local nodes of a ``spike_source`` population: NEST's ``spike_generator``.

    A spike at time t (ms, on the dt grid, t >= dt) is emitted in step t/dt − 1, so it
    carries the time stamp t and reaches a target at t + delay.
    """

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        steps = [np.asarray(p["spike_times_steps"][g - p["first_gid"]], np.int64) - 1 for g in gids]
        self.emit_step = np.concatenate(steps + [np.zeros(0, np.int64)])
        self.emit_idx = np.repeat(np.arange(len(gids)), [len(s) for s in steps])
        order = np.argsort(self.emit_step, kind="stable")
        self.emit_step, self.emit_idx = self.emit_step[order], self.emit_idx[order]

    def trains(self):
        """(gid, emission step) of every spike this block emits, in step order."""
        return self.gids[self.emit_idx], self.emit_step

    def set_trains(self, gids, emit_steps, from_step=0):
        """Replace the spikes of the nodes ``gids`` emitted from step ``from_step`` on by
        ``emit_steps`` (one array per gid; the local gids among them act)."""
        local = np.searchsorted(self.gids, gids).clip(0, max(len(self.gids) - 1, 0))
        held = np.flatnonzero(self.gids[local] == gids) if len(self.gids) else []
        keep = ~(np.isin(self.emit_idx, local[held]) & (self.emit_step >= from_step))
        new = [np.asarray(emit_steps[k], np.int64) for k in held]
        step = np.concatenate([self.emit_step[keep]] + new)
        idx = np.concatenate([self.emit_idx[keep]] + [np.full(len(n), local[k]) for k, n
                                                      in zip(held, new)])
        order = np.argsort(step, kind="stable")
        self.emit_step, self.emit_idx = step[order], idx[order].astype(np.int64)

    def update(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        if not len(self.emit_step) or t0 > self.emit_step[-1]:  # no spikes left
            return self.emit_idx[:0], self.emit_step[:0]
        a, b = np.searchsorted(self.emit_step, [t0, t0 + n_steps])
        return self.emit_idx[a:b], self.emit_step[a:b] - t0


class ParrotBlock(Block):
    """Local nodes of a ``parrot_neuron`` population: NEST's parrot_neuron.

    Each spike that arrives (on port 0) in a step is emitted in that step, with its
    multiplicity: k spikes in, k spikes out. Input synapses deliver one spike each as
    2**FRACTION_BITS in the ring buffer (see ``Connection.input_weight``), whatever their
    weight. Its spikes are post-synaptic spikes for STDP (traces ``tau_minus`` and
    ``tau_minus_triplet``, ms).
    """

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)

    def update(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        slots = (t0 + np.arange(n_steps)) % ring_ex.shape[0]
        cols = slice(self.col0, self.col0 + len(self.gids))
        counts = (ring_ex[slots, cols] + ring_in[slots, cols]) >> FRACTION_BITS
        counts = self.backend.to_host(counts)
        ring_ex[slots, cols] = 0
        ring_in[slots, cols] = 0
        off, idx = np.nonzero(counts)
        repeats = counts[off, idx]
        return np.repeat(idx, repeats).astype(np.int64), np.repeat(off, repeats).astype(np.int64)


MODELS = {
    "spike_source": NeuronModel("spike_source", {}, SpikeSourceBlock, receives_input=False),
    "parrot_neuron": NeuronModel("parrot_neuron", {
        "tau_minus": (20.0, "ms", positive, "> 0"),
        "tau_minus_triplet": (110.0, "ms", positive, "> 0"),
    }, ParrotBlock),
}
