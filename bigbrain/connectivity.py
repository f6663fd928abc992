"""Connection rules: which synapses exist, drawn per post-synaptic neuron.

Each rule generates the synapses onto a chunk of post-synaptic positions (positions in the
target selection), using only the random stream of each post-synaptic neuron: synapse j
onto neuron ``post`` of projection ``proj`` depends on (seed, proj, gid of post, j) alone.
A rank therefore generates exactly the synapses onto its own neurons, and the network is
the same for any number of ranks and any partition.

``generate`` returns (pre_pos, post_pos, ordinal): the source position in the pre
selection, the target position in the post selection, and the synapse's ordinal among the
synapses of this projection onto the same target (or, for ``explicit``, its index in the
user's arrays). Weights and delays are drawn per (post gid, ordinal).

``fixed_outdegree`` is the exception: it draws the targets of each source from that
source's stream, so every rank draws them all and keeps those onto its own neurons (see
:class:`FixedOutdegree`); its ordinals are still numbered per target, in the order of
(source position, draw), which no partition changes.

Rules and their NEST names: ``one_to_one``, ``all_to_all``, ``fixed_indegree``
(``indegree``), ``fixed_outdegree`` (``outdegree``), ``pairwise_bernoulli`` (``p``, a
probability or a function of distance, and ``mask``; see :mod:`.spatial`),
``fixed_total_number`` (``N``), and ``explicit`` (``sources``, ``targets``: positions in
the pre and post selections).
"""
import importlib
import math

import numpy as np

from .arrays import ranges
from .distributions import Stream
from .distributions import describe as describe_value
from .errors import ModelError, suggest
from .spatial import is_spatial, mask_from_description
from .streams import Purpose

MAX_ROUNDS = 10_000
SYNAPSES_PER_CHUNK = 1 << 18
PAIRS_PER_BLOCK = 1 << 18
_EMPTY = np.zeros(0, np.int64)


class Rule:
    """A connection rule; subclasses set ``name`` and implement ``check`` and ``generate``."""

    name = ""
    expected_per_target = 1.0

    def check(self, spec):
        """Raise :class:`ModelError` if the rule cannot connect ``spec.pre`` to ``spec.post``."""

    def describe(self):
        return {"rule": self.name}

    def chunks(self, spec, seed, local, post_gids):
        """(pre_pos, post_pos, ordinal) of the synapses onto the targets ``local`` (positions
        in the post selection, increasing; ``post_gids``: the gids of the whole selection),
        chunk by chunk: chunks of targets, in order, about ``SYNAPSES_PER_CHUNK`` synapses
        each; at least one chunk, maybe empty."""
        chunk = max(1, int(SYNAPSES_PER_CHUNK / max(self.expected_per_target, 1.0)))
        for i in range(0, max(len(local), 1), chunk):
            part = local[i:i + chunk]
            yield self.generate(spec, seed, part, post_gids[part]) if part.size else (_EMPTY,) * 3


def _without_autapses(spec, pre_pos, post_pos, ordinal, post_gids):
    if spec.allow_autapses or spec.pre_gids is None:
        return pre_pos, post_pos, ordinal
    keep = spec.pre_gids[pre_pos] != post_gids
    return pre_pos[keep], post_pos[keep], ordinal[keep]


class OneToOne(Rule):
    name = "one_to_one"

    def check(self, spec):
        if len(spec.pre) != len(spec.post):
            raise ModelError(f"{spec.where}.rule", f"one_to_one needs equal sizes, got "
                             f"{len(spec.pre)} sources and {len(spec.post)} targets")

    def generate(self, spec, seed, post_pos, post_gids):
        return _without_autapses(spec, post_pos.copy(), post_pos, np.zeros_like(post_pos), post_gids)


class AllToAll(Rule):
    name = "all_to_all"

    def check(self, spec):
        self.expected_per_target = len(spec.pre)

    def generate(self, spec, seed, post_pos, post_gids):
        n_pre = len(spec.pre)
        pre = np.tile(np.arange(n_pre, dtype=np.int64), len(post_pos))
        post = np.repeat(post_pos, n_pre)
        return _without_autapses(spec, pre, post, pre.copy(), np.repeat(post_gids, n_pre))


