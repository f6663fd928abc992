"""Populations of nodes and selections of them.

A :class:`Population` is a named group of nodes of one model with consecutive global ids
(gids). Selections combine populations (``exc | inh``) or take subsets (``exc[:100]``);
connection rules and recorders take selections. A selection's *positions* 0 … size−1
number its members in order, which is how connection rules index sources and targets.
"""
import numpy as np

from .errors import ModelError
from .schedule import Schedule, poisson_rates
from .stimulation import Generators


class Selection:
    """An ordered list of (population, population-local ids) parts.

    A part's ids are kept as a ``range`` where they are one (a whole population, a slice),
    so that a selection of any size costs O(1) until its ids are asked for (``parts``,
    :meth:`gids`); :meth:`members` maps positions to gids without an array of them.
    """

    def __init__(self, parts):
        self._spans = [(pop, ids if isinstance(ids, range) else np.asarray(ids, np.int64))
                       for pop, ids in parts]

    @property
    def parts(self):
        """[(population, population-local ids (int64 array))] in position order."""
        return [(pop, _id_array(ids)) for pop, ids in self._spans]

    def __or__(self, other):
        return Selection(self._spans + as_selection(other)._spans)

    def __len__(self):
        return sum(len(ids) for _, ids in self._spans)

    @property
    def label(self):
        return "|".join(pop.name if len(ids) == pop.size else f"{pop.name}[{len(ids)}]"
                        for pop, ids in self._spans)

    def gids(self):
        """Global ids of the members, in position order (int64)."""
        return np.asarray(self.members())

    def members(self):
        """The members' gids by position (:class:`Members`), without an array where the
        parts are ranges."""
        return Members([(pop.first_gid, ids) for pop, ids in self._spans])

    def populations(self):
        return [pop for pop, _ in self._spans]

    def describe(self):
        return [{"population": pop.name, "ids": "all" if len(ids) == pop.size else ids.tolist()}
                for pop, ids in self.parts]


def _id_array(ids):
    return np.arange(ids.start, ids.stop, ids.step, dtype=np.int64) if isinstance(ids, range) else ids


