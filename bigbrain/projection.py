"""Projections: the synapses of one ``connect`` call that end on this rank's neurons.

A :class:`Connection` is the description (the same on every rank). Building it on a rank
generates the local synapses (:mod:`.connectivity`) and stores them compactly:

* :class:`StaticProjection` (sources are nodes): compressed rows by source — row
  pointers, one per source that this rank needs, numbered by position among the rank's
  needed sources (nothing grows with the whole network), kept in blocks of 64 rows (an
  int32 pointer per block unless the projection has 2^31 synapses on the rank, and a
  1-byte offset per row where rows are short: :class:`~.kernels.csr.BlockPointers`),
  ``post`` (ring-buffer
  column, uint16 or uint32), weights (one fixed-point int64 for the projection when it is
  homogeneous, else one int32 per synapse with a shift per projection, see
  :mod:`.kernels.fixed_point`) and delays (one uint8/uint16 per synapse unless homogeneous).
* :class:`PoissonProjection` (sources are Poisson generators): one entry per synapse with
  its target column, gid, ordinal, delay and weight; the events are drawn every step.
"""
import math

import numpy as np

from .arrays import INT32_MAX, distinct, find, id_type
from .backends import NUMPY
from .connectivity import Explicit
from .distributions import Distribution, Stream
from .errors import ModelError
from .kernels import csr, poisson
from .kernels.csr import merged_counts
from .kernels.fixed_point import INVERSE_SCALE, MAX_WEIGHT, quantize, to_fixed, weight_shift
from .kernels.philox import key_words, purpose_word
from .spatial import Space, is_spatial
from .stdp import PlasticRule
from .streams import Purpose
from .synapse import SynapseModel

MAX_DELAY_STEPS = 65535
#: Poisson inversion tables kept per projection (one per rate, about 33 KiB each).
TABLES_KEPT = 8


