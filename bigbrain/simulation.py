"""The per-rank simulation: build the local part of a network, then advance it.

Time advances in intervals of at most the minimum delay (in steps). In each interval a
rank adds its Poisson input to the ring buffers, updates its neurons step by step (each
step reads and clears the neuron's ring-buffer slot), and collects the spikes; the
interval's spikes are then exchanged as AER packets and delivered into the ring buffers.
A spike emitted in step n with delay d is read in step n + d ≥ the next interval's first
step, so an interval never needs input that has not yet arrived.

Poisson input is added for at least :data:`POISSON_STEPS` steps at a time (when the
minimum delay makes intervals short), never past the end of the run or of an archive
block: a checkpoint never finds input of steps after its own in the ring buffers. The
current generators' input (:mod:`bigbrain.stimulation`) is added interval by interval;
that of the superposition generators (:mod:`bigbrain.superposition`) with the Poisson input.

The build reports its stages and each projection to the logger ``bigbrain.build`` (INFO,
every rank; the command line shows rank 0's).
"""
import contextlib
import logging
import warnings
from time import perf_counter

import numpy as np

from .arrays import release_freed_memory
from .backends import select as select_backend
from .backends.memory import estimate as estimate_memory
from .errors import ModelError
from .devices import ranks_sharing
from .exchange import MAX_INTERVAL, make as make_exchange
from .fused import FusedSteps, reason as fused_reason
from .neurons import BlockGroup, PortBlock, initial_values, is_per_neuron, neuron_parameters
from .partition import make as make_partition
from .plasticity import PlasticProjection, Plasticity, PlasticRecords
from .projection import (PoissonProjection, StaticProjection, index_static, place_static,
                         source_positions, union)
from .recording import SampleRecorder, SpikeRecorder, Result
from .state import check_per_neuron
from .stimulation import CurrentProjection
from .superposition import SuperposedProjection
from .bernoulli import Bernoulli, BernoulliProjection

DEFAULT_INTERVAL_MS = 1.0
#: Steps of Poisson input drawn together at least (one Philox call gives four steps' words).
POISSON_STEPS = 16
#: Whether intervals on one rank run many at a time in compiled code (:mod:`.fused`).
FUSED = True
#: Intervals whose spikes are given to the spike recorders together.
RECORD_BATCH = 1024
#: Spikes a device's spike log holds at least (16 bytes each) when they stay on the device
#: for several intervals (:meth:`Simulation._keeps_spikes_on_device`).
LOG_SPIKES = 2**21
_NO_SPIKES = np.zeros(0, np.int64)
build_log = logging.getLogger("bigbrain.build")


