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

Rules and their NEST names: ``one_to_one``, ``all_to_all``, ``fixed_indegree``
(``indegree``), ``pairwise_bernoulli`` (``p``), ``fixed_total_number`` (``N``), and
``explicit`` (``sources``, ``targets``: positions in the pre and post selections).
"""
import math

import numpy as np

from .arrays import ranges
from .distributions import Stream
from .errors import ModelError
from .errors import suggest
from .streams import Purpose

MAX_ROUNDS = 10_000


class Rule:
    """A connection rule; subclasses set ``name`` and implement ``check`` and ``generate``."""

    name = ""
    expected_per_target = 1.0

    def check(self, spec):
        """Raise :class:`ModelError` if the rule cannot connect ``spec.pre`` to ``spec.post``."""

    def describe(self):
        return {"rule": self.name}


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
    n_pre = len(spec.pre)
    stream = Stream(seed, Purpose.CONNECT, spec.index)
    post = np.repeat(post_pos, counts)
    ordinal = ranges(np.zeros(len(counts), np.int64), counts)
    ids = np.repeat(post_gids, counts)

    def draw(sel, rnd):
        u = stream.uniform(ids[sel], ordinal[sel], rnd)
        u *= n_pre
        pre = u.astype(np.int64)
        del u
        return np.minimum(pre, n_pre - 1, out=pre)

    pre = draw(slice(None), 0)
    for rnd in range(1, MAX_ROUNDS):
        bad = _invalid_sources(spec, post, pre, ordinal, ids)
        if bad.size == 0:
            return pre, post, ordinal
        pre[bad] = draw(bad, rnd)
    raise ModelError(f"{spec.where}.rule", "could not draw valid sources (too few sources?)")


def _invalid_sources(spec, post, pre, ordinal, post_gids):
    """Synapses (indices) to redraw: autapses if not allowed, and if multapses are not
    allowed every repeat of a (source, target) pair but the one of lowest ordinal."""
    bad = np.zeros(len(pre), bool)
    if not spec.allow_autapses and spec.pre_gids is not None:
        bad |= spec.pre_gids[pre] == post_gids
    if not spec.allow_multapses and len(pre) > 1:
        order = np.lexsort((ordinal, pre, post))
        r, p = post[order], pre[order]
        repeat = (r[1:] == r[:-1]) & (p[1:] == p[:-1])
        bad[order[1:][repeat]] = True
    return np.flatnonzero(bad)


def _max_sources(spec):
    """How many distinct sources a target can have (autapse excluded when not allowed)."""
    overlap = spec.pre_gids is not None and not spec.allow_autapses and bool(
        np.intersect1d(spec.pre_gids, spec.post.gids()).size)
    return len(spec.pre) - (1 if overlap else 0)


class FixedIndegree(Rule):
    name = "fixed_indegree"

    def __init__(self, indegree):
        self.indegree = indegree

    def check(self, spec):
        k = self.indegree
        if not (isinstance(k, (int, np.integer)) and k >= 0):
            raise ModelError(f"{spec.where}.indegree", f"must be an integer >= 0, got {k!r}")
        if not spec.allow_multapses and k > _max_sources(spec):
            raise ModelError(f"{spec.where}.indegree", f"{k} is larger than the {_max_sources(spec)} "
                             "possible sources and multapses are not allowed")
        if k > 0 and len(spec.pre) == 0:
            raise ModelError(f"{spec.where}.indegree", "the source selection is empty")
        self.expected_per_target = k

    def generate(self, spec, seed, post_pos, post_gids):
        return draw_sources(spec, seed, post_pos, post_gids, np.full(len(post_pos), int(self.indegree)))

    def describe(self):
        return {"rule": self.name, "indegree": int(self.indegree)}


class PairwiseBernoulli(Rule):
    """Each (source, target) pair is connected with probability p (no multapses).

    Implemented by drawing the gaps between connected sources from the geometric
    distribution, so the cost is proportional to the synapses made, not to the pairs.
    """

    name = "pairwise_bernoulli"

    def __init__(self, p):
        self.p = p

    def check(self, spec):
        try:
            p = float(self.p)
        except (TypeError, ValueError):
            raise ModelError(f"{spec.where}.p", f"must be a probability, got {self.p!r}") from None
        if not 0.0 <= p <= 1.0:
            raise ModelError(f"{spec.where}.p", f"must be in [0, 1], got {self.p}")
        self.p = p
        self.expected_per_target = p * len(spec.pre)

    def generate(self, spec, seed, post_pos, post_gids):
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

    def describe(self):
        return {"rule": self.name, "p": self.p}


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
        for name in ("weight", "delay"):
            value = getattr(spec, name)
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


_RULES = {"one_to_one": (OneToOne, ()), "all_to_all": (AllToAll, ()),
          "fixed_indegree": (FixedIndegree, ("indegree",)),
          "pairwise_bernoulli": (PairwiseBernoulli, ("p",)),
          "fixed_total_number": (FixedTotalNumber, ("N",)),
          "explicit": (Explicit, ("sources", "targets"))}


def make_rule(where, rule, kwargs):
    """The rule object for ``rule`` with its arguments taken from ``kwargs``."""
    if rule not in _RULES:
        raise ModelError(f"{where}.rule", f"unknown rule {rule!r}" + suggest(rule, _RULES))
    cls, names = _RULES[rule]
    missing = [n for n in names if n not in kwargs]
    if missing:
        raise ModelError(f"{where}.{missing[0]}", f"rule {rule} needs {', '.join(names)}")
    extra = [k for k in kwargs if k not in names]
    if extra:
        raise ModelError(f"{where}.{extra[0]}", f"not an argument of rule {rule}"
                         + suggest(extra[0], names))
    return cls(*(kwargs[n] for n in names))
