"""STDP at run time: plastic projections, the post-synaptic spike history, the weight recorder.

Everything lives on the rank of the post-synaptic neuron, so the only traffic STDP needs
is the pre-synaptic spikes (AER packets), as for static synapses.

Memory layout (per rank):

* :class:`PlasticProjection`, rows by source gid: ``ptr`` (int32, or int64 beyond 2^31
  synapses, per needed source),
  per synapse only ``weight`` (float64) and ``post`` (ring-buffer column, uint16 or
  uint32), plus ``delay`` (uint8/uint16) when delays differ. Synapses are sorted by
  (source gid, post column, ordinal). The pre-synaptic trace K+ and the last spike stamp
  depend only on the source's spikes, so they are kept once per row (``kplus`` float64,
  ``t_last`` int64), not per synapse.
* :class:`PostHistory`: per neuron one row holding its recent post-synaptic spikes, newest
  first (stamp, and K− just after the spike), and what one synaptic event needs besides
  (kernels/stdp.py), plus the trace K−, its last stamp and ``tau_minus``. Entries are
  dropped once no synapse can need them (older than every row's last pre spike minus the
  delay; the newest such entry is kept for K−), which, as in NEST, keeps the history of a
  neuron as long as one of its sources is silent; rows grow when one is full of entries
  still needed. With ``stdp_triplet_synapse`` projections on the network, each entry also
  has K−₃ just after the spike (``tau_minus_triplet``) in a second array ``ht``, and each
  row its trace K+₃ (``kplus_triplet``); without, neither exists.

On a GPU the synapses and row traces live on the device; the history is kept on the host
and copied over each interval, or, on a rank whose spikes are all in the device's spike
log, also kept on the device (:class:`DeviceHistory`: nothing copied per interval).

Deviation from NEST: none known in the arithmetic; time differences are computed as
(stamp difference) · dt instead of from NEST's tic-based ms values (differences ~1e-16
relative).
"""
import numpy as np

from .backends import NUMPY
from .errors import ModelError
from .kernels import csr
from .kernels import stdp as kernel
from .kernels.exp_tables import exp_div, per_column
from .projection import SourceRows, source_positions
from .stdp import PlasticRule, TripletSTDP

INITIAL_CAPACITY = 10
#: Bytes of a cache line: history rows start on one.
CACHE_LINE = 64
#: Entries of each table of exp(−m·dt/tau) the CPU kernel reads (512 KiB).
EXP_TABLE_LENGTH = 1 << 16