class Simulation:
    """The local state of a built network on one rank and the loop that advances it."""

    def __init__(self, net, comm):
        self.net, self.comm, self.dt = net, comm, net.dt
        self.step = 0
        self._n_spikes = 0  # spikes emitted by this rank's nodes so far (read from the host)
        self._logged = 0  # intervals whose spikes are still in the device's spike log only
        self._on_device = False  # whether this run's spikes stay there (_keeps_spikes_on_device)
        build_log.info("%d neurons and %d projections on %d rank(s)",
                       net.n_nodes, len(net.connections), comm.size)
        self.partition = make_partition(net.partition, net, comm.size)
        self.backend = comm.agree(select_backend, net.backend, comm.mpi, net.device)
        comm.agree(self._check_models)
        comm.agree(self._check_memory)
        self.blocks = comm.agree(self._make_blocks)
        build_log.info("neurons placed (%s partition)", self.partition.name)
        self._block_of = {pop.name: b for pop, b in zip(net.node_populations(), self.blocks)}
        self.changed = {}  # population name -> parameters set since the build (checkpointed)
        self.reweighted = set()  # indices of static connections whose weights were set
        self.synapse_orders = {}  # connection index -> bigbrain.state.synapse_order (cache)
        self.row_orders = {}  # connection index -> (synapses by target, row starts) (cache)
        self.local_gids = np.concatenate([b.gids for b in self.blocks] + [np.zeros(0, np.int64)])
        self.static, self.poisson, plastic, self.currents, self.superposed, self.bernoulli = \
            comm.agree(self._make_projections)
        comm.agree(place_static, self.static, comm)
        self.static_sources = index_static(self.static)
        release_freed_memory()
        build_log.info("synapses placed for delivery")
        self.plasticity = Plasticity(plastic, self._tau_minus(), self.local_gids, self.dt,
                                     self._tau_minus("tau_minus_triplet"),
                                     [c.synapse for c in net.connections])
        self._warn_inexact_stdp()
        self._warn_inexact_models()
        self._set_interval()
        self.exchange = make_exchange(net.exchange, comm, self.partition, self.local_gids,
                                      union([self.static_sources] + [p.sources for p in plastic]
                                            + [p.sources for p in self.bernoulli]))
        release_freed_memory()
        build_log.info("%s exchange routes built", net.exchange)
        self._spike_recorders, self.vm_recorders = self._make_recorders()
        self._unrecorded = []  # (rank columns, stamps) of spikes not yet given to the recorders
        self.archive = None  # an ArchiveWriter (bigbrain.archive) when the run is archived
        self.progress = None  # a bigbrain.progress.Progress to report to while running
        self._fused = None  # a FusedSteps (bigbrain.fused), once a run has used one
        self._use(self.backend)

    def _check_models(self):
        """Refuse, before the build, a model that the backend has no kernel for, and
        per-neuron parameters where the model takes numbers only."""
        for pop in self.net.node_populations():
            kernel = pop.model.block.KERNEL
            if kernel is not None and not hasattr(self.backend.kernels, kernel + "_blocks"):
                raise ModelError(f"population {pop.name!r}.model", f"the {self.backend.label} "
                                 f"backend has no kernel for {pop.model.name} yet; run it with "
                                 "backend='numpy'")
            for key, value in pop.params.items():
                if key != "V_m" and key in pop.model.params and is_per_neuron(value):
                    check_per_neuron(pop, key)
        for gen in self.net.populations.values():
            if getattr(gen, "superposed", False) and self.backend.name != "numpy":
                raise ModelError(f"{gen.KIND} {gen.name!r}", f"the {self.backend.label} backend "
                                 f"has no {gen.KIND} yet; run it with backend='numpy'")
        for conn in self.net.connections:
            rule = conn.synapse
            kernel = getattr(rule, "KERNEL", None)  # a plastic rule's; bernoulli_synapse: NumPy only
            if rule is not None and not (hasattr(self.backend.kernels, kernel) if kernel
                                         else self.backend.name == "numpy"):
                raise ModelError(f"{conn.where}.synapse", f"the {self.backend.label} backend has "
                                 f"no kernel for {rule.describe()['model']} yet; run it with "
                                 "backend='numpy'")

    def _warn_inexact_stdp(self):
        """Warn (rank 0) where the GPU's STDP may differ from the CPU's in the last bit
        (bigbrain.kernels.gpu.inexact_stdp)."""
        inexact = getattr(self.backend.kernels, "inexact_stdp", None)
        if inexact is None or self.comm.rank != 0:
            return
        tau_minus = [pop.params.get("tau_minus", np.inf) for pop in self.net.node_populations()]
        for conn in self.net.connections:
            rule = conn.synapse
            why = hasattr(rule, "mu_plus") and inexact(rule.mu_plus, rule.mu_minus, rule.tau_plus,
                                               tau_minus, self.dt)
            if why:
                warnings.warn(f"connect[{conn.index}].synapse: on {self.backend.label} STDP may "
                              f"differ from backend 'numpy' in the last bit ({why})", stacklevel=4)

    def _warn_inexact_models(self):
        """Warn (rank 0) where the GPU's neuron updates may differ from the CPU's in the
        last bit (bigbrain.kernels.gpu.inexact_model)."""
        inexact = getattr(self.backend.kernels, "inexact_model", None)
        if inexact is None or self.comm.rank != 0:
            return
        for pop in self.net.node_populations():
            why = inexact(pop.model.name)
            if why:
                warnings.warn(f"population {pop.name!r}.model: on {self.backend.label} "
                              f"{pop.model.name} may differ from backend 'numpy' in the last bit "
                              f"({why})", stacklevel=4)

    def _check_memory(self):
        """Refuse, before the build, a network that cannot fit on this rank's device (or in
        its share of the node's memory). Collective: counts the ranks of this node that
        share the device first."""
        sharing = ranks_sharing(self.comm.mpi, self.backend.device)
        self.backend.check_memory(estimate_memory(self.net, self.comm.size), sharing)

    def _use(self, backend):
        """Move neuron state, synapses and ring buffers to where ``backend`` computes."""
        for part in self.blocks + self.static + self.poisson:
            part.use(backend)
        self.plasticity.use(backend)
        backend.move(self, ("ring_ex", "ring_in", "ring_cur", "ring_ports"))
        self._give_ports()
        self._make_spike_log(backend)
        self.regroup()
        self.single_blocks = [block for block in self.blocks if block.KERNEL is None]
        self.make_tables()
        # STDP on one rank whose spikes are all in the device's spike log: it stays there
        self._spikes_reside = (self.spike_log is not None and self.comm.size == 1
                               and not self.single_blocks and bool(self.plasticity.projections))
        self._device_spikes = None
        if self._spikes_reside:
            self.plasticity.reside()

    def make_tables(self):
        """The static projections' delivery tables: ``static_table`` for those into port 0
        or 1 (the rank's ring buffers), ``port_tables`` ((port, table) for each port above
        1 that projections use, in port order)."""
        table = self.backend.kernels.table
        self.static_table = table([p.arguments() for p in self.static if p.conn.receptor <= 1])
        ports = sorted({p.conn.receptor for p in self.static if p.conn.receptor > 1})
        self.port_tables = [(r, table([p.arguments() for p in self.static
                                       if p.conn.receptor == r])) for r in ports]

    def ring_of(self, receptor):
        """(ex, in) ring buffers of a receptor port: the rank's for ports 0 and 1, else
        the port's own (``ring_ports[receptor − 2]``, :mod:`bigbrain.kernels.multisynapse`)."""
        if receptor <= 1:
            return self.ring_ex, self.ring_in
        return self.ring_ports[receptor - 2, 0], self.ring_ports[receptor - 2, 1]

    def _give_ports(self):
        """Give the blocks of models with receptor ports the port ring buffers."""
        for block in self.blocks:
            if isinstance(block, PortBlock):
                block.ring_ports = self.ring_ports

    def regroup(self):
        """Group the blocks for their kernels again (after their arguments changed)."""
        self.block_groups = BlockGroup.of(self.blocks, self.backend, self.interval,
                                          self.spike_log)
        self._emission = np.zeros(len(self.local_gids), np.int64)
        blocks = [block for group in self.block_groups for block in group.blocks]
        for k, block in enumerate(blocks):
            self._emission[block.col0:block.col0 + len(block.gids)] = k
        self._emission_on_device = None  # uploaded when first needed

    def _make_spike_log(self, backend):
        """The device's spike log (None on the CPU), which the neuron kernels append the
        spikes to: room for every neuron spiking in every step of ``_log_intervals``
        intervals; ``source_of``: each column's source position for its delivery."""
        self.spike_log = self.source_of = None
        if not hasattr(backend.kernels, "spike_log"):
            return
        per_interval = max(1, len(self.local_gids) * self.interval)
        self._log_intervals = max(1, min(RECORD_BATCH, LOG_SPIKES // per_interval))
        self.spike_log = backend.kernels.spike_log(self._log_intervals * per_interval,
                                                   per_interval)
        self.source_of = backend.asarray(source_positions(self.static_sources, self.local_gids))

    def _keeps_spikes_on_device(self):
        """Whether this run's spikes may stay in the device's spike log, delivered from
        there, until read (:meth:`_read_log`): on one rank, with every population advanced
        by a kernel, and nothing that needs them on the host each interval (STDP, an
        archive, a progress report)."""
        return (self.spike_log is not None and self.comm.size == 1 and not self.single_blocks
                and not self.plasticity.projections and self.archive is None
                and self.progress is None)

    def _read_log(self):
        """Bring the spikes that stayed on the device to the host: the spike count, the
        recorders and the traffic counters (as if exchanged interval by interval)."""
        if not self._logged:
            return
        self._logged = 0
        cols, steps = self.spike_log.read()
        self._n_spikes += len(cols)
        self.exchange.exchange(cols, self.local_gids[cols], steps)
        if self._spike_recorders:
            self._unrecorded.append((cols, steps + 1))

    @property
    def n_spikes(self):
        """Spikes emitted by this rank's nodes so far."""
        self._read_log()
        return self._n_spikes

    def block_of(self, pop):
        return self._block_of[pop.name]

    def projection_of(self, conn):
        """The local projection of a static or plastic connection."""
        for proj in self.static + self.plasticity.projections + self.bernoulli:
            if proj.conn is conn:
                return proj
        raise ModelError(f"{conn.where}.weight", "weights of Poisson input cannot be read or "
                         "set (each synapse draws its own train)")

    def _make_blocks(self):
        blocks, column = [], 0
        for pop in self.net.node_populations():
            gids = self.partition.local_gids(self.comm.rank, pop.first_gid, pop.size)
            V_m = initial_values(pop.params.get("V_m", 0.0), self.net.seed, pop, gids)
            p = neuron_parameters(pop, self.net.seed, gids)
            blocks.append(pop.model.block(p, gids, column, self.dt, V_m))
            column += len(gids)
        return blocks

    def _tau_minus(self, name="tau_minus"):
        """Post-synaptic STDP time constant ``name`` (ms) of each column (inf for spike
        sources)."""
        return np.concatenate([np.broadcast_to((b.p or {}).get(name, np.inf), len(b.gids))
                               for b in self.blocks] + [np.zeros(0)])

    def columns(self, gids):
        """Ring-buffer column (local index) of locally owned gids."""
        return np.searchsorted(self.local_gids, gids)

    def _local(self, members):
        """Positions (ascending) of the members (:class:`~.population.Members`) this rank hosts."""
        return members.local_positions(self.partition, self.comm.rank)

    def _make_projections(self):
        static, poisson, plastic, currents, superposed, bernoulli = [], [], [], [], [], []
        for i, conn in enumerate(self.net.connections, 1):
            if conn.pre_gids is None:  # generators: Poisson or current
                pre_pos, post_pos, ordinal, weight, delay = conn.local_synapses(
                    self.net.seed, self.dt, self._local)
                post_gid = conn.post.members()[post_pos]
                if conn.is_current:
                    currents.append(CurrentProjection(conn, self.net.seed, self.columns(post_gid),
                                                      post_gid, ordinal, weight, delay))
                elif getattr(conn.pre, "superposed", False):
                    superposed.append(SuperposedProjection(
                        conn, self.net.seed, self.columns(post_gid), post_gid, ordinal,
                        conn.input_weight(weight), delay))
                else:
                    poisson.append(PoissonProjection(conn, self.net.seed, self.dt,
                                                     self.columns(post_gid), post_gid, ordinal,
                                                     conn.input_weight(weight), delay, pre_pos))
            elif isinstance(conn.synapse, Bernoulli):
                synapses = conn.local_synapses(self.net.seed, self.dt, self._local)
                synapses = (*synapses[:1], self.columns(conn.post.members()[synapses[1]]),
                            synapses[2], conn.input_weight(synapses[3]), synapses[4])
                bernoulli.append(BernoulliProjection(conn, synapses, self.local_gids, self.net.seed))
            elif conn.synapse is None:
                static.append(StaticProjection(conn, self._static_chunks(conn), len(self.local_gids)))
            else:
                plastic.append(PlasticProjection(conn, self._plastic_chunks(conn), len(self.local_gids)))
            release_freed_memory()
            build_log.info("projection %d/%d built: %s->%s (%s)", i, len(self.net.connections),
                           conn.pre.label, conn.post.label, conn.rule.name)
        return static, poisson, plastic, currents, superposed, bernoulli

    def _chunks(self, conn, shape, whole=False):
        """The chunks of the local synapses of a projection, as its constructor takes them:
        ``shape(pre positions, columns, ordinals, weights, delays)`` of each chunk (one chunk
        of all if ``whole``). The columns are found chunk by chunk (no table over the post
        selection), in the smallest unsigned type that holds them; ``map`` keeps no chunk
        alive while the next one is generated."""
        post, column_type = conn.post.members(), np.min_scalar_type(len(self.local_gids))

        def shaped(chunk):
            pre_pos, post_pos, ordinal, weight, delay = chunk
            return shape(pre_pos, self.columns(post[post_pos]).astype(column_type), ordinal, weight, delay)

        def chunks():
            args = self.net.seed, self.dt, self._local
            return map(shaped, [conn.local_synapses(*args)] if whole else conn.local_chunks(*args))

        return chunks

    def _static_chunks(self, conn):
        """(pre positions, columns, weights, delays) chunk by chunk (:class:`StaticProjection`)."""
        return self._chunks(conn, lambda pre_pos, post_col, _, weight, delay:
                            (pre_pos, post_col, conn.input_weight(weight), delay))

    def _plastic_chunks(self, conn):
        """(pre positions, columns, weights, delays, ordinals) chunk by chunk, each chunk's
        synapses in the order of (column, ordinal), so that each row receives the synapses of a column in
        the order of their ordinals (:class:`PlasticProjection`). A target's synapses are all
        in one chunk, unless the post selection repeats a gid (one column, several targets):
        then the synapses come as one chunk."""
        def ordered(pre_pos, post_col, ordinal, weight, delay):
            order = np.lexsort((ordinal, post_col))
            return (pre_pos[order], post_col[order],
                    *(v[order] if np.ndim(v) else v for v in (weight, delay)), ordinal[order])

        return self._chunks(conn, ordered, whole=conn.post.members().repeats())

    def _set_interval(self):
        """Interval = minimum delay (steps) over all ranks; ring buffer = maximum delay."""
        node_projections = self.static + self.plasticity.projections + self.bernoulli
        lo = [p.min_delay for p in node_projections if p.min_delay is not None]
        hi = [p.max_delay for p in node_projections if p.max_delay is not None]
        d_min = self.comm.allreduce_min(min(lo) if lo else MAX_INTERVAL)
        d_max = self.comm.allreduce_max(max(hi) if hi else 0)
        if d_max == 0:
            d_min = max(1, int(round(DEFAULT_INTERVAL_MS / self.dt)))
        self.interval = int(min(d_min, MAX_INTERVAL - 1))
        self.ring_length = int(max(d_max, self.interval))
        shape = (self.ring_length, len(self.local_gids))
        self.ring_ex = np.zeros(shape, np.int64)
        self.ring_in = np.zeros(shape, np.int64)
        self.ring_cur = np.zeros((self._current_ring_length(), shape[1]))
        ports = max([1] + [conn.receptor for conn in self.net.connections])
        self.ring_ports = np.zeros((ports - 1, 2) + shape, np.int64)

    def _current_ring_length(self):
        """Slots of the current-input ring buffer (float64, pA): one per step of an
        interval when current generators inject (:meth:`_current_input` adds an
        interval's input just before it is advanced); one while nothing does (every kernel
        then reads and clears the same zero slot)."""
        return self.interval if self.currents else 1

    def _make_recorders(self):
        by_pop = {b_pop.name: b for b_pop, b in zip(self.net.node_populations(), self.blocks)}
        spikes = [SpikeRecorder(sel.population, sel.ids, by_pop[sel.population.name])
                  for sel in self.net.spike_recordings]
        samples = [SampleRecorder(sel.population, sel.ids, by_pop[sel.population.name],
                                  max(1, int(round(sel.interval / self.dt))), sel.variables)
                   for sel in self.net.vm_recordings]
        return spikes, samples

    def run(self, n_steps):
        """Advance by ``n_steps`` steps (a collective call on all ranks)."""
        end = self.step + n_steps
        error = None
        self.poisson_until = self.step
        self._on_device = self._keeps_spikes_on_device()
        if not self._on_device:
            self._read_log()
        fused = self._fused_steps() if FUSED else None
        while self.step < end:
            horizon = end - self.step
            if self.archive is not None:
                horizon = min(horizon, self.archive.steps_to_boundary(self.step))
            if fused is not None and fused.ready(self.step):
                self._advance_fused(fused, horizon)
                continue
            n = min(self.interval, horizon)
            t0 = perf_counter()
            local_index = gids = offsets = _NO_SPIKES
            if error is None:
                try:
                    self._poisson_input(n, horizon)
                    self._current_input(n)
                    local_index, gids, offsets = self._advance(self.step, n)
                except Exception as exc:  # noqa: BLE001 - reported to all ranks by the exchange
                    error = exc
            t1 = perf_counter()
            self._n_spikes += len(gids)
            src_gid, src_off = self.exchange.exchange(local_index, gids, offsets, error)
            t2 = perf_counter()
            try:
                self._deliver(src_gid, src_off + self.step)
            except Exception as exc:  # noqa: BLE001
                error = exc
            self.step += n
            self._after_interval(n, (t1 - t0, t2 - t1, perf_counter() - t2), len(gids), error)
        self.comm.check(error)
        if self.archive is not None:
            self.archive.end_run()

    def _fused_steps(self):
        """The compiled interval loop (:mod:`.fused`) for this run, or None
        where the interval loop runs; kept between runs while its kernel tables are current
        (a learning protocol's many short runs would rebuild it each time)."""
        if fused_reason(self) is not None:
            return None
        if self._fused is None or not self._fused.current():
            self._fused = FusedSteps(self)
        else:
            self._fused.draw_poisson()
        return self._fused

    def _advance_fused(self, fused, horizon):
        """Up to ``horizon`` steps of intervals in one compiled call (:mod:`.fused`), with
        the recording and accounting of the interval loop (a call starts an interval and
        ends one, whole or cut by the horizon)."""
        t0, first = perf_counter(), self.step
        n, cols, steps = fused.advance(horizon)
        self._n_spikes += len(cols)
        self.exchange.exchange(cols, self.local_gids[cols], steps - first)  # traffic counters
        if len(cols) and self._spike_recorders:  # the compiled loop gave STDP its spikes
            self._record_out(cols.copy(), steps + 1)
        for rec in self.vm_recorders:
            rec.collect(first, n)
        self.step += n
        self.poisson_until = max(self.poisson_until, self.step)
        self._after_interval(n, (perf_counter() - t0, 0.0, 0.0), len(cols), None,
                             intervals=-(-n // self.interval))

    def _after_interval(self, n, times, n_spikes, error, intervals=1):
        """Report ``intervals`` intervals (``n`` steps; ``times``: update, exchange and
        delivery seconds; ``n_spikes`` local spikes) to the progress line and the archive."""
        if self.progress is not None:      # before the archive's block end, as telemetry counts
            self.progress.update(self)
        if self.archive is not None:
            self.archive.after_interval(n, *times, n_spikes, error, intervals)

    def _poisson_input(self, n, horizon):
        """Add the Poisson input of the steps up to the end of this interval (``n`` steps)
        that has not been added yet; with it, that of the steps after, up to
        :data:`POISSON_STEPS` in all, as far as the ring buffers and ``horizon`` allow."""
        start, need = self.poisson_until, self.step + n
        if need <= start:
            return
        stop = min(self.step + horizon, self.step + self.ring_length,
                   max(need, start + POISSON_STEPS))
        together = getattr(self.backend.kernels, "batched_poisson", contextlib.nullcontext)
        with together():  # on a device: one launch for all projections
            for proj in self.poisson:
                proj.inject(start, stop - start, *self.ring_of(proj.receptor))
        for proj in self.superposed:
            proj.inject(start, stop - start, self.ring_ex, self.ring_in)
        self.poisson_until = stop

    def _current_input(self, n):
        """Add the current generators' input read in this interval's ``n`` steps, in the
        order of the connections; computed on the host (and uploaded for a GPU)."""
        if not self.currents:
            return
        on_host = self.backend.xp is np
        ring = self.ring_cur if on_host else np.zeros(self.ring_cur.shape)
        for proj in self.currents:
            proj.inject(self.step, n, ring)
        if not on_host:
            self.ring_cur[...] = self.backend.asarray(ring)

    def _advance(self, t0, n):
        """Neuron updates and recording for steps t0 … t0+n−1; returns the interval's spikes
        (rank columns, gids, step offsets)."""
        rings = self.ring_ex, self.ring_in, self.ring_cur
        self._device_spikes = None
        if self._on_device and self._logged == self._log_intervals:
            self._read_log()
        spiking = []
        for group in self.block_groups:
            spikes = group.update(*rings, t0, n)
            if spikes is not None and len(spikes[0]):
                spiking.append(spikes)
        if self._on_device:
            self._logged += 1
        elif self.spike_log is not None:
            cols, steps = self.spike_log.read()
            if len(cols):
                spiking.append(self._cpu_order(cols, steps - t0))
                if self._spikes_reside:
                    if self._emission_on_device is None:
                        self._emission_on_device = self.backend.asarray(self._emission)
                    self._device_spikes = self.spike_log.in_order(self._emission_on_device)
        for block in self.single_blocks:
            idx, offsets = block.update(*rings, t0, n)
            if len(idx):
                spiking.append((block.col0 + idx, offsets))
        for rec in self.vm_recorders:
            rec.collect(t0, n)
        if not spiking:
            return _NO_SPIKES, _NO_SPIKES, _NO_SPIKES
        # one part: a view of a buffer that the next update overwrites (copied when kept)
        cols, offsets = spiking[0] if len(spiking) == 1 else map(np.concatenate, zip(*spiking))
        if self._spike_recorders or self.plasticity.projections:
            self._spikes_out(cols.copy() if self._spike_recorders else cols, offsets + (t0 + 1))
        return cols, self.local_gids[cols], offsets

    def _cpu_order(self, cols, offsets):
        """Spikes of the spike log (rank columns, step offsets) in the order of the CPU's
        kernels: group, population, step, neuron."""
        order = np.lexsort((cols, offsets, self._emission[cols]))
        return cols[order], offsets[order]

    def _spikes_out(self, cols, stamps):
        """Give spikes (rank columns ``cols``, kept; time stamps ``stamps``, steps) to the
        spike recorders (:meth:`_record_out`) and to STDP."""
        self._record_out(cols, stamps)
        self.plasticity.post_spikes(cols, stamps, on_device=None if self._device_spikes is None
                                    else self._device_spikes[::2])

    def _record_out(self, cols, stamps):
        """Give spikes to the spike recorders, in batches of :data:`RECORD_BATCH`."""
        if self._spike_recorders:
            self._unrecorded.append((cols, stamps))
            if len(self._unrecorded) == RECORD_BATCH:
                self._record_spikes()

    def _record_spikes(self):
        """Give the spikes of the intervals since the last call to the spike recorders."""
        if self._unrecorded:
            cols, stamps = (np.concatenate(parts) for parts in zip(*self._unrecorded))
            self._unrecorded = []
            for rec in self._spike_recorders:
                rec.collect(cols, stamps)

    @property
    def spike_recorders(self):
        """The spike recorders, holding every spike so far."""
        self._read_log()
        self._record_spikes()
        return self._spike_recorders

    def _deliver(self, src_gid, src_step):
        if self._on_device:
            self.backend.kernels.deliver_log(self.spike_log, self.source_of, self.static_table,
                                             self.ring_ex, self.ring_in)
        spikes = self._device_spikes  # (columns, steps, stamps) there, or None
        if len(src_gid) and self.static:
            if spikes is not None:  # positions and steps from the device's own spikes
                index, step = self.backend.kernels.gather(self.source_of, spikes[0]), spikes[1]
            else:  # positions and steps: one copy to a device
                index, step = self.backend.asarray(np.stack(
                    [source_positions(self.static_sources, src_gid), src_step]))
            self.backend.kernels.deliver_table(index, step, self.static_table, self.ring_ex,
                                               self.ring_in)
            for port, table in self.port_tables:
                self.backend.kernels.deliver_table(index, step, table, *self.ring_of(port))
        self.plasticity.deliver(src_gid, src_step, self.ring_ex, self.ring_in,
                                None if spikes is None else spikes[:2])
        for proj in self.bernoulli:
            proj.deliver(src_gid, src_step, self.ring_ex, self.ring_in)

    def result(self):
        """The records so far, gathered on every rank (collective); read from the archive
        when there is one."""
        if self.archive is not None:
            return self.archive.result()
        spikes = {rec.population.name: rec.gather(self.comm) for rec in self.spike_recorders}
        samples = {rec.population.name: rec.gather(self.comm) for rec in self.vm_recorders}
        return Result(self.dt, spikes, samples, {p.name: p for p in self.net.node_populations()},
                      PlasticRecords(self))

    def n_synapses(self):
        return (sum(len(p) for p in self.static) + sum(len(p) for p in self.poisson)
                + sum(len(p) for p in self.currents) + len(self.plasticity))

