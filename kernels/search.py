"""Positions of keys in an ascending table whose values are about evenly spaced.

A rank's own gids are such a table under every partition (round-robin: steps of P within
each population; blocks: consecutive), and the requests for them (:mod:`bigbrain.exchange`)
come in short ascending runs, one per asking rank: at 500,000 ranks, runs of about five.
A binary search then starts afresh for nearly every key (~11 unpredictable steps for
2,000 gids, ~100 ns); here each key's position is first guessed from its value, then the
guess is walked to the answer, a few steps at most (else a binary search finishes).
"""
import numba

#: Steps a guess is walked before a binary search takes over.
WALK = 8


@numba.njit(cache=True)
def lower_bound(table, key, lo, hi):
    """First position in [lo, hi) whose value is at least ``key`` (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if table[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def gallop(table, key, p):
    """First position at or after ``p`` whose value is at least ``key``: steps of 1, 2,
    4, … from ``p``, then a binary search in the last step (O(log gap))."""
    n = table.shape[0]
    if p < n and table[p] < key:
        step = 1
        while p + step < n and table[p + step] < key:
            p += step
            step *= 2
        p = lower_bound(table, key, p + 1, min(p + step, n))
    return p


@numba.njit(cache=True)
def _position(table, key, scale):
    """``np.searchsorted(table, key)`` (left) from the guess ``(key − table[0]) · scale``."""
    n = table.shape[0]
    if key <= table[0]:
        return 0
    if key > table[n - 1]:
        return n
    p = min(max(int((float(key) - float(table[0])) * scale), 0), n - 1)
    if table[p] < key:  # the answer is above p
        for _ in range(WALK):
            p += 1
            if table[p] >= key:  # table[n − 1] >= key: p stays below n
                return p
        return lower_bound(table, key, p + 1, n)
    for _ in range(WALK):  # table[p] >= key: the answer is p or below
        if table[p - 1] < key:  # p > 0: table[0] < key
            return p
        p -= 1
    return lower_bound(table, key, 0, p)


@numba.njit(cache=True)
def positions_in_place(table, keys):
    """Write over each key its position in ``table`` (ascending), as
    ``np.searchsorted(table, keys)`` gives it; ``keys``' type must hold ``len(table)``."""
    n = table.shape[0]
    if n == 0:
        keys[:] = 0
        return
    span = float(table[n - 1]) - float(table[0])
    scale = (n - 1) / span if span > 0 else 0.0
    for i in range(keys.shape[0]):
        keys[i] = _position(table, keys[i], scale)


@numba.njit(cache=True)
def positions_in_order(table, keys, order, out):
    """``out[order] = np.searchsorted(table, keys[order])`` (left) for ``order`` that sorts
    ``keys`` ascending: each answer is at or after the last, found by galloping from it
    (steps 1, 2, 4, … then a binary search): O(log gap) per key and one forward walk over
    the table, against O(log len(table)) per key with a cache miss at most steps for a
    binary search from each key afresh."""
    p = 0
    for k in range(order.shape[0]):
        i = order[k]
        p = gallop(table, keys[i], p)
        out[i] = p