class PostHistory:
    """Spikes of this rank's neurons that are targets of plastic synapses, and their traces
    (layout: :mod:`bigbrain.kernels.stdp`)."""

    def __init__(self, tau_minus, tracked, dt, tau_minus_triplet=None):
        n = len(tau_minus)
        self.dt = dt
        self.tracked = tracked
        self.inv_tau_minus = 1.0 / tau_minus
        self.minus_tables = per_column(dt, self.inv_tau_minus, EXP_TABLE_LENGTH)
        self.kminus = np.zeros(n)
        self.last_stamp = np.zeros(n, np.int64)
        self.triplet = tau_minus_triplet is not None
        if self.triplet:
            self.inv_tau_minus_triplet = 1.0 / tau_minus_triplet
            self.kminus_triplet = np.zeros(n)
        self._allocate(INITIAL_CAPACITY)
        self.bound = np.iinfo(np.int64).min

    def _allocate(self, capacity):
        """Empty rows for ``capacity`` entries each, each row starting on a cache line."""
        self.h = _line_aligned_zeros((len(self.kminus), kernel.stamp_at(capacity)))
        self.h[:, kernel.MEMO_STAMP] = np.iinfo(np.int64).min
        self.hf = self.h.view(np.float64)
        self.ht = np.zeros((len(self.kminus), capacity)) if self.triplet else None

    def record(self, cols, stamps, bound, start=0):
        """Append post spikes ``start:`` (ring-buffer columns, stamps); ``bound()``: the
        stamp at or below which no facilitation will need an entry (asked for only when a
        row is full; it never decreases)."""
        i = self._record(cols, stamps, start)
        while i < len(cols):
            latest = bound()
            if latest > self.bound:
                self.bound = latest
            else:
                self.grow()
            i = self._record(cols, stamps, i)

    def _record(self, cols, stamps, start):
        args = (cols, stamps, start, self.tracked, self.kminus, self.last_stamp,
                self.inv_tau_minus, self.dt, self.bound, self.h, self.hf)
        if not self.triplet:
            return kernel.record_post_spikes(*args)
        return kernel.record_post_spikes(*args, (self.kminus_triplet, self.inv_tau_minus_triplet,
                                                 self.ht))

    def grow(self):
        """Room for more entries per row (:func:`_larger`)."""
        old, old_t = self.h, self.ht
        self._allocate(_larger(kernel.capacity(old)))
        self.h[:, :old.shape[1]] = old
        if self.triplet:
            self.ht[:, :old_t.shape[1]] = old_t

    def entries(self):
        """(column, stamp, K−) of every entry, newest first within a column."""
        first, held = kernel.stamp_at(0), self._held()
        return (np.nonzero(held)[0], self.h[:, first::2][held], self.hf[:, first + 1::2][held])

    def triplet_entries(self):
        """K−₃ of every entry, in the order of :meth:`entries` (triplet histories only)."""
        return self.ht[self._held()]

    def _held(self):
        return np.arange(kernel.capacity(self.h)) < self.h[:, kernel.SIZE, None]

    def restore(self, cols, stamps, kminus, kminus_triplet=None):
        """Hold exactly the entries (column, stamp, K−, K−₃ if triplet; any order)."""
        order = np.lexsort((-stamps, cols))
        cols, stamps, kminus = cols[order], stamps[order], kminus[order]
        counts = np.bincount(cols, minlength=len(self.kminus))
        capacity = INITIAL_CAPACITY
        while capacity <= counts.max(initial=0):
            capacity = _larger(capacity)
        self._allocate(capacity)
        self.h[:, kernel.SIZE] = counts
        j = np.arange(len(cols)) - (np.cumsum(counts) - counts)[cols]
        self.h[cols, kernel.stamp_at(j)] = stamps
        self.hf[cols, kernel.stamp_at(j) + 1] = kminus
        if self.triplet:
            self.ht[cols, j] = kminus_triplet[order]
        self.bound = np.iinfo(np.int64).min

    def on(self, backend):
        """(h, hf, K− tables, their starts and lengths per column) and ``ht`` (None without
        triplet projections) for ``backend``'s kernels: h and ht as its arrays (copied to a
        device once per interval: the history is appended to on the host, in spike order;
        see :class:`DeviceHistory` for a rank that avoids it), the tables on the host (a
        device's kernels read their own, longer ones)."""
        h = backend.asarray(self.h)
        ht = None if self.ht is None else backend.asarray(self.ht)
        return (h, h.view(np.float64), *self.minus_tables), ht


def _larger(capacity):
    """The next row capacity: 2·capacity − 2 entries. Rows of 10, 18, 34, 66 … entries
    are 3, 5, 9, 17 … cache lines (2^k + 1): an odd number of lines spreads the rows'
    first lines, which every synaptic event reads, over all sets of the caches, where rows
    of 2^k lines would crowd them into a 2^k-th of the sets."""
    return 2 * capacity - 2


