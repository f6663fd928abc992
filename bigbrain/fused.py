"""One-step intervals run many at a time in compiled code, on a single rank.

With a minimum delay of one step (dt), every step is an interval, and the interval loop
of :class:`~bigbrain.simulation.Simulation` pays its Python (neuron kernel calls, the
exchange, delivery, bookkeeping: tens of µs) every step — more than 4,000 neurons' update
costs. On one rank nothing needs exchanging, so :class:`FusedSteps` hands up to
:data:`MAX_STEPS` steps at a time to :func:`bigbrain.kernels.steps.advance`, which calls
the same kernels in the same order, step by step; the loop records, archives and reports
progress after each call, as it would after each interval. Spikes, states, samples and
checkpoints are bit for bit those of the interval loop (``tests/test_fused.py``).

:func:`reason` says why a simulation runs the interval loop instead: more than one rank,
a GPU, intervals longer than a step (they are already many steps per call), or parts the
compiled loop does not have — current generators, plastic synapses, parrot neurons, two
neuron groups with one kernel or static projections in two tables. Poisson input is drawn
step by step in the compiled loop where its rate is one number for every event a call
reads (:meth:`FusedSteps.ready`); after a rate change the interval loop runs until every
delay has passed it.
"""
import numpy as np

from .backends import CPU_KERNELS
from .kernels import cond, lif, steps
from .kernels.typed_list import typed_list
from .neurons.relays import SpikeSourceBlock
from .projection import source_positions

#: Steps advanced by one compiled call at most (the loop archives and reports between calls).
MAX_STEPS = 1000
#: Entries of the spike buffer beyond one step's worst case (every neuron fires).
SPIKE_ROOM = 1 << 16
#: Bytes of multimeter samples buffered per call at most (fewer steps per call beyond).
SAMPLE_BYTES = 8 << 20
#: The neuron kernels the compiled loop calls, in the order of its arguments.
KERNELS = (lif.iaf_psc_delta_blocks, lif.iaf_psc_exp_blocks, lif.iaf_psc_alpha_blocks,
           cond.cond_blocks)


def reason(sim):
    """Why ``sim`` (a :class:`~bigbrain.simulation.Simulation`) runs the interval loop, or
    None where :class:`FusedSteps` runs it."""
    kernels = [group.kernel for group in sim.block_groups]
    checks = (
        (sim.comm.size > 1, "more than one rank"),
        (sim.backend.kernels is not CPU_KERNELS, "a backend other than the CPU's"),
        (sim.interval > 1, "intervals of several steps"),
        (bool(sim.currents), "current generators"),
        (bool(sim.superposed), "superposition generators (gamma_sup, ppd_sup)"),
        (bool(sim.bernoulli), "bernoulli synapses"),
        (len(sim.plasticity.projections) > 0, "plastic synapses"),
        (any(type(b) is not SpikeSourceBlock for b in sim.single_blocks), "parrot neurons"),
        (any(k not in KERNELS for k in kernels), "a neuron kernel the compiled loop lacks"),
        (len(set(kernels)) < len(kernels), "two neuron groups with one kernel"),
        (len(sim.static_table) > 1, "static projections in two tables"),
    )
    return next((why for failed, why in checks if failed), None)


class FusedSteps:
    """The arguments of :func:`bigbrain.kernels.steps.advance` for a simulation, and the
    buffers its spikes and samples go to (kept between runs while :meth:`current`)."""

    def __init__(self, sim):
        self.sim = sim
        self.block_groups, self.static_table = sim.block_groups, sim.static_table
        groups = {group.kernel: group.table for group in sim.block_groups}
        self.groups = tuple(groups.get(kernel) for kernel in KERNELS)
        self.trains = [b.emit_step for b in sim.single_blocks]
        self.emit_step, self.emit_col, per_step = _source_spikes(sim.single_blocks)
        self.room = sum(len(b.gids) for b in sim.blocks if b.KERNEL is not None) + per_step
        self.out_col = np.empty(self.room + SPIKE_ROOM, np.int64)
        self.out_step = np.empty_like(self.out_col)
        self.position = source_positions(sim.static_sources, sim.local_gids)
        self.static = sim.static_table[0] if sim.static_table else None
        self.sampled = [b for group in sim.block_groups for b in group.sampled]
        per_sample_step = sum(b.rec_v[0].nbytes for b in self.sampled)
        self.max_steps = max(1, min(MAX_STEPS, SAMPLE_BYTES // max(per_sample_step, 1)))
        self.buffers = [np.zeros((self.max_steps,) + b.rec_v.shape[1:]) for b in self.sampled]
        self.samples = (typed_list(list(zip((b.rec_v for b in self.sampled), self.buffers)))
                        if self.sampled else None)
        self.poisson = None
        self.draw_poisson()

    def current(self):
        """Whether the kernel tables and spike trains held are still the simulation's (a
        ``set`` of parameters, weights or spike times makes new ones)."""
        return (self.block_groups is self.sim.block_groups
                and self.static_table is self.sim.static_table
                and all(t is b.emit_step for t, b in zip(self.trains, self.sim.single_blocks)))

    def draw_poisson(self):
        """Take the Poisson projections' rates (they may change between runs); a silent
        generator draws nothing."""
        drawn = [args for p in self.sim.poisson if p.groups for args in p.latest_arguments()]
        self.poisson = typed_list(drawn) if drawn else None

    def ready(self, step):
        """Whether every Poisson projection's rate holds for the events read from ``step``
        on (its last change lies at least the longest delay before)."""
        return all(p.rate_since() <= step - p.groups[-1][0]
                   for p in self.sim.poisson if p.groups)

    def advance(self, n_steps):
        """Advance the simulation's state by up to ``n_steps`` steps from ``sim.step``;
        returns (steps advanced, spikes' rank columns, spikes' emission steps). The sampled
        blocks' ``samples`` hold those steps' samples."""
        sim = self.sim
        n, k = steps.advance(sim.step, min(n_steps, self.max_steps), *self.groups,
                             self.emit_step, self.emit_col, self.position, self.static,
                             self.samples, self.poisson, sim.poisson_until, sim.ring_ex,
                             sim.ring_in, sim.ring_cur, self.out_col, self.out_step, self.room)
        for block, buffer in zip(self.sampled, self.buffers):
            block.samples = buffer[:n]
        return n, self.out_col[:k], self.out_step[:k]


def _source_spikes(blocks):
    """The spikes of the spike sources ``blocks``: emission steps (ascending), rank
    columns, and the most spikes in one step."""
    emit_step = np.concatenate([b.emit_step for b in blocks] + [np.zeros(0, np.int64)])
    emit_col = np.concatenate([b.col0 + b.emit_idx for b in blocks] + [np.zeros(0, np.int64)])
    order = np.argsort(emit_step, kind="stable")
    per_step = np.unique(emit_step, return_counts=True)[1].max(initial=0)
    return emit_step[order], emit_col[order].astype(np.int64), int(per_step)