class Connection:
    """One ``connect`` call: pre and post selections, rule, weight, delay, synapse model."""

    def __init__(self, index, pre, post, rule, weight, delay, allow_autapses, allow_multapses,
                 synapse, dt, receptor=0):
        self.index, self.pre, self.post, self.rule = index, pre, post, rule
        self.weight, self.delay, self.synapse, self.receptor = weight, delay, synapse, receptor
        self.allow_autapses, self.allow_multapses = bool(allow_autapses), bool(allow_multapses)
        self.where = f"connect[{index}] {pre.label}->{post.label}"
        self.is_poisson = getattr(pre, "is_poisson", False)
        self.is_current = getattr(pre, "is_current", False)  # a current generator
        self.pre_gids = None if getattr(pre, "is_device", False) else pre.members()
        self.recorded_weights = None
        self.space = Space(self.where, pre, post) if any(
            is_spatial(v) for v in (weight, delay)) or getattr(rule, "spatial", False) else None
        self.network = None  # the Network, set by Network.connect (for get / set)
        self._check_values(dt)
        self._check_synapse()
        rule.check(self)
        if hasattr(self.synapse, "check"):   # bernoulli_synapse: its values per synapse
            self.synapse.check(self)

    def _check_values(self, dt):
        if np.ndim(self.weight) > 0 or np.ndim(self.delay) > 0:
            if not isinstance(self.rule, Explicit):
                name = "weight" if np.ndim(self.weight) > 0 else "delay"
                raise ModelError(f"{self.where}.{name}", "arrays of values need rule='explicit'")
        check_weights(f"{self.where}.weight", self.weight)
        if not isinstance(self.delay, Distribution) and not is_spatial(self.delay):
            delays = np.asarray(self.delay)
            if delays.dtype.kind not in "iuf":
                raise ModelError(f"{self.where}.delay", f"must be a number of ms, got {self.delay!r}")
            bad = np.flatnonzero(~np.isfinite(delays.ravel()))
            if bad.size:
                at = f"[{bad[0]}]" if delays.ndim else ""
                raise ModelError(f"{self.where}.delay{at}", f"must be a finite number of ms, got "
                                 f"{delays.ravel()[bad[0]]}")
        lo, hi = (self.delay.bounds(self.space.max_distance) if is_spatial(self.delay)
                  else value_bounds(self.delay))
        if math.isfinite(lo) and round(lo / dt) < 1:
            raise ModelError(f"{self.where}.delay", f"delay {lo} ms is below the resolution "
                             f"dt = {dt} ms (at least one step is needed)")
        if math.isfinite(hi) and round(hi / dt) > MAX_DELAY_STEPS:
            raise ModelError(f"{self.where}.delay", f"delay {hi} ms exceeds {MAX_DELAY_STEPS} steps")

    def _check_synapse(self):
        if self.synapse is not None and not isinstance(self.synapse, SynapseModel):
            raise ModelError(f"{self.where}.synapse", f"expected None (static), bb.STDP(...), "
                             f"bb.TripletSTDP(...), bb.TsodyksSynapse(...) or bb.Bernoulli(...), "
                             f"got {self.synapse!r}")
        arrays = getattr(self.synapse, "per_synapse", ())
        if arrays and not isinstance(self.rule, Explicit):
            raise ModelError(f"{self.where}.synapse.{arrays[0]}", "arrays of values need "
                             "rule='explicit'")
        if self.synapse is not None and self.pre_gids is None:
            kind = "plastic" if isinstance(self.synapse, PlasticRule) else self.synapse.model
            raise ModelError(f"{self.where}.synapse", f"{self.pre.KIND} cannot have {kind} "
                             "synapses here (connect it to parrots first)")
        if self.synapse is not None and not isinstance(self.weight, Distribution):
            self.synapse.check_weights(f"{self.where}.weight", np.ravel(self.weight))
        parrots = [pop.model.name == "parrot_neuron" for pop in self.post.populations()]
        if any(parrots) and self.is_current:
            raise ModelError(f"{self.where}.post", "parrot neurons take spikes, not currents")
        if any(parrots) and not all(parrots):
            raise ModelError(f"{self.where}.post", "connect parrot neurons and other neurons "
                             "in separate calls")
        self._check_receptor()

    def _check_receptor(self):
        """NEST's receptor_type, for each target population: a port 1 … P of a model with
        ports (spikes; currents come on port 0), else 0, or 1 for parrots; ports above 1
        take static synapses and Poisson input (their own ring buffers), and a model that
        refuses negative weights gets none."""
        r, field = self.receptor, f"{self.where}.receptor"
        if not isinstance(r, (int, np.integer)) or isinstance(r, bool):
            raise ModelError(field, f"NEST's receptor_type must be an integer, got {r!r}")
        for pop in self.post.populations():
            ports = 0 if self.is_current else pop.model.ports(pop.params)
            if ports and not 1 <= r <= ports:
                raise ModelError(field, f"receptor_type {r} is not a port of population "
                                 f"{pop.name!r} ({pop.model.name} with ports 1 … {ports})")
            if not ports and not (r == 0 or (r == 1 and pop.model.name == "parrot_neuron")):
                raise ModelError(field, f"receptor_type must be 0 for population {pop.name!r} "
                                 f"({pop.model.name}), or 1 for parrot_neuron targets (input "
                                 f"not repeated), got {r!r}")
            if ports and pop.model.NON_NEGATIVE_WEIGHTS:
                self._check_non_negative(pop)
        if r > 1 and (self.synapse is not None or getattr(self.pre, "superposed", False)):
            raise ModelError(field, f"receptor_type {r}: ports above 1 take static synapses "
                             "and poisson input only")

    def _check_non_negative(self, pop):
        """Refuse weights below 0 into ``pop`` (NEST: conductances of multisynapse models)."""
        w = self.weight
        lo = (w.bounds()[0] if isinstance(w, Distribution) else
              0.0 if is_spatial(w) or np.size(w) == 0 else float(np.min(w)))
        if lo < 0:
            raise ModelError(f"{self.where}.weight", f"must be >= 0 nS into {pop.model.name} "
                             f"population {pop.name!r} (NEST refuses negative conductance "
                             f"weights), got {lo}")

    def get(self, name):
        """``Network.get(self, name)``: every synapse's ``weight``, on every rank."""
        return self.network.get(self, name)

    def set(self, **params):
        """``Network.set(self, **params)``: set ``weight`` (a number, an array in the order
        of ``Result.weights`` or a distribution)."""
        return self.network.set(self, **params)

    def normalise(self, total, w_max):
        """Scale each target's plastic weights to sum to ``total``, clipped to [0, ``w_max``],
        on each target's rank (``Network.normalise(self, total, w_max)``)."""
        return self.network.normalise(self, total, w_max)

    @property
    def into_parrots(self):
        return self.post.populations()[0].model.name == "parrot_neuron" if len(self.post) else False

    def input_weight(self, weight):
        """The static weight that reaches the targets: ``weight``, or for parrots one spike
        (port 0) or nothing (port 1); parrots count spikes and ignore weights, as in NEST."""
        if not self.into_parrots:
            return weight
        return 1.0 if self.receptor == 0 else 0.0

    def positions(self, pre_gid, post_gid):
        """Positions in the pre and post selections of synapses given by gids."""
        return self.pre_gids.positions(pre_gid), self.post.members().positions(post_gid)

    def local_synapses(self, seed, dt, owned):
        """Generate this rank's synapses: (pre_pos, post_pos, ordinal, weight, delay_steps).

        ``owned(members)`` tells which of the post selection's members
        (:class:`~.population.Members`) this rank hosts: their positions (ascending), or a
        boolean mask over all. Weight and delay are scalars when
        homogeneous, else per-synapse float64 / int64 arrays.
        """
        parts = list(self.local_chunks(seed, dt, owned))
        return (*(np.concatenate([p[j] for p in parts]) for j in range(3)),
                *(_joined([p[j] for p in parts]) for j in (3, 4)))

    def local_chunks(self, seed, dt, owned):
        """:meth:`local_synapses` chunk by chunk (:meth:`.connectivity.Rule.chunks`: chunks
        of targets, in order, about ``SYNAPSES_PER_CHUNK`` synapses each, or of sources for
        ``fixed_outdegree``; at least one chunk, maybe empty)."""
        post_gids = self.post.members()
        local = np.asarray(owned(post_gids))
        local = np.flatnonzero(local) if local.dtype == bool else local
        for pre_pos, post_pos, ordinal in self.rule.chunks(self, seed, local, post_gids):
            yield (pre_pos, post_pos, ordinal,
                   *self._weight_delay(seed, dt, post_gids[post_pos], ordinal, pre_pos, post_pos))
            del pre_pos, post_pos, ordinal  # free this chunk before the next is drawn

    def _weight_delay(self, seed, dt, target_gids, ordinal, pre_pos, post_pos):
        weight = self._values(self.weight, Purpose.WEIGHT, seed, target_gids, ordinal, pre_pos, post_pos)
        delay = self._values(self.delay, Purpose.DELAY, seed, target_gids, ordinal, pre_pos, post_pos)
        delay_steps = np.rint(np.asarray(delay) / dt).astype(np.int64)
        if np.ndim(delay_steps) and delay_steps.size and delay_steps.min() < 1:
            raise ModelError(f"{self.where}.delay", f"a delay drawn from {_shown(self.delay)} is "
                             f"below the resolution dt = {dt} ms")
        if np.ndim(delay_steps) and delay_steps.size and delay_steps.max() > MAX_DELAY_STEPS:
            raise ModelError(f"{self.where}.delay", f"a delay drawn for a synapse exceeds "
                             f"{MAX_DELAY_STEPS} steps")
        if np.ndim(weight):
            check_weights(f"{self.where}.weight", weight)
        return weight, delay_steps

    def source_range(self):
        """(lowest source gid, number of gids up to the highest): the rows of a projection."""
        if not len(self.pre_gids):
            return 0, 0
        lo = self.pre_gids.min()
        return lo, self.pre_gids.max() + 1 - lo

    def _values(self, value, purpose, seed, target_gids, ordinal, pre_pos, post_pos):
        if is_spatial(value):
            return value(self.space.distance(pre_pos, post_pos))
        if isinstance(value, Distribution):
            return value.sample(Stream(seed, purpose, self.index), target_gids, ordinal)
        if np.ndim(value) > 0:
            return np.asarray(value, np.float64)[ordinal]
        return float(value)

    def describe(self):
        from .distributions import describe
        return {"pre": self.pre.describe() if self.pre_gids is not None else
                [{"poisson" if self.is_poisson else "device": self.pre.name}],
                "post": self.post.describe(), **self.rule.describe(),
                "weight": describe(self.weight), "delay": describe(self.delay),
                "allow_autapses": self.allow_autapses, "allow_multapses": self.allow_multapses,
                "synapse": None if self.synapse is None else self.synapse.describe(),
                "receptor": self.receptor}