def _line_aligned_zeros(shape):
    """Zeros (int64) whose first element starts a cache line (NumPy's large arrays start
    16 bytes into one, so every row of a history would straddle two lines)."""
    words, per_line = int(np.prod(shape)), CACHE_LINE // 8
    buffer = np.zeros(words + per_line, np.int64)
    start = (-(buffer.ctypes.data // 8)) % per_line
    return buffer[start:start + words].reshape(shape)


class DeviceHistory:
    """A device's copy of a :class:`PostHistory`, for a rank whose spikes are in the
    device's spike log (one rank, every population advanced by a device kernel).

    The host keeps recording into its own history (exact, and what checkpoints save); the
    device repeats each interval's recording into its copy from the spikes it holds
    (kernels/cuda/stdp.cu: ``stdp_record_post``), so the STDP kernels read the history
    without any upload. Only where the host's recording had to drop entries by a new
    bound or to grow the rows (rare: a row full) is the host's history uploaded again."""

    def __init__(self, history, backend, inv_tau_minus):
        self.history, self.backend, self.inv_tau_minus = history, backend, inv_tau_minus
        put = backend.asarray
        self.tracked = put(history.tracked.astype(np.uint8))
        self.inv_tau_minus_triplet = put(history.inv_tau_minus_triplet) if history.triplet else None
        self.push()

    def push(self):
        """Upload the host's history and traces."""
        h, put = self.history, self.backend.asarray
        self.h, self.kminus, self.last_stamp = put(h.h), put(h.kminus), put(h.last_stamp)
        self.hf = self.h.view(np.float64)
        self.ht = put(h.ht) if h.triplet else None
        self.kminus_triplet = put(h.kminus_triplet) if h.triplet else None
        self.shape = h.h.shape

    def record(self, cols, stamps, bound_before):
        """Repeat the host's recording of this interval's spikes (device arrays: columns,
        stamps) in the device's copy; upload instead where it changed the bound or grew."""
        h = self.history
        if h.bound != bound_before or h.h.shape != self.shape:
            self.push()
            return
        triplet = ((self.kminus_triplet, self.inv_tau_minus_triplet, self.ht)
                   if h.triplet else None)
        self.backend.kernels.record_post_spikes(
            cols, stamps, self.tracked, h.bound, self.h, self.hf,
            (self.kminus, self.last_stamp, self.inv_tau_minus, h.dt), triplet)

    def arrays(self):
        """As :meth:`PostHistory.on`: the device's copy, nothing uploaded."""
        return (self.h, self.hf, *self.history.minus_tables), self.ht


class PlasticProjection(SourceRows):
    """STDP synapses of one connection onto this rank's neurons, in rows by source gid.

    ``chunks()`` yields the synapses as :class:`~bigbrain.projection.SourceRows` takes
    them, each chunk ordered by (column, ordinal) and a target's synapses all in one chunk:
    the rows then need only a stable sort by column (:func:`~bigbrain.kernels.csr.sort_rows`;
    nothing to do when the chunks come in column order) to be in the order of (source gid,
    column, ordinal).
    """

    backend = NUMPY

    def __init__(self, conn, chunks, n_columns):
        self.rule = conn.synapse
        self.mode = (kernel.DELIVER_WEIGHT if not conn.into_parrots else
                     kernel.DELIVER_COUNT if conn.receptor == 0 else kernel.DELIVER_NOTHING)
        self._count(conn, lambda: (c[:4] for c in chunks()))
        ordinal = self._ordinals(chunks, n_columns)
        self._place(lambda: (c[:4] for c in chunks()), n_columns, np.empty(int(self.ptr[-1])))
        csr.sort_rows(self.ptr, self.post, self.weight, self.delay)
        self.variables = synapse_variables(self.rule, ordinal, len(self.post))
        self.rule.check_weights(f"{conn.where}.weight", self.weight)
        span = len(self.ptr) - 1
        self.kplus = np.full(span, self.rule.initial_kplus)
        self.t_last = np.zeros(span, np.int64)
        self.kplus_triplet = (np.full(span, self.rule.Kplus_triplet)
                              if isinstance(self.rule, TripletSTDP) else None)
        self.active = np.diff(self.ptr) > 0
        self.rows = self.ptr
        self.recorder = None

    def _ordinals(self, chunks, n_columns):
        """The ordinal of each synapse in storage order, where the rule gives values per
        synapse (arrays indexed by ordinal, ``rule="explicit"``); else None."""
        if not getattr(self.rule, "per_synapse", None):
            return None
        ordinal = np.empty(int(self.ptr[-1]))
        self._place(lambda: ((p, c, o, d) for p, c, _, d, o in chunks()), n_columns, ordinal)
        csr.sort_rows(self.ptr, self.post, ordinal, self.delay)
        return ordinal.astype(np.int64)

    def __len__(self):
        return len(self.post)

    def source_gids(self):
        """Gids with at least one synapse here (they must be routed to this rank)."""
        return self.row_gids(np.flatnonzero(self.active))

    def row_gids(self, rows):
        """Source gid of each row: the rows (and K+, t_last) are the sources this rank
        needs (``sources``, ascending), not the pre selection's whole gid range."""
        return self.sources[rows].astype(np.int64)

    def history_bound(self):
        """Stamp at or below which no post spike can still potentiate a synapse here."""
        if not self.active.any() or not self.rule.needs_history:
            return np.iinfo(np.int64).max
        return int(self.backend.to_host(self.t_last)[self.active].min()) - self.max_delay

    def use(self, backend):
        """Compute with ``backend`` (:mod:`bigbrain.backends`): move the synapses and row
        traces there; ``ptr`` stays on the host, ``rows`` is its copy there (int64 where
        the backend is not NumPy's)."""
        self.rows = self.ptr if backend is NUMPY else self.ptr.astype(np.int64)
        backend.move(self, ("rows", "post", "weight", "delay", "kplus", "t_last")
                     + (("kplus_triplet",) if self.kplus_triplet is not None else ()))
        rec = self.recorder or NO_RECORDER  # its arrays where the kernel reads them, once
        flags = rec.row_flag if backend is NUMPY else rec.row_flag.astype(np.uint8)
        self.recorder_arrays = (backend.asarray(flags), backend.asarray(rec.synapses))
        self.variables = {n: backend.asarray(v) for n, v in self.variables.items()}

    def deliver(self, src_gid, src_step, history, inv_tau_minus, dt, ring_ex, ring_in,
                on_device=None):
        """Deliver spikes (in time order) through the synapses, updating the weights.
        ``history``: :meth:`PostHistory.on` this projection's backend. ``on_device``: the
        same spikes as device arrays (rank columns, steps), in the same order, which the
        device then groups itself (only the number of groups is passed)."""
        rec = self.recorder or NO_RECORDER
        src_row = source_positions(self.sources, src_gid)
        n_events = rec.bound(src_row)
        rows, steps, groups = src_row, src_step, {}
        if on_device is not None:
            held = src_row[(src_row >= 0) & (src_row < len(self.ptr) - 1)]
            rows = self.backend.kernels.gather(self.row_of_column, on_device[0])
            steps = on_device[1]
            groups = {"n_groups": len(np.unique(held))}
        zeros = self.backend.zeros
        out = (zeros(n_events, np.int64), zeros(n_events, np.int64), zeros(n_events))
        r, (h, ht) = self.rule, history
        if self.variables:
            n = self.backend.kernels.deliver_tsodyks(
                src_row, src_step, np.int64(0), self.rows, self.post, self.weight, self.delay,
                np.int64(self.delay_all), self.t_last, dt, *self.variables.values(), self.mode,
                ring_ex, ring_in, rec.row_flag, rec.synapses, *out)
            if self.recorder is not None:
                self.recorder.add(*(self.backend.to_host(a[:n]) for a in out))
            return
        if self.kplus_triplet is None:
            pair, triplet = (r.lambda_, r.alpha, r.mu_plus, r.mu_minus), ()
        else:  # stdp_synapse's terms are not used
            pair = (0.0, 0.0, 0.0, 0.0)
            triplet = ((self.kplus_triplet, ht, self.exp_plus_triplet, r.tau_plus_triplet, r.Aplus,
                        r.Aminus, r.Aplus_triplet, r.Aminus_triplet),)
        n = getattr(self.backend.kernels, r.KERNEL)(
            rows, steps, np.int64(0), self.rows, self.post, self.weight, self.delay,
            np.int64(self.delay_all), self.kplus, self.t_last, *h, inv_tau_minus, dt,
            self.exp_plus, r.tau_plus, *pair, r.Wmax,
            self.mode, ring_ex, ring_in, *self.recorder_arrays, *out, *triplet, **groups)
        if self.recorder is not None and n:
            self.recorder.add(*(self.backend.to_host(a[:n]) for a in out))

    def weights(self):
        """The weights (float64, storage order) on the host."""
        return self.backend.to_host(self.weight)

    def host_arrays(self):
        """(weight, K+, last stamp) on the host."""
        return tuple(self.backend.to_host(a) for a in (self.weight, self.kplus, self.t_last))

    def host_kplus_triplet(self):
        """K+₃ of each row on the host (zeros for an ``stdp_synapse`` projection)."""
        if self.kplus_triplet is None:
            return np.zeros(len(self.ptr) - 1)
        return self.backend.to_host(self.kplus_triplet)

    def host_variables(self):
        """{name: per-synapse values on the host} of the rule's synapse variables
        (:data:`bigbrain.tsodyks.VARIABLES`; empty for STDP)."""
        return {n: self.backend.to_host(v) for n, v in self.variables.items()}

    def synapse_rows(self):
        """Row (see :meth:`row_gids`) of every synapse, in storage order."""
        return np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))

    def synapse_keys(self, local_gids):
        """(post gid, pre gid, multapse) of every synapse, in storage order; ``multapse``
        numbers the synapses of one (pre, post) pair in the order of their ordinals."""
        pre_gid = self.row_gids(self.synapse_rows())
        post_gid = local_gids[self.backend.to_host(self.post)]
        first = np.r_[True, (pre_gid[1:] != pre_gid[:-1]) | (post_gid[1:] != post_gid[:-1])]
        start = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
        return post_gid, pre_gid, np.arange(len(first)) - start

    def nbytes(self):
        """Bytes held for the synapses and their rows."""
        extra = (() if self.kplus_triplet is None else (self.kplus_triplet,)) + tuple(
            self.variables.values())
        return sum(a.nbytes for a in (self.post, self.weight, self.delay, self.rows,
                                      self.kplus, self.t_last, self.active, *extra))


