"""Intervals run many at a time in compiled code, on a single rank.

The interval loop of :class:`~bigbrain.simulation.Simulation` pays its Python (neuron
kernel calls, the exchange, delivery, bookkeeping: tens of µs) every interval: more than
4,000 neurons' update costs with one-step intervals, and more than a 400-neuron learning
network's whole update (Diehl & Cook's, 1 ms intervals). On one rank nothing needs
exchanging, so :class:`FusedSteps` hands up to :data:`MAX_STEPS` steps at a time to
:func:`bigbrain.kernels.steps.advance`, which calls the same kernels in the same order,
interval by interval; the loop records, archives and reports progress after each call, as
it would after each interval. Spikes, states, weights, samples and checkpoints are bit for
bit those of the interval loop (``tests/test_fused.py``).

:func:`reason` says why a simulation runs the interval loop instead: more than one rank,
a GPU, parts the compiled loop does not have — current generators, more than one plastic
projection or a weight recorder, samples with intervals of several steps, two neuron
groups with one kernel (two conductance groups excepted), static projections in two
tables or receptor ports above 1. Poisson input is drawn step by step in the compiled loop
where its rate is one number for every event a call reads (:meth:`FusedSteps.ready`);
after a rate change the interval loop runs until every delay has passed it. Where a post-synaptic history row
must grow, the compiled loop stops inside the interval and the interval loop's code
finishes it (:meth:`FusedSteps.advance`).
"""
import numpy as np

from .backends import CPU_KERNELS
from .kernels import cond, lif, steps
from .kernels.typed_list import typed_list
from .neurons.relays import ParrotBlock, SpikeSourceBlock
from .projection import source_positions

#: Steps advanced by one compiled call at most (the loop archives and reports between calls).
MAX_STEPS = 1000
#: Entries of the spike buffer beyond one interval's worst case (every neuron fires).
SPIKE_ROOM = 1 << 16
#: Bytes of multimeter samples buffered per call at most (fewer steps per call beyond).
SAMPLE_BYTES = 8 << 20
#: The types of a (rec_v, buffer) pair of ``samples`` and of a Poisson projection's
#: ``poisson_input`` arguments (:meth:`bigbrain.projection.PoissonProjection.arguments`),
#: which the empty lists of a simulation without samples or Poisson input take: one
#: compiled :func:`~bigbrain.kernels.steps.advance` serves with and without.
NO_SAMPLE = (np.zeros((0, 0, 0)), np.zeros((0, 0, 0)))
NO_POISSON = (*(np.zeros(0, np.int64),) * 5, np.zeros(0), np.zeros(0, np.int64),
              *(np.uint64(0),) * 3)
#: The neuron kernels the compiled loop calls, in the order of its arguments (one slot each,
#: two for conductance neurons).
KERNELS = (lif.iaf_psc_delta_blocks, lif.iaf_psc_exp_blocks, lif.iaf_psc_alpha_blocks,
           cond.cond_blocks, cond.cond_blocks)


#: The plastic rules' kernels the compiled loop has (NEST's stdp_synapse and
#: stdp_triplet_synapse).
PLASTIC_KERNELS = ("deliver_stdp", "deliver_triplet_stdp")


def reason(sim):
    """Why ``sim`` (a :class:`~bigbrain.simulation.Simulation`) runs the interval loop, or
    None where :class:`FusedSteps` runs it."""
    kernels = [group.kernel for group in sim.block_groups]
    plastic = sim.plasticity.projections
    checks = (
        (sim.comm.size > 1, "more than one rank"),
        (sim.backend.kernels is not CPU_KERNELS, "a backend other than the CPU's"),
        (bool(sim.currents), "current generators"),
        (len(plastic) > 1, "more than one plastic projection"),
        (any(p.recorder is not None for p in plastic), "a weight recorder"),
        (any(p.rule.KERNEL not in PLASTIC_KERNELS for p in plastic),
         "a synapse model the compiled loop lacks (tsodyks_synapse)"),
        (sim.interval > 1 and any(g.sampled for g in sim.block_groups),
         "samples with intervals of several steps"),
        (any(type(b) not in (SpikeSourceBlock, ParrotBlock) for b in sim.single_blocks),
         "a node the compiled loop lacks"),
        (bool(sim.superposed), "superposition generators (gamma_sup, ppd_sup)"),
        (bool(sim.bernoulli), "bernoulli synapses"),
        (any(k not in KERNELS for k in kernels), "a neuron kernel the compiled loop lacks"),
        (_slots(kernels) is None, "two neuron groups with one kernel"),
        (len(sim.static_table) > 1, "static projections in two tables"),
        (len(sim.ring_ports) > 0, "receptor ports above 1"),
    )
    return next((why for failed, why in checks if failed), None)


