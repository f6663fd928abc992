"""NEST's ``bernoulli_synapse``: a static synapse that transmits each spike with
probability ``p_transmit`` (``connect(..., synapse=bb.Bernoulli(p_transmit=0.3))``).

The draw of a spike emitted in step n by a source, on synapse (target gid, ordinal) of
connection c, is Philox at counter (n, target gid, c2(c), ordinal | block << 24), word
k mod 4 of block k // 4 for the k-th copy of the spike in that step (a parrot repeats k
spikes): the spike passes when the word is below p_transmit · 2**32. The draws are thus
the same on any number of ranks and after a checkpoint (nothing to save). As in NEST,
each copy of a spike is drawn for on its own. The CPU backend only.
"""
import numpy as np

from .arrays import distinct
from .errors import ModelError, number
from .kernels import bernoulli as kernel
from .kernels.fixed_point import INVERSE_SCALE, to_fixed
from .kernels.philox import key_words, purpose_word
from .backends import NUMPY
from .projection import _Range, source_positions
from .streams import Purpose
from .synapse import SynapseModel

#: Synapse ordinals below 2**24 leave the counter's high byte to the copy's block.
MAX_ORDINAL = 1 << 24


class Bernoulli(SynapseModel):
    """NEST's ``bernoulli_synapse``: ``p_transmit`` in [0, 1] (default 1): a number, or
    (rule ``explicit``) an array with one value per synapse."""

    model = "bernoulli_synapse"
    #: Bytes per synapse (column, target gid, ordinal, weight, delay, threshold: int64 each).
    SYNAPSE_BYTES = 48

    def __init__(self, p_transmit=1.0):
        field = "bernoulli_synapse.p_transmit"
        if np.ndim(p_transmit) == 0 and not isinstance(p_transmit, (list, tuple)):
            self.p_transmit = _probability(field, p_transmit)
        else:
            self.p_transmit = np.array([_probability(f"{field}[{i}]", v) for i, v in
                                        enumerate(np.ravel(np.asarray(p_transmit, object)))])

    def check(self, conn):
        """Refuse per-synapse values unless the rule lists the synapses (``explicit``)."""
        if np.ndim(self.p_transmit) == 0:
            return
        if conn.rule.name != "explicit":
            raise ModelError(f"{conn.where}.synapse.p_transmit", "arrays of values need "
                             "rule='explicit'")
        if self.p_transmit.size != conn.rule.sources.size:
            raise ModelError(f"{conn.where}.synapse.p_transmit", f"has {self.p_transmit.size} "
                             f"entries, expected {conn.rule.sources.size} (one per synapse)")

    def thresholds(self, ordinal):
        """p_transmit · 2**32 (int64) of the synapses of ``ordinal`` (explicit: list entries)."""
        p = self.p_transmit if np.ndim(self.p_transmit) == 0 else self.p_transmit[ordinal]
        return np.broadcast_to(np.rint(np.asarray(p) * 2.0**32).astype(np.int64), np.shape(ordinal))

    def describe(self):
        p = self.p_transmit
        return {"model": self.model, "p_transmit": p if np.ndim(p) == 0 else p.tolist()}

    def __repr__(self):
        p = self.p_transmit
        return f"Bernoulli(p_transmit={p if np.ndim(p) == 0 else f'<{p.size} values>'})"


class BernoulliProjection:
    """Bernoulli synapses onto this rank's neurons, in rows by source gid (``sources``,
    ``ptr``), each row's synapses in the order of (column, ordinal) as static rows are."""

    backend = NUMPY

    def __init__(self, conn, synapses, local_gids, seed):
        pre_pos, post_col, ordinal, weight, delay = synapses
        n = len(post_col)
        source = conn.pre_gids[pre_pos].astype(np.int64)
        order = np.lexsort((ordinal, post_col, source))
        self.conn, self.index = conn, conn.index
        self.sources = distinct(source[order])
        self.ptr = np.searchsorted(source[order], np.append(self.sources, np.iinfo(np.int64).max))
        self.post = post_col.astype(np.int64)[order]
        self.post_gid = local_gids[self.post]
        self.ordinal = ordinal.astype(np.int64)[order]
        self.weight = np.broadcast_to(to_fixed(weight), (n,)).astype(np.int64)[order]
        self.delay = np.broadcast_to(np.asarray(delay, np.int64), (n,))[order].copy()
        self.min_delay = int(self.delay.min()) if n else None
        self.max_delay = int(self.delay.max()) if n else None
        if n and int(self.ordinal.max()) >= MAX_ORDINAL:
            raise ModelError(f"{conn.where}", f"more than {MAX_ORDINAL} synapses onto one "
                             "target: too many for the random streams of bernoulli_synapse")
        self.threshold = conn.synapse.thresholds(ordinal)[order].copy()
        self.key = key_words(seed)
        self.c2 = purpose_word(Purpose.BERNOULLI, conn.index)

    def __len__(self):
        return len(self.post)

    def weights(self):
        """The weights (float64, storage order) that the synapses deliver when they do."""
        return self.weight * INVERSE_SCALE

    def weight_range_of(self, weights):
        """The fixed-point range of new weights (``net.set(conn, weight=...)``)."""
        found = _Range()
        found.add(to_fixed(weights))
        return found

    def set_weights(self, weights, lo, hi):
        """Replace the weights by ``weights`` (float64, storage order)."""
        self.weight = np.asarray(to_fixed(weights), np.int64)

    def use(self, backend):
        """The CPU only (the build refuses other backends)."""

    def deliver(self, src_gid, src_step, ring_ex, ring_in):
        """Deliver the spikes (source gid, emission step) that pass their draws."""
        rows = source_positions(self.sources, src_gid)
        keep = rows >= 0
        if not keep.any():
            return
        rows, steps = rows[keep], np.asarray(src_step, np.int64)[keep]
        kernel.deliver(rows, steps, copy_numbers(rows, steps), self.ptr, self.post,
                       self.post_gid, self.ordinal, self.weight, self.delay, self.threshold,
                       *self.key, self.c2, ring_ex, ring_in)


def _probability(field, value):
    """A probability: a number in [0, 1]."""
    p = number(field, value, ">= 0")
    if p > 1.0:
        raise ModelError(field, f"must be in [0, 1], got {p}")
    return p


def copy_numbers(rows, steps):
    """For each spike, how many equal (row, step) spikes come before it in the list: a
    parrot's k spikes of one step are copies 0 … k−1, whatever order they arrive in."""
    order = np.lexsort((steps, rows))
    r, s = rows[order], steps[order]
    new = np.ones(len(r), bool)
    new[1:] = (r[1:] != r[:-1]) | (s[1:] != s[:-1])
    first = np.maximum.accumulate(np.where(new, np.arange(len(r)), 0))
    out = np.empty(len(r), np.int64)
    out[order] = np.arange(len(r)) - first
    return out