def _shown(distribution):
    """``normal(mean=0.4, std=0.2)``: a distribution as a message shows it."""
    d = distribution.describe()
    return f"{d.pop('distribution')}({', '.join(f'{k}={v}' for k, v in d.items())})"


def value_bounds(value):
    if isinstance(value, Distribution):
        return value.bounds()
    arr = np.asarray(value, np.float64)
    if arr.size == 0:
        return math.inf, math.inf
    return float(arr.min()), float(arr.max())


def check_weights(field, weight):
    if isinstance(weight, Distribution):
        return
    arr = np.asarray(weight, np.float64)
    if arr.size and not (np.all(np.isfinite(arr)) and np.abs(arr).max() < MAX_WEIGHT):
        raise ModelError(field, f"weights must be finite and below {MAX_WEIGHT:g} in magnitude")


def _joined(values):
    """One scalar if the chunks' values are scalars, else the concatenated arrays."""
    return values[0] if np.ndim(values[0]) == 0 else np.concatenate(values)


class _Range:
    """Smallest and largest of values seen chunk by chunk (scalars or arrays)."""

    def __init__(self):
        self.lo, self.hi, self.scalar = None, None, True

    def add(self, values):
        values = np.asarray(values)
        self.scalar = values.ndim == 0
        if values.size:
            lo, hi = values.min(), values.max()
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)

    @property
    def homogeneous(self):
        """All values equal (or none): no per-synapse array needed."""
        return self.scalar or self.lo == self.hi