def draw_sources(spec, seed, post_pos, post_gids, counts):
    """``counts[i]`` sources for target ``post_pos[i]``, uniform over the pre selection.

    Autapses and (when multapses are not allowed) repeated sources are redrawn in rounds;
    among repeats, the one with the lowest ordinal is kept. Each target's sources depend on
    its own stream only. Memory: the three int64 results and two more arrays of 8 bytes
    per synapse (the target gids, the uniforms).
    """
    post = np.repeat(post_pos, counts)
    ordinal = ranges(np.zeros(len(counts), np.int64), counts)
    ids = np.repeat(post_gids, counts)
    pre = draw_partners(spec, Stream(seed, Purpose.CONNECT, spec.index), ids, ordinal, post,
                        len(spec.pre), None if spec.pre_gids is None else spec.pre_gids.__getitem__)
    return pre, post, ordinal


def draw_partners(spec, stream, ids, index, owner, n_choices, gid_of):
    """Partners (positions among ``n_choices``) drawn uniformly for draws (``ids``,
    ``index``) of ``stream``; ``owner``: the position of the neuron that draws (one per
    draw; its gid is ``ids``). Autapses (``gid_of(partner) == ids``; ``gid_of`` None: no
    gids, no autapses) unless allowed, and (unless multapses are allowed) every repeat of
    an (owner, partner) pair but the one of the lowest index, are redrawn in rounds (the
    counter word ``sub``)."""
    def draw(sel, rnd):
        u = stream.uniform(ids[sel], index[sel], rnd)
        u *= n_choices
        pick = u.astype(np.int64)
        del u
        return np.minimum(pick, n_choices - 1, out=pick)

    partner = draw(slice(None), 0)
    for rnd in range(1, MAX_ROUNDS):
        bad = _invalid_partners(spec, owner, partner, index, ids, gid_of)
        if bad.size == 0:
            return partner
        partner[bad] = draw(bad, rnd)
    raise ModelError(f"{spec.where}.rule", "could not draw valid partners (too few candidates?)")


def _invalid_partners(spec, owner, partner, index, ids, gid_of):
    """Draws (indices) to redraw: autapses if not allowed, and if multapses are not allowed
    every repeat of an (owner, partner) pair but the one of lowest index."""
    bad = np.zeros(len(partner), bool)
    if not spec.allow_autapses and gid_of is not None:
        bad |= gid_of(partner) == ids
    if not spec.allow_multapses and len(partner) > 1:
        order = np.lexsort((index, partner, owner))
        o, p = owner[order], partner[order]
        repeat = (o[1:] == o[:-1]) & (p[1:] == p[:-1])
        bad[order[1:][repeat]] = True
    return np.flatnonzero(bad)


def _max_partners(spec, n, gids, other_gids):
    """How many distinct partners among ``n`` (gids ``gids``, or None) a neuron of
    ``other_gids`` can have (its autapse excluded when not allowed)."""
    overlap = (gids is not None and other_gids is not None and not spec.allow_autapses
               and gids.intersects(other_gids))
    return n - (1 if overlap else 0)


def _max_sources(spec):
    """How many distinct sources a target can have (autapse excluded when not allowed)."""
    return _max_partners(spec, len(spec.pre), spec.pre_gids, spec.post.members())


def _check_degree(spec, name, k, n_max):
    if isinstance(k, bool) or not (isinstance(k, (int, np.integer)) and k >= 0):
        raise ModelError(f"{spec.where}.{name}", f"must be an integer >= 0, got {k!r}")
    if not spec.allow_multapses and k > n_max:
        raise ModelError(f"{spec.where}.{name}", f"{k} is larger than the {n_max} possible "
                         f"{'sources' if name == 'indegree' else 'targets'} and multapses are "
                         "not allowed")