class Members:
    """The gids of a selection's members, indexed by position (``members[positions]``).

    Built from (first gid of the population, population-local ids as a ``range`` or an
    int64 array) per part; a part that is a range holds no array, so that indexing,
    :meth:`min`, :meth:`max` and :meth:`local_positions` cost O(1) per part plus the size
    of their result. ``np.asarray(members)`` gives all gids (O(size)).
    """

    def __init__(self, parts):
        self._parts = [(first, ids) for first, ids in parts if len(ids)]
        self.ends = np.cumsum([len(ids) for _, ids in self._parts], dtype=np.int64)

    def __len__(self):
        return int(self.ends[-1]) if len(self.ends) else 0

    def __array__(self, dtype=None, copy=None):
        gids = np.concatenate([first + _id_array(ids) for first, ids in self._parts]
                              + [np.zeros(0, np.int64)])
        return gids if dtype is None else gids.astype(dtype)

    def _part_gids(self, k, at):
        """Gids of positions ``at`` (int64, within part k) of part ``k``."""
        first, ids = self._parts[k]
        if isinstance(ids, range):
            return first + ids.start + at * ids.step
        return first + ids[at]

    def __getitem__(self, positions):
        positions = np.asarray(positions, np.int64)
        if len(self._parts) == 1:
            return self._part_gids(0, positions)
        part = np.searchsorted(self.ends, positions, side="right")
        spans = self._step_ranges()
        if spans is not None:  # gid = position + (first gid − first position) of its part
            return positions + (np.array([lo for lo, _ in spans]) - np.r_[0, self.ends[:-1]])[part]
        out = np.empty(positions.shape, np.int64)
        for k in np.flatnonzero(np.bincount(part.ravel(), minlength=len(self._parts))).tolist():
            sel = part == k
            out[sel] = self._part_gids(k, positions[sel] - (self.ends[k - 1] if k else 0))
        return out

    def _bounds(self):
        """(lowest, highest) gid of each part."""
        for first, ids in self._parts:
            if isinstance(ids, range):
                ends = (ids[0], ids[-1])
                yield first + min(ends), first + max(ends)
            else:
                yield first + int(ids.min()), first + int(ids.max())

    def min(self):
        return min(lo for lo, _ in self._bounds())

    def max(self):
        return max(hi for _, hi in self._bounds())

    def _step_ranges(self):
        """[(lowest gid, highest gid + 1)] of every part if each is a range of step 1
        (the usual selections), else None."""
        if all(isinstance(ids, range) and ids.step == 1 for _, ids in self._parts):
            return [(first + ids.start, first + ids.stop) for first, ids in self._parts]
        return None

    def intersects(self, other):
        """Whether a gid is a member of both (O(parts²) for ranges of step 1)."""
        mine, theirs = self._step_ranges(), other._step_ranges()
        if mine is None or theirs is None:
            return bool(np.intersect1d(np.asarray(self), np.asarray(other)).size)
        return any(a < d and c < b for a, b in mine for c, d in theirs)

    def repeats(self):
        """Whether a gid occurs more than once (O(parts²) for ranges of step 1)."""
        spans = self._step_ranges()
        if spans is None:
            gids = np.asarray(self)
            return len(np.unique(gids)) < len(gids)
        spans.sort()
        return any(b > c for (_, b), (c, _) in zip(spans, spans[1:]))

    def histogram(self, bounds):
        """Number of members in each gid range [bounds[i], bounds[i + 1]) (int64; ``bounds``
        ascending, holding every member); O(parts · len(bounds)) for parts of step 1."""
        spans = self._step_ranges()
        if spans is None:
            at = np.searchsorted(bounds, np.asarray(self), side="right") - 1
            return np.bincount(at, minlength=len(bounds) - 1)
        out = np.zeros(len(bounds) - 1, np.int64)
        for lo, hi in spans:
            out += np.diff(np.clip(bounds, lo, hi))
        return out

    def local_positions(self, partition, rank):
        """Positions (ascending) of the members that ``rank`` owns under ``partition``;
        O(members owned) for parts of step 1 where the partition lists a rank's gids so."""
        out, start = [], 0
        for k, (first, ids) in enumerate(self._parts):
            if isinstance(ids, range) and ids.step == 1:
                lo = first + ids.start
                out.append(start + partition.local_gids(rank, lo, len(ids)) - lo)
            else:
                gids = self._part_gids(k, np.arange(len(ids), dtype=np.int64))
                out.append(start + np.flatnonzero(partition.owner(gids) == rank))
            start += len(ids)
        return np.concatenate(out + [np.zeros(0, np.int64)])

    def positions(self, gids):
        """Position of each of ``gids`` (members) in the selection (the first, if repeated)."""
        gids = np.asarray(gids, np.int64)
        ranges_ = self._step_ranges()
        if ranges_ is not None and len(ranges_) == 1:
            return gids - ranges_[0][0]
        every = np.asarray(self)
        order = np.argsort(every, kind="stable")
        return order[np.searchsorted(every[order], gids)]


class Population(Selection):
    """``size`` nodes of ``model`` with parameters ``params`` and gids first_gid … first_gid+size−1."""

    def __init__(self, name, size, model, params, first_gid, index):
        self.name, self.model, self.params = name, model, params
        self.first_gid, self.index = first_gid, index
        self.size = int(size)
        self.layer = self.positions = None
        super().__init__([(self, range(self.size))])

    def set_layer(self, layer, seed):
        """Give the neurons positions: ``layer`` is a :class:`bigbrain.spatial.Layer`."""
        from .spatial import Layer
        where = f"population {self.name!r}.positions"
        if not isinstance(layer, Layer):
            raise ModelError(where, f"expected bb.spatial.grid(...) or bb.spatial.free(...), got {layer!r}")
        self.positions = layer.place(where, self.size, seed, self.index, self.first_gid)
        self.layer = layer

    def __len__(self):
        return self.size

    @property
    def recordables(self):
        """The state variables a multimeter can record of these neurons."""
        return self.model.recordables_for(self.params)

    def __getitem__(self, key):
        """The neurons ``key`` (an index, a slice or an array of indices) of the population;
        indices and slice bounds beyond its size are refused, not clipped."""
        field = f"population {self.name!r}[{_shown(key)}]"
        if isinstance(key, slice):
            bounds = [b for b in (key.start, key.stop) if b is not None]
            if any(not isinstance(b, (int, np.integer)) or isinstance(b, bool) for b in bounds):
                raise ModelError(field, "slice bounds must be integers")
            if any(not -self.size <= b <= self.size for b in bounds):
                raise ModelError(field, f"outside the population's {self.size} neurons")
            return Selection([(self, range(self.size)[key])])
        ids = np.asarray(key)
        if ids.dtype.kind not in "iu":
            raise ModelError(field, "expected an integer index, a slice or an array of indices")
        outside = ids[(ids < -self.size) | (ids >= self.size)]
        if outside.size:
            raise ModelError(field, f"id {outside.flat[0]} is outside the population's "
                             f"{self.size} neurons (ids 0 … {self.size - 1})")
        ids = ids.ravel().astype(np.int64)
        return Selection([(self, np.where(ids < 0, ids + self.size, ids))])

    def __repr__(self):
        return f"Population({self.name!r}, {self.size}, {self.model.name!r})"