def row_type(n_synapses):
    """Row pointers' type: int32 up to 2^31 − 1 synapses (4 bytes per needed source), else
    int64. The device kernels take int64 (:meth:`StaticProjection.use`)."""
    return np.int32 if n_synapses <= INT32_MAX else np.int64


#: Source gids (4 or 8 B each) that a :class:`Tally` gathers before it sorts them into a run.
TALLY_BATCH = 1 << 22


class Tally:
    """Synapses per source gid, counted chunk by chunk: the chunks' gids are gathered into
    batches of up to :data:`TALLY_BATCH`, each sorted in place (NumPy's vectorised sort)
    and counted into a sorted run (:func:`~bigbrain.kernels.csr.runs_in_place`), merged
    with the last run while that is at most twice as long (a binary counter: O(n log
    batches) work). In memory: one batch, the runs, and one merge's result; no array
    over the gid range, no sort of all tallies together. (Runs of single chunks, merged,
    cost 8–12 times the batch's sort where the gids are spread over 10^9.)"""

    def __init__(self):
        self.runs, self.synapses = [], 0
        self._batch, self._held = np.zeros(0, np.int32), 0

    def add(self, gids):
        self.synapses += len(gids)
        if not len(gids):
            return
        dtype = id_type(int(gids.max()))
        if self._held and (self._held + len(gids) > TALLY_BATCH
                           or np.promote_types(dtype, self._batch.dtype) != self._batch.dtype):
            self._sort_batch()
        if not self._held:
            self._batch = np.empty(0, dtype)
        self._batch.resize(self._held + len(gids), refcheck=False)  # grown in place where it can
        self._batch[self._held:] = gids
        self._held += len(gids)

    def _sort_batch(self):
        """The gathered gids as one more run (merged as a binary counter)."""
        if not self._held:
            return
        batch, self._batch, self._held = self._batch, np.zeros(0, np.int32), 0
        batch.sort()
        run = csr.runs_in_place(batch, row_type(self.synapses))
        while self.runs and len(self.runs[-1][0]) <= 2 * len(run[0]):
            run = merged_counts(self.runs.pop(), run)
        self.runs.append(run)

    def result(self):
        """(distinct gids ascending, number of synapses of each)."""
        self._sort_batch()
        while len(self.runs) > 1:
            last = self.runs.pop()
            self.runs.append(merged_counts(self.runs.pop(), last))
        return self.runs.pop() if self.runs else (np.zeros(0, id_type(0)), np.zeros(0, row_type(0)))

    def rows(self):
        """(distinct gids ascending, their rows' pointers in blocks,
        :class:`~bigbrain.kernels.csr.BlockPointers` of :func:`row_type`): the last merge
        writes the pointers directly (no array of counts or of full pointers), and it is the
        merge of the largest run with all the others: the one of the count pass's peak."""
        self._sort_batch()
        dtype = row_type(self.synapses)
        if len(self.runs) < 2:
            sources, counts = self.result()
            return sources, csr.BlockPointers(csr.pointers(counts, dtype))
        largest = self.runs.pop(0)  # merged last, with all the others merged
        return csr.merged_rows(largest, self.result(), dtype)