class FixedIndegree(Rule):
    name = "fixed_indegree"

    def __init__(self, indegree):
        self.indegree = indegree

    def check(self, spec):
        k = self.indegree
        _check_degree(spec, "indegree", k, _max_sources(spec))
        if k > 0 and len(spec.pre) == 0:
            raise ModelError(f"{spec.where}.indegree", "the source selection is empty")
        self.expected_per_target = k

    def generate(self, spec, seed, post_pos, post_gids):
        return draw_sources(spec, seed, post_pos, post_gids, np.full(len(post_pos), int(self.indegree)))

    def describe(self):
        return {"rule": self.name, "indegree": int(self.indegree)}


class FixedOutdegree(Rule):
    """Each source gets ``outdegree`` targets drawn uniformly from the post selection
    (NEST's ``fixed_outdegree``), from the source's own stream: draw k of the source at
    position s is a pure function of (seed, projection, source gid — or s for Poisson
    generators —, k, redraw round).

    Every rank draws the targets of all sources, in chunks of about
    ``SYNAPSES_PER_CHUNK`` draws (whole sources), and keeps the synapses onto its own
    neurons. Cost per rank: the draws of the whole projection (N_pre · outdegree uniforms,
    the same on every rank, so building does not get faster with more ranks: a target's
    synapses depend on every source's draws, and no rank knows which sources drew its
    targets without drawing them), memory of one chunk (about 50 bytes per draw), one
    int64 counter per local target, and the kept synapses. Ordinals: a synapse's rank
    among the synapses onto its target, in the order of (source position, draw), the
    same on any partition.
    """

    name = "fixed_outdegree"

    def __init__(self, outdegree):
        self.outdegree = outdegree

    def check(self, spec):
        k = self.outdegree
        post_gids = spec.post.members()
        _check_degree(spec, "outdegree", k, _max_partners(spec, len(post_gids), post_gids, spec.pre_gids))
        if k > 0 and len(spec.post) == 0:
            raise ModelError(f"{spec.where}.outdegree", "the target selection is empty")
        self.expected_per_target = len(spec.pre) * k / max(len(spec.post), 1)

    def chunks(self, spec, seed, local, post_gids):
        """See :meth:`Rule.chunks`; here the chunks are chunks of sources, in order, and a
        target's synapses may be spread over several of them."""
        k, n_pre = int(self.outdegree), len(spec.pre)
        if len(local) == 0:  # no target here: nothing to draw
            yield (_EMPTY,) * 3
            return
        stream = Stream(seed, Purpose.OUTDEGREE, spec.index)
        poisson = spec.pre_gids is None
        source_ids = np.arange(n_pre, dtype=np.int64) if poisson else spec.pre_gids
        gid_of = None if poisson else post_gids.__getitem__
        made = np.zeros(len(local), np.int64)  # synapses so far onto each local target
        per_chunk = max(1, SYNAPSES_PER_CHUNK // max(k, 1))
        for lo in range(0, max(n_pre, 1), per_chunk):
            pre = np.repeat(np.arange(lo, min(lo + per_chunk, n_pre), dtype=np.int64), k)
            draw = np.tile(np.arange(k, dtype=np.int64), len(pre) // max(k, 1))
            post = draw_partners(spec, stream, source_ids[pre], draw, pre, len(post_gids),
                                 gid_of) if pre.size else _EMPTY
            at = np.searchsorted(local, post).clip(0, len(local) - 1)  # local index
            keep = np.flatnonzero(local[at] == post)
            pre, post, at = pre[keep], post[keep], at[keep]
            del draw, keep
            yield pre, post, _ordinals(at, made)

    def describe(self):
        return {"rule": self.name, "outdegree": int(self.outdegree)}


def _ordinals(post, made):
    """Ordinal of each synapse onto ``post`` (targets by index into ``made``, in the given
    order), counting on from ``made`` (synapses onto each target so far), which is
    updated."""
    order = np.argsort(post, kind="stable")
    sorted_post = post[order]
    starts = np.flatnonzero(np.r_[True, sorted_post[1:] != sorted_post[:-1]]) if len(post) else _EMPTY
    counts = np.diff(np.r_[starts, len(post)])
    ordinal = np.empty(len(post), np.int64)
    ordinal[order] = np.arange(len(post)) - np.repeat(starts, counts) + made[sorted_post]
    made[sorted_post[starts]] += counts
    return ordinal


class PairwiseBernoulli(Rule):
    """Each (source, target) pair is connected with probability p (no multapses).

    Implemented by drawing the gaps between connected sources from the geometric
    distribution, so the cost is proportional to the synapses made, not to the pairs.

    Spatial (``p`` a function of distance, see :mod:`.spatial`, or a ``mask``): only the
    pairs whose displacement lies in the mask are candidates, and the pair (source at
    position s, target of gid g) is made if uniform (seed, projection, g, s) < p(distance).
    Ordinals number a target's synapses in source order. Cost per target: without a mask
    every pair is tested (O(N_pre)); with one, the sources in the mask's reach along x
    (O(N_pre · mask width / layer width)); pairs are tested in blocks of about
    ``PAIRS_PER_BLOCK``.
    """

    name = "pairwise_bernoulli"

    def __init__(self, p, mask=None):
        self.p, self.mask = p, mask

    @property
    def spatial(self):
        return self.mask is not None or is_spatial(self.p)

    def check(self, spec):
        if self.spatial:
            return self._check_spatial(spec)
        self.p = p = _probability(spec.where, self.p)
        self.expected_per_target = p * len(spec.pre)

    def generate(self, spec, seed, post_pos, post_gids):
        if self.spatial:
            return self._generate_spatial(spec, seed, post_pos, post_gids)
        n_pre, p = len(spec.pre), self.p
        if p == 0.0 or n_pre == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        if p == 1.0:
            return AllToAll().generate(spec, seed, post_pos, post_gids)
        stream = Stream(seed, Purpose.CONNECT, spec.index)
        batch = int(n_pre * p + 4 * math.sqrt(n_pre * p * (1 - p)) + 16)
        log_q = math.log1p(-p)
        pre_parts, row_parts, ord_parts = [], [], []
        rows = np.arange(len(post_pos))
        last = np.full(len(post_pos), -1, np.int64)
        made = np.zeros(len(post_pos), np.int64)
        for rnd in range(MAX_ROUNDS):
            if rows.size == 0:
                break
            j = np.arange(batch, dtype=np.uint64) + np.uint64(rnd * batch)
            u = stream.uniform(post_gids[rows][:, None], j[None, :])
            gaps = 1 + np.floor(np.log1p(-u) / log_q)
            pos = last[rows][:, None] + np.cumsum(np.minimum(gaps, n_pre + 1), axis=1).astype(np.int64)
            inside = pos < n_pre
            r_idx, c_idx = np.nonzero(inside)
            pre_parts.append(pos[r_idx, c_idx])
            row_parts.append(rows[r_idx])
            ord_parts.append(made[rows][r_idx] + c_idx)
            made[rows] += inside.sum(axis=1)
            last[rows] = pos[:, -1]
            rows = rows[pos[:, -1] < n_pre]
        pre = np.concatenate(pre_parts)
        row = np.concatenate(row_parts)
        return _without_autapses(spec, pre, post_pos[row], np.concatenate(ord_parts), post_gids[row])

    def _check_spatial(self, spec):
        self.mask = None if self.mask is None else mask_from_description(f"{spec.where}.mask", self.mask)
        if self.mask is not None:
            self.mask.check(spec.where, spec.space)
        if not is_spatial(self.p):
            self.p = _probability(spec.where, self.p)
        lo, hi = self.p.bounds(spec.space.max_distance) if is_spatial(self.p) else (self.p, self.p)
        if not 0.0 <= lo <= hi <= 1.0:
            raise ModelError(f"{spec.where}.p", f"must be a probability at every distance, "
                             f"ranges over [{lo}, {hi}]")
        share = 1.0 if self.mask is None else min(1.0, self.mask.volume() / spec.space.volume)
        self.expected_per_target = hi * share * len(spec.pre)

    def _generate_spatial(self, spec, seed, post_pos, post_gids):
        """Targets are taken in order of x, in blocks; a block's candidates are the sources
        whose x lets the mask reach one of its targets (all sources without a mask)."""
        n_pre, space = len(spec.pre), spec.space
        stream = Stream(seed, Purpose.CONNECT, spec.index)
        by_x = np.argsort(space.post[post_pos, 0], kind="stable")
        post_pos, post_gids = post_pos[by_x], post_gids[by_x]
        x = space.post[post_pos, 0]
        window = n_pre
        if self.mask is not None:
            x_lo, x_hi = self.mask.x_range()
            window = n_pre * min(1.0, 2 * (x_hi - x_lo) / max(space.x_span(), 1e-300))
        step = max(1, int(PAIRS_PER_BLOCK // max(window, 1)))
        parts = []
        for lo in range(0, len(post_pos), step):
            block = post_pos[lo:lo + step]
            sources = np.arange(n_pre, dtype=np.int64) if self.mask is None else \
                space.sources_between(x[lo:lo + step].min() - x_hi, x[lo:lo + step].max() - x_lo)
            row, col, distance = space.pairs(block, sources, self.mask)
            p = self.p(distance) if is_spatial(self.p) else self.p
            pre = sources[col]
            del col, distance
            keep = stream.uniform(post_gids[lo + row], pre) < p
            parts.append((pre[keep], lo + row[keep]))
        pre = np.concatenate([p for p, _ in parts] + [_EMPTY])
        row = np.concatenate([r for _, r in parts] + [_EMPTY])
        ordinal = np.arange(len(row)) - np.searchsorted(row, row)
        return _without_autapses(spec, pre, post_pos[row], ordinal, post_gids[row])

    def describe(self):
        out = {"rule": self.name, "p": describe_value(self.p)}
        return out if self.mask is None else {**out, "mask": self.mask.describe()}


def _probability(where, p):
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ModelError(f"{where}.p", f"must be a probability, got {p!r}") from None
    if not 0.0 <= p <= 1.0:
        raise ModelError(f"{where}.p", f"must be in [0, 1], got {p}")
    return p


class FixedTotalNumber(Rule):
    """``N`` synapses in all; each target's share is multinomial, its sources uniform."""

    name = "fixed_total_number"

    def __init__(self, N):
        self.N = N
        self._counts = None

    def check(self, spec):
        if not (isinstance(self.N, (int, np.integer)) and self.N >= 0):
            raise ModelError(f"{spec.where}.N", f"must be an integer >= 0, got {self.N!r}")
        if not spec.allow_multapses and self.N > _max_sources(spec) * len(spec.post):
            raise ModelError(f"{spec.where}.N", f"{self.N} synapses do not fit without multapses")
        self.expected_per_target = self.N / max(len(spec.post), 1)

    def counts(self, spec, seed):
        """Synapses per target (the same on every rank): a multinomial split of N."""
        if self._counts is None:
            key = [int(seed), (int(Purpose.TOTAL_NUMBER) << 16) | spec.index]
            rng = np.random.Generator(np.random.Philox(key=key))
            n = len(spec.post)
            self._counts = rng.multinomial(int(self.N), np.full(n, 1.0 / n)) if n else np.zeros(0, int)
        return self._counts

    def generate(self, spec, seed, post_pos, post_gids):
        return draw_sources(spec, seed, post_pos, post_gids, self.counts(spec, seed)[post_pos])

    def describe(self):
        return {"rule": self.name, "N": int(self.N)}


class Explicit(Rule):
    """Synapses given as arrays of source and target positions (and optionally weights,
    delays of the same length)."""

    name = "explicit"

    def __init__(self, sources, targets):
        self.given = {"sources": sources, "targets": targets}

    def check(self, spec):
        where = spec.where
        self.sources, self.targets = (_positions_of(f"{where}.{name}", value)
                                      for name, value in self.given.items())
        if self.sources.shape != self.targets.shape:
            raise ModelError(f"{where}.targets", f"has {self.targets.size} entries, sources has "
                             f"{self.sources.size}")
        for name, arr, n in (("sources", self.sources, len(spec.pre)),
                             ("targets", self.targets, len(spec.post))):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                raise ModelError(f"{where}.{name}", f"positions must be in [0, {n}), got "
                                 f"[{arr.min()}, {arr.max()}]")
        given = [(name, getattr(spec, name)) for name in ("weight", "delay")]
        given += [(f"synapse.{name}", getattr(spec.synapse, name))   # tsodyks_synapse's arrays
                  for name in getattr(spec.synapse, "per_synapse", ())]
        for name, value in given:
            if np.ndim(value) > 0 and np.size(value) != self.sources.size:
                raise ModelError(f"{where}.{name}", f"has {np.size(value)} entries, expected "
                                 f"{self.sources.size} (one per synapse)")
        self.order = np.argsort(self.targets, kind="stable")
        self.sorted_targets = self.targets[self.order]
        self.expected_per_target = self.sources.size / max(len(spec.post), 1)

    def generate(self, spec, seed, post_pos, post_gids):
        lo = np.searchsorted(self.sorted_targets, post_pos, side="left")
        hi = np.searchsorted(self.sorted_targets, post_pos, side="right")
        entry = self.order[ranges(lo, hi - lo)]
        return self.sources[entry], self.targets[entry], entry

    def describe(self):
        return {"rule": self.name, "sources": self.sources.tolist(), "targets": self.targets.tolist()}


def _positions_of(field, value):
    """Positions given by the user, as int64; refused unless whole numbers (not truncated)."""
    arr = np.asarray(value).ravel()
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            raise ModelError(field, f"positions must be whole numbers, got {float(arr[bad][0])}")
    elif arr.dtype.kind not in "iu":
        raise ModelError(field, f"positions must be whole numbers, got {value!r}")
    return arr.astype(np.int64)


# rule -> (class, required arguments, optional arguments)
_RULES = {"one_to_one": (OneToOne, (), ()), "all_to_all": (AllToAll, (), ()),
          "fixed_indegree": (FixedIndegree, ("indegree",), ()),
          "fixed_outdegree": (FixedOutdegree, ("outdegree",), ()),
          "pairwise_bernoulli": (PairwiseBernoulli, ("p",), ("mask",)),
          "fixed_total_number": (FixedTotalNumber, ("N",), ()),
          "explicit": (Explicit, ("sources", "targets"), ())}


# rules defined in other modules (registered when imported): name -> module
_PLUGIN_RULES = {"sonata_edges": ".sonata"}


def register_rule(name, cls, required, optional=()):
    """Add rule ``name`` (a :class:`Rule` subclass taking the ``required`` and ``optional``
    keyword arguments), e.g. ``sonata_edges`` from :mod:`bigbrain.sonata`."""
    _RULES[name] = (cls, tuple(required), tuple(optional))


def make_rule(where, rule, kwargs):
    """The rule object for ``rule`` with its arguments taken from ``kwargs``."""
    if rule not in _RULES and rule in _PLUGIN_RULES:
        importlib.import_module(_PLUGIN_RULES[rule], __package__)  # registers the rule
    if rule not in _RULES:
        raise ModelError(f"{where}.rule", f"unknown rule {rule!r}" + suggest(rule, _RULES))
    cls, names, optional = _RULES[rule]
    missing = [n for n in names if n not in kwargs]
    if missing:
        raise ModelError(f"{where}.{missing[0]}", f"rule {rule} needs {', '.join(names)}")
    extra = [k for k in kwargs if k not in names + optional]
    if extra:
        raise ModelError(f"{where}.{extra[0]}", f"not an argument of rule {rule}"
                         + suggest(extra[0], names + optional))
    return cls(**{n: kwargs[n] for n in names + optional if n in kwargs})