class PoissonGenerators(Generators):
    """``size`` Poisson generators of ``rate`` Hz: NEST's ``poisson_generator``.

    A generator is not a node: every synapse it makes carries its own independent train
    (as in NEST), drawn on the rank of the target neuron, so nothing is exchanged. ``rate``
    is one number for all generators of the group or an array with one rate per generator
    (one group of 64 for the 64 pixels of an image, say); either can change between runs
    (``set_params(net, rate=...)``, :mod:`bigbrain.stimulation`). A synapse's train comes
    from the same stream whichever form gives its rate.

    ``per_step``: what a synapse carries into a step, fixed at creation: ``"poisson"``
    (NEST's ``poisson_generator``: a Poisson count of mean rate·dt, several spikes in a
    step possible) or ``"bernoulli"`` (at most one spike, with probability rate·dt, as
    Brian2's ``PoissonGroup``; rate·dt must not exceed 1). Both have the mean rate ``rate``.
    """

    is_poisson = True
    KIND = "poisson_generator"
    PARAMS = {"rate": 0.0}
    CHANGEABLE = ("rate",)
    PER_STEP = ("poisson", "bernoulli")

    def __init__(self, name, rate, size, dt=0.1, per_step="poisson"):
        if per_step not in self.PER_STEP:
            raise ModelError(f"poisson {name!r}.per_step", f"must be 'poisson' or 'bernoulli', "
                             f"got {per_step!r}")
        self.per_step = per_step
        super().__init__(name, size, dt, {"rate": rate})

    @property
    def rate(self):
        return self.params["rate"]

    def where(self, key):
        return f"{self.name}.{key}"

    def _checked(self, params):
        rate = poisson_rates(self.where("rate"), params["rate"], self.size, self.dt,
                             1 if self.per_step == "bernoulli" else 700)
        return {**params, "rate": rate}

    def _schedules(self, params, step):
        rate = params["rate"]
        return {"rate": Schedule(np.array([step]), rate[None] if np.ndim(rate) else [rate])}

    def restore_state_arrays(self, arrays):
        super().restore_state_arrays(arrays)
        saved = arrays.get("params/rate")
        if saved is not None and saved.size > 1:
            self.params["rate"] = np.array(saved, np.float64)

    def describe(self):
        rate = self.rate if np.ndim(self.rate) == 0 else self.rate.tolist()
        out = {"name": self.name, "kind": "poisson", "rate": rate, "size": self.size}
        return out if self.per_step == "poisson" else {**out, "per_step": self.per_step}


def _shown(key):
    """``key`` of ``population[key]`` as written (short for arrays)."""
    if isinstance(key, slice):
        bounds = ("" if b is None else str(b) for b in (key.start, key.stop, key.step))
        return ":".join(bounds).rstrip(":") or ":"
    return str(key) if np.ndim(key) == 0 else "ids"


def as_selection(obj):
    if isinstance(obj, Selection) or getattr(obj, "is_device", False):
        return obj
    raise ModelError("connect", f"expected a population or a selection, got {obj!r}")