def synapse_variables(rule, ordinal, n):
    """{name: float64 per synapse} of the rule's per-synapse variables (none for STDP):
    each a number repeated, or an array indexed by the synapses' ``ordinal``."""
    out = {}
    for name in getattr(rule, "VARIABLES", ()):
        value = getattr(rule, name)
        out[name] = (np.asarray(value, np.float64)[ordinal] if np.ndim(value)
                     else np.full(n, float(value)))
    return out


class WeightRecorder:
    """NEST's ``weight_recorder`` for chosen synapses of one plastic projection: at each
    pre-synaptic spike delivery it records (stamp, synapse, weight after the update)."""

    def __init__(self, synapses, n_rows, row_of):
        self.synapses = np.sort(np.asarray(synapses, np.int64))
        self.per_row = np.bincount(row_of[self.synapses], minlength=n_rows)
        self.row_flag = self.per_row > 0
        self.stamps, self.syn, self.weights = [], [], []

    def bound(self, rows):
        """Most events the spikes of ``rows`` can record."""
        ok = (rows >= 0) & (rows < len(self.per_row))
        return int(self.per_row[rows[ok]].sum())

    def add(self, stamps, syn, weights):
        self.stamps.append(stamps)
        self.syn.append(syn)
        self.weights.append(weights)

    def events(self):
        cat = lambda parts, dt: np.concatenate(parts + [np.zeros(0, dt)])  # noqa: E731
        return cat(self.stamps, np.int64), cat(self.syn, np.int64), cat(self.weights, np.float64)

    def drain(self):
        """The events so far (as :meth:`events`), forgetting them (the archive streams them)."""
        out = self.events()
        self.stamps, self.syn, self.weights = [], [], []
        return out