class SourceRows:
    """Synapses in compressed rows by source, built from chunks in two passes.

    ``chunks()`` yields the local synapses chunk by chunk, as (pre positions, ring-buffer
    columns, weights, delays in steps), weights and delays scalar or per synapse; it is
    called twice, so the build never holds more than the final rows and one chunk:
    :meth:`_count` counts the synapses of each row (``ptr``) and the range of their delays,
    :meth:`_place` stores them, each row's in the order the chunks give them.

    Rows are one per source with a synapse here: ``sources``, the ascending gids that this
    rank needs (int32 below 2^31 − 1, :func:`~bigbrain.arrays.id_type`), row = position
    in ``sources`` (as NEST's fifth-generation kernel indexes them; ``gid_lo``, 0 here, is
    the first row's position), so that nothing grows with the whole network.
    """

    def _count(self, conn, chunks, weight_key=None):
        """First pass: ``sources``, ``ptr``, the delays (``min_delay``, ``max_delay``,
        ``delay_all``) and, if ``weight_key`` is given, the range of ``weight_key(weights)``
        (``weight_range``). Each chunk's sources are tallied (O(chunk)), never over the
        whole gid range."""
        self.conn, self.gid_lo = conn, 0
        per_source, self.weight_range, delays = Tally(), _Range(), _Range()
        for pre_pos, _, weight, delay in chunks():
            per_source.add(conn.pre_gids[pre_pos])
            if weight_key is not None:
                self.weight_range.add(weight_key(weight))
            delays.add(delay)
            del pre_pos, weight, delay  # free this chunk before the next is drawn
        self.sources, rows = per_source.rows()
        self._set_rows(rows)
        del rows
        self.delay_all = int(delays.lo) if delays.lo is not None else 0
        self.min_delay = None if delays.lo is None else int(delays.lo)
        self.max_delay = None if delays.hi is None else int(delays.hi)
        self._one_delay = delays.homogeneous

    def _set_rows(self, rows):
        """Keep the row pointers (``rows``, :class:`~bigbrain.kernels.csr.BlockPointers`)
        as ``ptr``."""
        self.ptr = rows.pointers()

    def _row_blocks(self):
        """The row pointers in blocks (:class:`~bigbrain.kernels.csr.BlockPointers`)."""
        return csr.BlockPointers(self.ptr)

    def synapse_sources(self):
        """Source gid of every synapse, in storage order."""
        ptr = self.ptr
        return self.sources[self.gid_lo + np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))].astype(np.int64)

    def _place(self, chunks, n_columns, weight, weight_value=None):
        """Second pass: store the columns (``post``), the delays unless they are all equal
        (``delay``, else empty) and ``weight_value(weights)`` of each chunk into ``weight``
        (the final per-synapse array, or empty: none; ``weight_value`` None: the weights)."""
        fill = csr.RowFill(self._row_blocks())
        n = fill.rows.total()
        self.post = np.empty(n, np.uint16 if n_columns <= 65536 else np.uint32)
        self.weight = weight
        delay_type = np.uint8 if (self.max_delay or 0) < 256 else np.uint16
        self.delay = np.zeros(0 if self._one_delay else n, delay_type)
        for pre_pos, post_col, w, delay in chunks():
            at = fill.slots(self.sources, self.conn.pre_gids[pre_pos])  # rows: positions there
            self.post[at] = post_col
            if weight.size:
                weight[at] = w if weight_value is None else weight_value(w)
            if self.delay.size:
                self.delay[at] = delay
            del pre_pos, post_col, w, delay, at  # free this chunk before the next is drawn