def _slots(kernels):
    """The slot of :data:`KERNELS` each of ``kernels`` takes (the first free one of its
    kernel), or None where one finds none."""
    taken = []
    for kernel in kernels:
        free = [i for i, k in enumerate(KERNELS) if k is kernel and i not in taken]
        if not free:
            return None
        taken.append(free[0])
    return taken


class FusedSteps:
    """The arguments of :func:`bigbrain.kernels.steps.advance` for a simulation, and the
    buffers its spikes and samples go to (kept between runs while :meth:`current`)."""

    def __init__(self, sim):
        self.sim = sim
        self.block_groups, self.static_table = sim.block_groups, sim.static_table
        tables = [None] * len(KERNELS)
        for slot, group in zip(_slots([g.kernel for g in sim.block_groups]), sim.block_groups):
            tables[slot] = group.table
        self.groups = tuple(tables)
        sources = [b for b in sim.single_blocks if type(b) is SpikeSourceBlock]
        self.trains = [b.emit_step for b in sources]
        self.emit_step, self.emit_col, per_step = _source_spikes(sources)
        parrots = [(b.col0, len(b.gids)) for b in sim.single_blocks if type(b) is ParrotBlock]
        self.parrots = np.array(parrots, np.int64).reshape(-1, 2)
        neurons = sum(len(b.gids) for b in sim.blocks if b.KERNEL is not None)
        self.room = (neurons + per_step) * sim.interval
        self.out_col = np.empty(self.room + SPIKE_ROOM, np.int64)
        self.out_step = np.empty_like(self.out_col)
        self.position = source_positions(sim.static_sources, sim.local_gids)
        self.static = sim.static_table[0] if sim.static_table else None
        self.rows = [source_positions(p.sources, sim.local_gids)
                     for p in sim.plasticity.projections]
        self.sampled = [b for group in sim.block_groups for b in group.sampled]
        per_sample_step = sum(b.rec_v[0].nbytes for b in self.sampled)
        most = max(1, min(MAX_STEPS, SAMPLE_BYTES // max(per_sample_step, 1)))
        self.max_steps = max(sim.interval, most // sim.interval * sim.interval)  # whole intervals
        self.buffers = [np.zeros((self.max_steps,) + b.rec_v.shape[1:]) for b in self.sampled]
        self.samples = typed_list(list(zip((b.rec_v for b in self.sampled), self.buffers)),
                                  NO_SAMPLE)
        self.poisson = None
        self.draw_poisson()

    def current(self):
        """Whether the kernel tables and spike trains held are still the simulation's (a
        ``set`` of parameters, weights or spike times makes new ones)."""
        sources = [b for b in self.sim.single_blocks if type(b) is SpikeSourceBlock]
        return (self.block_groups is self.sim.block_groups
                and self.static_table is self.sim.static_table
                and all(t is b.emit_step for t, b in zip(self.trains, sources)))

    def draw_poisson(self):
        """Take the Poisson projections' rates (they may change between runs); a silent
        generator draws nothing."""
        drawn = [args for p in self.sim.poisson if p.groups for args in p.latest_arguments()]
        self.poisson = typed_list(drawn, NO_POISSON)

    def ready(self, step):
        """Whether every Poisson projection's rate holds for the events read from ``step``
        on (its last change lies at least the longest delay before)."""
        return all(p.rate_since() <= step - p.groups[-1][0]
                   for p in self.sim.poisson if p.groups)

    def advance(self, n_steps):
        """Advance the simulation's state by up to ``n_steps`` steps from ``sim.step``;
        returns (steps advanced, spikes' rank columns, spikes' emission steps). The sampled
        blocks' ``samples`` hold those steps' samples. Where a history row must grow, the
        interval the compiled loop stopped in is finished here (:meth:`_finish`)."""
        sim = self.sim
        n_steps = min(n_steps, self.max_steps)
        while True:
            plastic, bound = self._plastic()
            n, k, pending, start, poisson_until = steps.advance(
                sim.step, n_steps, sim.interval, *self.groups, self.emit_step, self.emit_col,
                self.parrots, self.position, self.static, plastic, self.samples, self.poisson,
                sim.poisson_until, sim.ring_ex, sim.ring_in, sim.ring_cur, self.out_col,
                self.out_step, self.room)
            sim.poisson_until = max(sim.poisson_until, poisson_until)
            if bound is not None:
                sim.plasticity.history.bound = int(bound[0])
            if n > 0 or k > 0 or pending != steps.NONE_PENDING:
                break
            self._grow()  # not even one interval's parrot spikes fit
        if pending != steps.NONE_PENDING:
            n += self._finish(start, k, pending, min(sim.interval, n_steps - n))
        for block, buffer in zip(self.sampled, self.buffers):
            block.samples = buffer[:n]
        return n, self.out_col[:k], self.out_step[:k]

    def _finish(self, start, k, pending, n):
        """Finish the interval of ``n`` steps whose spikes are entries start … k−1 of the
        buffers: grow the history, record its spikes from ``pending`` on, deliver them as
        the interval loop does; returns n."""
        sim = self.sim
        cols, emitted = self.out_col[start:k], self.out_step[start:k]
        plasticity = sim.plasticity
        plasticity.history.grow()
        plasticity.post_spikes(cols, emitted + 1, start=pending)
        sim._deliver(sim.local_gids[cols], emitted)
        return n

    def _grow(self):
        """Spike buffers twice as long."""
        self.out_col = np.empty(2 * len(self.out_col), np.int64)
        self.out_step = np.empty_like(self.out_col)

    def _plastic(self):
        """The plastic projection's arguments for :func:`bigbrain.kernels.steps.advance`
        (taken anew each call: a checkpoint's restore or a history's growth replaces
        arrays) and the history's bound in them (an array of one), or (None, None)."""
        plasticity = self.sim.plasticity
        if not plasticity.projections:
            return None, None
        proj, history = plasticity.projections[0], plasticity.history
        (h, hf, *minus), ht = history.on(plasticity.backend)
        r = proj.rule
        if proj.kplus_triplet is None:
            rule, triplet, history_triplet = (r.tau_plus, r.lambda_, r.alpha, r.mu_plus, r.mu_minus,
                                              r.Wmax), None, None
        else:  # stdp_synapse's terms are not used
            rule = (r.tau_plus, 0.0, 0.0, 0.0, 0.0, r.Wmax)
            triplet = (proj.kplus_triplet, ht, proj.exp_plus_triplet, r.tau_plus_triplet,
                       r.Aplus, r.Aminus, r.Aplus_triplet, r.Aminus_triplet)
            history_triplet = (history.kminus_triplet, history.inv_tau_minus_triplet, ht)
        bound = np.array([history.bound], np.int64)
        return (self.rows[0], proj.rows, proj.post, proj.weight, proj.delay,
                np.int64(proj.delay_all), proj.kplus, proj.t_last, proj.active,
                np.int64(proj.max_delay), tuple(map(float, rule)), np.int64(proj.mode), h, hf,
                tuple(minus), plasticity.inv_tau_minus, float(history.dt), proj.exp_plus,
                history.tracked, history.kminus, history.last_stamp,
                bound, triplet, history_triplet), bound


def _source_spikes(blocks):
    """The spikes of the spike sources ``blocks``: emission steps (ascending), rank
    columns, and the most spikes in one step."""
    emit_step = np.concatenate([b.emit_step for b in blocks] + [np.zeros(0, np.int64)])
    emit_col = np.concatenate([b.col0 + b.emit_idx for b in blocks] + [np.zeros(0, np.int64)])
    order = np.argsort(emit_step, kind="stable")
    per_step = np.unique(emit_step, return_counts=True)[1].max(initial=0)
    return emit_step[order], emit_col[order].astype(np.int64), int(per_step)