NO_RECORDER = WeightRecorder(np.zeros(0, np.int64), 0, np.zeros(0, np.int64))


class Plasticity:
    """The plastic projections of one rank and the spike history of their targets."""

    def __init__(self, projections, tau_minus, local_gids, dt, tau_minus_triplet, rules=()):
        """``tau_minus``, ``tau_minus_triplet``: the post-synaptic trace time constants (ms)
        of each column (the second is used only with triplet projections). ``rules``: the
        synapse models of all the network's connections (checkpoints hold the per-synapse
        variables of any of them, under the same names on every rank)."""
        self.projections, self.local_gids = projections, local_gids
        self.variables = []
        for rule in rules:
            self.variables += [n for n in getattr(rule, "VARIABLES", ()) if n not in self.variables]
        stdp = [proj for proj in projections if proj.rule.needs_history]
        n = len(local_gids) if stdp else 0  # no STDP here: no history rows
        tracked = np.zeros(n, bool)
        for proj in stdp:
            tracked[proj.post] = True
        self.triplet = any(proj.kplus_triplet is not None for proj in projections)
        self.history = PostHistory(tau_minus[:n], tracked, dt,
                                   tau_minus_triplet[:n] if self.triplet else None)
        self.backend, self.inv_tau_minus = NUMPY, self.history.inv_tau_minus
        for proj in projections:
            self._attach_recorder(proj)
            if not proj.rule.needs_history:
                continue
            proj.exp_plus = exp_div(dt, proj.rule.tau_plus, EXP_TABLE_LENGTH)
            if proj.kplus_triplet is not None:
                proj.exp_plus_triplet = exp_div(dt, proj.rule.tau_plus_triplet, EXP_TABLE_LENGTH)

    def use(self, backend):
        """Compute with ``backend``: move the synapses; the spike history stays on the
        host and is copied over at each delivery (:meth:`PostHistory.on`) unless
        :meth:`reside` keeps a copy on the device."""
        self.backend, self.inv_tau_minus = backend, backend.asarray(self.history.inv_tau_minus)
        self.device = None
        for proj in self.projections:
            proj.use(backend)

    def reside(self):
        """Keep the spike history on the device too (:class:`DeviceHistory`), for a rank
        whose spikes are all in the device's spike log: :meth:`post_spikes` and
        :meth:`deliver` are then also given them there, and nothing is uploaded."""
        if not self.projections or self.backend is NUMPY:
            return
        self.device = DeviceHistory(self.history, self.backend, self.inv_tau_minus)
        for proj in self.projections:
            proj.row_of_column = self.backend.asarray(source_positions(proj.sources,
                                                                       self.local_gids))

    def _attach_recorder(self, proj):
        chosen = proj.conn.recorded_weights
        if chosen is None:
            return
        post_gid, pre_gid, _ = proj.synapse_keys(self.local_gids)
        pre_pos, post_pos = proj.conn.positions(pre_gid, post_gid)
        pick = np.isin(pre_pos, chosen[0]) & np.isin(post_pos, chosen[1])
        row_of = np.repeat(np.arange(len(proj.ptr) - 1), np.diff(proj.ptr))
        proj.recorder = WeightRecorder(np.flatnonzero(pick), len(proj.ptr) - 1, row_of)

    def __len__(self):
        return sum(len(p) for p in self.projections)

    def post_spikes(self, cols, stamps, start=0, on_device=None):
        """Record the spikes ``start:`` (ring-buffer columns, stamps) of this rank's neurons;
        ``on_device``: the same spikes as device arrays (any order), where the history
        resides there too (:meth:`reside`)."""
        if len(self.history.tracked):
            bound = self.history.bound
            self.history.record(cols, stamps, lambda: min(p.history_bound() for p in self.projections),
                                start)
            if self.device is not None:
                self.device.record(*on_device, bound)

    def deliver(self, src_gid, src_step, ring_ex, ring_in, on_device=None):
        """Deliver received spikes through every plastic projection, in time order;
        ``on_device``: where the history resides on the device (:meth:`reside`), the same
        spikes there as (rank columns, steps), already in time order."""
        if not self.projections:
            return
        order = np.argsort(src_step, kind="stable")
        src_gid, src_step = src_gid[order], src_step[order]
        history = (self.history.on(self.backend) if self.device is None
                   else self.device.arrays())  # (h, hf, K− tables …), ht
        for proj in self.projections:
            proj.deliver(src_gid, src_step, history, self.inv_tau_minus, self.history.dt,
                         ring_ex, ring_in, on_device)

    def projection(self, conn):
        for proj in self.projections:
            if proj.conn is conn:
                return proj
        raise ModelError("weights", f"{conn.where} has no plastic synapses (synapse=bb.STDP(...))")

    def gather_weights(self, comm, conn):
        """(pre positions, post positions, weights) of every synapse of ``conn``, on every
        rank (collective), sorted by (post, pre, multapse).

        One int64 key, post gid · span + (pre gid − gid_lo) over the source gid range, and
        the weight travel per synapse: the synapses of one (pre, post) pair are all on the
        rank of post, in multapse order, so a stable sort by key keeps that order."""
        proj = self.projection(conn)
        gid_lo, span = conn.source_range()
        span = max(span, 1)
        key = self.local_gids[proj.backend.to_host(proj.post)] * np.int64(span)
        key += proj.row_gids(proj.synapse_rows()) - gid_lo
        key, w = comm.allgather_array(key), comm.allgather_array(proj.host_arrays()[0])
        order = np.argsort(key, kind="stable")
        key, w = key[order], w[order]
        del order
        post_gid, pre_offset = np.divmod(key, np.int64(span))
        del key
        pre_pos, post_pos = conn.positions(pre_offset + gid_lo, post_gid)
        return pre_pos, post_pos, w

    def gather_weight_events(self, comm):
        """For each recorded connection: (stamps, pre positions, post positions, weights)
        on every rank (collective), sorted by (stamp, post, pre, multapse)."""
        out = {}
        for proj in self.recorded():
            parts = [comm.allgather_array(a) for a in self.keyed_events(proj, proj.recorder.events())]
            out[proj.conn.index] = sorted_events(proj.conn, parts)
        return out

    def recorded(self):
        """The plastic projections with a weight recorder."""
        return [proj for proj in self.projections if proj.recorder is not None]

    def keyed_events(self, proj, events):
        """(stamps, post gid, pre gid, multapse, weights) of recorder events (stamps, synapse
        index, weights) of ``proj`` on this rank."""
        stamps, syn, w = events
        post_gid, pre_gid, multapse = (a[syn] for a in proj.synapse_keys(self.local_gids))
        return stamps, post_gid, pre_gid, multapse, w

    def state_arrays(self):
        """This rank's plastic state, keyed so that it can be restored on any number of ranks.

        ``synapse/*``: connection index, post gid, pre gid, multapse (see
        :meth:`PlasticProjection.synapse_keys`) and weight of each local plastic synapse;
        ``row/*``: connection index, pre gid, K+ and last spike stamp (steps) of each source
        with local synapses (the same on every rank that has the row); ``neuron/*``: gid,
        K− and last spike stamp of each local post-synaptic neuron; ``history/*``: gid,
        stamp and K− after the spike of the retained post-synaptic spike history; with
        tsodyks_synapse connections ``synapse/<U, tau_psc, …, u>`` (NaN for STDP synapses). With
        triplet projections also ``row/kplus_triplet`` (0 for ``stdp_synapse`` rows),
        ``neuron/kminus_triplet`` and ``history/kminus_triplet``.
        """
        syn = {k: [] for k in ("connection", "post_gid", "pre_gid", "multapse", "weight")}
        row = {k: [] for k in ("connection", "pre_gid", "kplus", "t_last", "kplus_triplet")}
        variables = self.variables
        syn.update({name: [] for name in variables})
        for proj in self.projections:
            keys = proj.synapse_keys(self.local_gids)
            weight, kplus, t_last = proj.host_arrays()
            for name, value in zip(("post_gid", "pre_gid", "multapse", "weight"), (*keys, weight)):
                syn[name].append(value)
            held = proj.host_variables()
            for name in variables:
                syn[name].append(held.get(name, np.full(len(proj), np.nan)))
            syn["connection"].append(np.full(len(proj), proj.conn.index, np.int64))
            rows = np.flatnonzero(proj.active)
            for name, value in zip(("pre_gid", "kplus", "t_last", "kplus_triplet"),
                                   (proj.row_gids(rows), kplus[rows], t_last[rows],
                                    proj.host_kplus_triplet()[rows])):
                row[name].append(value)
            row["connection"].append(np.full(len(rows), proj.conn.index, np.int64))
        h = self.history
        owner, stamp, k = h.entries()
        if not self.triplet:
            del row["kplus_triplet"]
        out = {f"synapse/{n}": _cat(v) for n, v in syn.items()}
        out.update({f"row/{n}": _cat(v) for n, v in row.items()})
        cols = np.flatnonzero(h.tracked)
        out.update({"neuron/gid": self.local_gids[cols], "neuron/kminus": h.kminus[cols],
                    "neuron/last_stamp": h.last_stamp[cols], "history/gid": self.local_gids[owner],
                    "history/stamp": stamp, "history/kminus": k})
        if self.triplet:
            out.update({"neuron/kminus_triplet": h.kminus_triplet[cols],
                        "history/kminus_triplet": h.triplet_entries()})
        return out

    def restore_state_arrays(self, saved):
        """Set the state from :meth:`state_arrays` of any number of ranks (concatenated);
        each rank keeps what belongs to its synapses, rows and neurons."""
        for proj in self.projections:
            index = proj.conn.index
            local = np.column_stack([np.full(len(proj), index), *proj.synapse_keys(self.local_gids)])
            keys = np.column_stack([saved[f"synapse/{n}"] for n in
                                    ("connection", "post_gid", "pre_gid", "multapse")])
            weight, kplus, t_last = proj.host_arrays()
            at = _match(keys, local, "synapse")
            weight[:] = saved["synapse/weight"][at]
            proj.variables = {n: saved[f"synapse/{n}"][at] for n in proj.variables}
            rows = np.flatnonzero(proj.active)
            keys = np.column_stack([saved["row/connection"], saved["row/pre_gid"]])
            at = _match(keys, np.column_stack([np.full(len(rows), index), proj.row_gids(rows)]), "row")
            kplus[rows], t_last[rows] = saved["row/kplus"][at], saved["row/t_last"][at]
            proj.weight, proj.kplus, proj.t_last = weight, kplus, t_last
            if proj.kplus_triplet is not None:
                kplus_triplet = proj.host_kplus_triplet()
                kplus_triplet[rows] = saved["row/kplus_triplet"][at]
                proj.kplus_triplet = kplus_triplet
            proj.use(proj.backend)
        h = self.history
        cols = np.flatnonzero(h.tracked)
        at = _match(saved["neuron/gid"][:, None], self.local_gids[cols][:, None], "neuron")
        h.kminus[cols], h.last_stamp[cols] = saved["neuron/kminus"][at], saved["neuron/last_stamp"][at]
        mine = np.isin(saved["history/gid"], self.local_gids[cols])
        col = np.searchsorted(self.local_gids, saved["history/gid"][mine])
        k3 = None
        if self.triplet:
            h.kminus_triplet[cols] = saved["neuron/kminus_triplet"][at]
            k3 = saved["history/kminus_triplet"][mine]
        h.restore(col, saved["history/stamp"][mine], saved["history/kminus"][mine], k3)
        if self.device is not None:
            self.device.push()

    def nbytes(self):
        """(bytes held for plastic synapses and their rows, number of plastic synapses)."""
        return sum(p.nbytes() for p in self.projections), len(self)