class StaticProjection(SourceRows):
    """Static synapses from nodes onto this rank's neurons, in rows by source gid
    (:class:`SourceRows`): the constructor counts the synapses of each row, then
    :meth:`place` (given the weight range over all ranks, see :func:`place_static`) stores
    them. The row pointers are kept in blocks (``row_starts``,
    :class:`~bigbrain.kernels.csr.BlockPointers`: about 1 byte per source where rows are
    short); ``ptr`` reads and sets them as full pointers.
    """

    backend = NUMPY
    device_ptr = None

    @property
    def ptr(self):
        """The row pointers (host, the type of ``rows.base``)."""
        return self.row_starts.pointers()

    @ptr.setter
    def ptr(self, ptr):
        self.row_starts = csr.BlockPointers(ptr)

    def _set_rows(self, rows):
        self.row_starts = rows

    def _row_blocks(self):
        return self.row_starts

    def __init__(self, conn, chunks, n_columns):
        self._chunks, self._n_columns = chunks, n_columns
        self._count(conn, chunks, to_fixed)

    def place(self, lo, hi):
        """Store the synapses (second pass). ``lo``, ``hi``: the smallest and largest
        fixed-point weight of the projection on all ranks (lo > hi: no synapse on any)."""
        one_weight = self._set_weight_scale(lo, hi)
        weight = np.zeros(0 if one_weight else self.row_starts.total(), np.int32)
        self._place(self._chunks, self._n_columns, weight,
                    lambda w: quantize(to_fixed(w), self.shift))
        del self._chunks  # the chunk generator refers to the whole simulation

    def _set_weight_scale(self, lo, hi):
        """Set ``shift``, the same on every rank given the projection's weight range there:
        0 if its weights are all equal, else the smallest at which its largest magnitude
        fits int32. If this rank's weights are all equal (no per-synapse weights here), set
        ``weight_all`` to their fixed-point value, quantized at ``shift`` like the others'.
        Returns whether they are."""
        self.shift = 0 if lo >= hi else weight_shift(max(abs(lo), abs(hi)))
        local = self.weight_range
        self.weight_all = 0
        if local.homogeneous and local.lo is not None:
            self.weight_all = int(quantize(local.lo, self.shift)) << self.shift
        return local.homogeneous

    def weight_range_of(self, weights):
        """The range (:class:`_Range`) of float64 weights in fixed point."""
        self.weight_range = _Range()
        self.weight_range.add(to_fixed(weights))
        return self.weight_range

    def set_weights(self, weights, lo, hi):
        """Replace the weights by ``weights`` (float64, storage order), their fixed-point
        range over all ranks being [lo, hi] (after :meth:`weight_range_of`)."""
        one_weight = self._set_weight_scale(lo, hi)
        self.weight = (np.zeros(0, np.int32) if one_weight else
                       quantize(to_fixed(weights), self.shift).astype(np.int32))

    def weights(self):
        """The weights (float64, storage order) that the synapses deliver."""
        if self.weight.size:
            fixed = self.backend.to_host(self.weight).astype(np.int64) << self.shift
        else:
            fixed = np.full(len(self), self.weight_all, np.int64)
        return fixed * INVERSE_SCALE

    def synapse_rows(self):
        """Row (source gid − gid_lo) of every synapse, in storage order."""
        ptr = self.ptr
        return np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))

    def __len__(self):
        return len(self.post)

    def source_gids(self):
        """Gids with at least one synapse here (they must be routed to this rank)."""
        rows = self.gid_lo + np.flatnonzero(np.diff(self.ptr))
        return self.sources[rows].astype(np.int64)

    def index_by(self, sources):
        """Number the rows by position in ``sources`` (ascending gids, all of this
        projection's among them; shared by the rank's static projections): the rows become
        positions ``gid_lo`` … of ``sources``, empty where a source has no synapse here, so
        that the ``deliver`` kernel takes the spikes' positions in ``sources`` as gids."""
        mine, n = self.sources, len(self.sources)
        self.gid_lo, self.sources = (int(np.searchsorted(sources, mine[0])) if n else 0), sources
        if not n or sources[self.gid_lo + n - 1] == mine[-1]:
            return  # its sources are consecutive there: the rows stay as they are
        at = find(sources, mine) - self.gid_lo
        counts = np.zeros(int(at[-1]) + 1, np.int64)
        ptr = self.ptr
        counts[at] = np.diff(ptr)
        self.ptr = csr.pointers(counts, ptr.dtype)

    def use(self, backend):
        """Compute with ``backend`` (:mod:`bigbrain.backends`): move the synapses there (and
        where the backend is not NumPy's, full int64 row pointers, ``device_ptr``; the
        host keeps ``row_starts``)."""
        self.device_ptr = None if backend is NUMPY else backend.asarray(self.ptr.astype(np.int64))
        backend.move(self, ("post", "weight", "delay"))

    def arguments(self):
        """This projection's arguments of the backend's ``deliver`` kernel, after the spikes:
        the rows as ``row_starts.base, row_starts.offset`` on the CPU, as ``device_ptr`` elsewhere."""
        rows = ((self.row_starts.base, self.row_starts.offset) if self.device_ptr is None else
                (self.device_ptr,))
        return (np.int64(self.gid_lo), *rows, self.post, self.weight, np.int64(self.shift),
                np.int64(self.weight_all), self.delay, np.int64(self.delay_all))

    def nbytes(self):
        return self.post.nbytes + self.weight.nbytes + self.delay.nbytes + self.row_starts.nbytes


def place_static(projections, comm):
    """Store the synapses of this rank's static projections (:meth:`StaticProjection.place`),
    with each projection's weight range over all ranks (:func:`weight_limits`)."""
    for proj, limits in zip(projections, weight_limits([p.weight_range for p in projections], comm)):
        proj.place(*limits)


def weight_limits(ranges, comm):
    """(smallest, largest) fixed-point weight over all ranks of each local weight range
    (collective: one allreduce of the largest −weight and weight; a rank without synapses
    contributes the int64 minimum, and lo > hi then means no synapse on any rank)."""
    none = np.iinfo(np.int64).min
    local = np.array([(none, none) if r.lo is None else (-int(r.lo), int(r.hi))
                      for r in ranges], np.int64).reshape(-1, 2)
    return [(-minus_lo, hi) for minus_lo, hi in comm.allreduce_max_array(local).tolist()]


