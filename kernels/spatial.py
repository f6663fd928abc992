"""Pairs of positions within a mask: the inner loop of spatial ``pairwise_bernoulli``.

For every (target, source) of a block the displacement target − source is folded per
dimension into [−L/2, L/2) where the layer is periodic (period L > 0), then tested against
a ball (length² ≤ radius²) or a box (lower ≤ d ≤ upper per dimension; on a torus any
periodic image counts: the image d − lower + n·L in [0, L) is compared with upper −
lower). Compiled with Numba: NumPy would hold several arrays of block × dimension doubles.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def _fold(d, period):
    """``d`` folded into [−period/2, period/2) (unchanged if period ≤ 0)."""
    return d - period * np.floor(d / period + 0.5) if period > 0 else d


@numba.njit(cache=True)
def distances(tgt, src, period):
    """Distance of target i to source i for every i (``tgt``, ``src``: n × dim)."""
    out = np.empty(tgt.shape[0])
    for i in range(tgt.shape[0]):
        dist2 = 0.0
        for k in range(tgt.shape[1]):
            d = _fold(tgt[i, k] - src[i, k], period[k])
            dist2 += d * d
        out[i] = np.sqrt(dist2)
    return out


@numba.njit(cache=True, inline="always")
def _in_ball(tgt, src, i, j, period, radius2):
    """Distance² of target i and source j if at most ``radius2``, else −1."""
    dist2 = 0.0
    for k in range(tgt.shape[1]):
        d = _fold(tgt[i, k] - src[j, k], period[k])
        dist2 += d * d
    return dist2 if dist2 <= radius2 else -1.0


@numba.njit(cache=True, inline="always")
def _in_box(tgt, src, i, j, period, lower, upper):
    """Distance² of target i and source j if an image of their displacement lies in the
    box, else −1."""
    dist2 = 0.0
    inside = True
    for k in range(tgt.shape[1]):
        d = _fold(tgt[i, k] - src[j, k], period[k])
        dist2 += d * d
        e = d - lower[k]  # the image at or just above lower: e in [0, period)
        if period[k] > 0:
            e -= period[k] * np.floor(e / period[k])
        inside &= (e >= 0) & (e <= upper[k] - lower[k])
    return dist2 if inside else -1.0


@numba.njit(cache=True)
def pairs_within(tgt, src, period, ball, radius2, lower, upper):
    """(row, col, distance) of the pairs (target row, source col) inside the mask, in
    row-major order: a ball of radius² ``radius2`` if ``ball``, else the box [``lower``,
    ``upper``]; ``tgt``, ``src``: positions (n × dim); ``period[k]`` ≤ 0: not periodic
    along k. Two passes (count, then fill): no memory beyond the result. (The tests are
    inlined and branched on here: called through a helper they cost up to 5 times as much.)"""
    count = 0
    for i in range(tgt.shape[0]):
        for j in range(src.shape[0]):
            if ball:
                dist2 = _in_ball(tgt, src, i, j, period, radius2)
            else:
                dist2 = _in_box(tgt, src, i, j, period, lower, upper)
            if dist2 >= 0:
                count += 1
    row = np.empty(count, np.int64)
    col = np.empty(count, np.int64)
    dist = np.empty(count, np.float64)
    n = 0
    for i in range(tgt.shape[0]):
        for j in range(src.shape[0]):
            if ball:
                dist2 = _in_ball(tgt, src, i, j, period, radius2)
            else:
                dist2 = _in_box(tgt, src, i, j, period, lower, upper)
            if dist2 >= 0:
                row[n], col[n], dist[n] = i, j, np.sqrt(dist2)
                n += 1
    return row, col, dist