def sorted_events(conn, parts):
    """Keyed events of all ranks (see :meth:`Plasticity.keyed_events`) as (stamps, pre
    positions, post positions, weights) sorted by (stamp, post, pre, multapse)."""
    order = np.lexsort(tuple(parts[3::-1]))
    stamps, post_gid, pre_gid, _, w = (a[order] for a in parts)
    return (stamps, *conn.positions(pre_gid, post_gid), w)


def _match(saved, local, what):
    """Row of ``saved`` (n × k int64 keys) equal to each row of ``local``."""
    as_bytes = lambda a: np.ascontiguousarray(a, np.int64).view(f"V{8 * a.shape[1]}").ravel()  # noqa: E731
    saved_b, local_b = as_bytes(saved), as_bytes(local)
    order = np.argsort(saved_b, kind="stable")
    at = order[np.searchsorted(saved_b, local_b, sorter=order).clip(0, max(len(order) - 1, 0))]
    if len(local_b) and (len(order) == 0 or not np.array_equal(saved_b[at], local_b)):
        raise ModelError("checkpoint", f"plastic state: some {what} keys are missing")
    return at


def _cat(parts):
    return np.concatenate(parts) if parts else np.zeros(0)



class PlasticRecords:
    """What a :class:`~bigbrain.recording.Result` offers about plastic synapses: final
    weights (gathered on request, a collective call) and weight-recorder events."""

    def __init__(self, simulation):
        self.simulation, self.step = simulation, simulation.step
        self.events = simulation.plasticity.gather_weight_events(simulation.comm)

    def connection(self, pre, post, what):
        """The plastic connection given as itself, or by its pre and post selections."""
        conns = [c for c in self.simulation.net.connections if isinstance(c.synapse, PlasticRule)]
        if post is None and pre in conns:
            return pre
        sel = self.simulation.net._selection
        pre_gids = sel(pre, f"{what}.pre").gids()
        post_gids = sel(post, f"{what}.post").gids() if post is not None else None
        found = [c for c in conns if np.array_equal(c.pre_gids, pre_gids)
                 and (post_gids is None or np.array_equal(c.post.gids(), post_gids))]
        if len(found) != 1:
            raise ModelError(what, f"{len(found)} plastic connections match; pass the connection "
                             "returned by connect")
        return found[0]

    def weights(self, pre, post=None):
        conn = self.connection(pre, post, "weights")
        if self.simulation.step != self.step:
            raise ModelError("weights", "the network has run on since this result was made; "
                             "use the latest result")
        return self.simulation.plasticity.gather_weights(self.simulation.comm, conn)

    def weight_events(self, pre, post=None):
        conn = self.connection(pre, post, "weight_events")
        if conn.index not in self.events:
            raise ModelError("weight_events", f"{conn.where} was not recorded (record_weights)")
        stamps, pre_pos, post_pos, w = self.events[conn.index]
        return stamps * self.simulation.dt, pre_pos, post_pos, w