def index_static(projections):
    """The ascending gids of every source of this rank's static ``projections``; each
    projection's rows numbered by position in them (:meth:`StaticProjection.index_by`).
    Spikes go to the ``deliver`` kernel as :func:`source_positions` in them."""
    sources = _joined_in_place(projections)
    if sources is None:
        sources = union([p.sources for p in projections])
    for proj in projections:
        proj.index_by(sources)
    offset_types = [p.row_starts.offset.dtype.type for p in projections]
    widest = max(offset_types, key=csr.OFFSET_TYPES.index, default=None)
    for proj, kind in zip(projections, offset_types):  # one type: they stay in one kernel table
        if kind is not widest:
            proj.row_starts = csr.BlockPointers(proj.ptr, widest)
    return sources


def _joined_in_place(projections):
    """The projections' sources joined where they do not overlap (projections from
    different populations) and are of one type: the first's array grown in place (no
    copy of the largest) and the others' copied after it, each projection's sources now
    a view of its part. None where they overlap or differ in type (see :func:`union`)."""
    own = sorted((p for p in projections if len(p.sources)), key=lambda p: p.sources[0])
    if (len(own) < 2 or len({p.sources.dtype for p in own}) > 1 or not own[0].sources.flags.owndata
            or any(a.sources[-1] >= b.sources[0] for a, b in zip(own, own[1:]))):
        return None
    sizes = [len(p.sources) for p in own]
    joined = own[0].sources
    joined.resize(sum(sizes), refcheck=False)
    at = 0
    for proj, n in zip(own, sizes):
        if at:
            joined[at:at + n] = proj.sources
        proj.sources = joined[at:at + n]
        at += n
    return joined


def union(arrays):
    """The distinct values of ascending int64 arrays, ascending (one array: itself);
    without a sort where the arrays do not overlap (projections from different
    populations)."""
    arrays = sorted((a for a in arrays if len(a)), key=lambda a: a[0])
    if len(arrays) <= 1:
        return arrays[0] if arrays else np.zeros(0, np.int64)
    joined = np.concatenate(arrays)
    if all(a[-1] < b[0] for a, b in zip(arrays, arrays[1:])):
        return joined
    return distinct(joined)


def source_positions(sources, gids):
    """Position in ``sources`` (ascending) of each of ``gids``; −1 for a gid not there."""
    at = find(sources, gids)
    found = at < len(sources)
    found[found] = sources[at[found]] == gids[found]
    return np.where(found, at, -1)


class PoissonProjection:
    """Poisson generators onto this rank's neurons: one independent train per synapse.

    The rate is the generator's schedule (:mod:`bigbrain.schedule`) in the step the
    events are generated in (n = s − delay for the step s they are read in). An injection
    whose generation steps all have one rate is one kernel call; one that crosses a rate
    change is split into calls per delay (the synapses are kept sorted by delay) and per
    piece of constant rate. Where the group has one rate per generator (``source``: each
    synapse's generator), a piece is one call per distinct rate, on the synapses that
    have it. Counts are integers and each synapse draws from its own stream, so the
    splits change no bit.
    """

    backend = NUMPY

    def __init__(self, conn, seed, dt, post_col, post_gid, ordinal, weight, delay_steps, source):
        n = len(post_col)
        delay = np.broadcast_to(np.asarray(delay_steps, np.int64), (n,))
        order = np.argsort(delay, kind="stable")
        self.post, self.post_gid = post_col.astype(np.int64)[order], post_gid.astype(np.int64)[order]
        self.ordinal = ordinal.astype(np.int64)[order]
        self.source = np.asarray(source, np.int64)[order]   # host: groups synapses by rate
        self._by_rate, self._distinct = (None, {}), 0
        self.weight = np.broadcast_to(to_fixed(weight), (n,))[order].copy()
        self.delay = delay[order].copy()
        cuts = np.flatnonzero(np.diff(self.delay)) + 1
        self.groups = [(int(self.delay[a]), int(a), int(b)) for a, b in
                       zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [n]])) if b > a]
        self.gen, self.dt, self.where, self.receptor = conn.pre, dt, conn.where, conn.receptor
        self._tables = {}
        self._table_of = poisson.bernoulli_cdf if getattr(conn.pre, "per_step", "poisson") \
            == "bernoulli" else poisson.poisson_cdf       # the count per step: its inversion table
        self.key = key_words(seed)
        self.c2 = purpose_word(Purpose.POISSON, conn.index)

    def __len__(self):
        return len(self.post)

    def use(self, backend):
        """Compute with ``backend`` (:mod:`bigbrain.backends`): move the synapses there."""
        backend.move(self, ("post", "post_gid", "ordinal", "delay", "weight"))
        self._tables, self._by_rate = {}, (None, {})

    def tables(self, rate):
        """(cdf, guide) of Poisson(rate·dt) (Bernoulli(rate·dt) for generators with
        ``per_step="bernoulli"``) where the backend computes, cached for the
        last :data:`TABLES_KEPT` rates (a protocol may go through thousands), more where
        the generators' rates differ (as many more as the last rates had distinct values)."""
        if rate not in self._tables:
            lam = rate * self.dt * 1e-3
            if lam > 700:
                raise ModelError(f"{self.where}.rate", "rate·dt above 700 events per step is not supported")
            if len(self._tables) >= TABLES_KEPT + self._distinct:
                del self._tables[next(iter(self._tables))]
            self._tables[rate] = tuple(map(self.backend.asarray, self._table_of(lam)))
        return self._tables[rate]

    def inject(self, t0, n_steps, ring_ex, ring_in):
        """Add the events read in steps t0 … t0+n_steps−1."""
        if not self.groups:
            return
        schedule = self.gen.schedules["rate"]
        lo, hi = t0 - self.groups[-1][0], t0 + n_steps - 1 - self.groups[0][0]
        pieces = schedule.pieces(lo, hi)
        if len(pieces) == 1:
            self._piece(t0, n_steps, 0, len(self.post), pieces[0][2], ring_ex, ring_in)
            return
        for delay, a, b in self.groups:
            for first, last, rate in schedule.pieces(t0 - delay, t0 + n_steps - 1 - delay):
                self._piece(first + delay, last - first + 1, a, b, rate, ring_ex, ring_in)

    def _piece(self, t0, n_steps, a, b, rate, ring_ex, ring_in):
        """The events of synapses a … b−1 read in steps t0 … t0+n_steps−1, all generated at
        ``rate`` (Hz; an array: the rate of each generator). A silent generator sends
        nothing (no stream is consumed)."""
        if np.ndim(rate) == 0:
            if rate > 0:
                self._call(t0, n_steps, self._synapses(slice(a, b)), rate, ring_ex, ring_in)
            return
        for r, synapses in self.rate_groups(rate, a, b):
            self._call(t0, n_steps, synapses, r, ring_ex, ring_in)

    def _synapses(self, part):
        """(post, post_gid, ordinal, delay, weight) of the synapses ``part`` (a slice or
        positions)."""
        return tuple(getattr(self, k)[part] for k in ("post", "post_gid", "ordinal", "delay", "weight"))

    def rate_groups(self, rates, a, b):
        """[(rate, :meth:`_synapses` among a … b−1 whose generator has it)] for each distinct
        positive rate of ``rates`` (one per generator), cached for the last ``rates``."""
        key, groups = self._by_rate
        if key is None or not np.array_equal(key, rates):
            self._by_rate = key, groups = rates.copy(), {}
            self._distinct = len(np.unique(rates))
        if (a, b) not in groups:
            per_synapse = rates[self.source[a:b]]
            groups[a, b] = [(float(r), self._synapses(self.backend.asarray(
                a + np.flatnonzero(per_synapse == r)))) for r in np.unique(per_synapse) if r > 0]
        return groups[a, b]

    def _call(self, t0, n_steps, synapses, rate, ring_ex, ring_in):
        self.backend.kernels.poisson_input(t0, n_steps, *self.arguments(rate, synapses),
                                           ring_ex, ring_in)

    def arguments(self, rate, synapses):
        """The ``poisson_input`` arguments after the steps and before the ring buffers, for
        ``synapses`` (:meth:`_synapses`) at ``rate`` (Hz)."""
        return (*synapses, *self.tables(rate), self.key[0], self.key[1], self.c2)

    def latest_arguments(self):
        """:meth:`arguments` for the rates from the schedule's last change on: one entry
        per distinct positive rate (none while the generators are silent)."""
        rate = self.gen.schedules["rate"].values[-1]
        if np.ndim(rate) == 0:
            return [self.arguments(float(rate), self._synapses(slice(None)))] if rate > 0 else []
        return [self.arguments(r, synapses) for r, synapses in self.rate_groups(rate, 0, len(self.post))]

    def rate_since(self):
        """The generation step of the schedule's last change."""
        return int(self.gen.schedules["rate"].starts[-1])
