"""Per-target normalisation of plastic weights, in compiled code.

:func:`normalise_rows` scales the weights of each target's synapses to a given sum and
clips them, as NumPy does it on the (targets × sources) matrix of ``conn.get("weight")``:
``w.sum(axis=1)`` is NumPy's pairwise summation (:func:`pairwise_sum`, its algorithm:
eight partial sums for up to 128 values, halves beyond), so the weights are bit for bit
those of that NumPy code, without gathering the weights (they stay where they are stored)
or scattering them back.
"""
import numba
import numpy as np

#: NumPy's block of pairwise summation: up to this many values are summed in eight lanes.
PAIRWISE_BLOCK = 128


@numba.njit(cache=True)
def pairwise_sum(a, lo, n):
    """Sum of a[lo:lo + n] in the order of NumPy's pairwise summation (``np.add.reduce`` of
    a contiguous float64 row): blocks of up to :data:`PAIRWISE_BLOCK` values
    (:func:`_block_sum`), halves (a multiple of 8 first) added beyond. The halving runs on
    a stack, not by recursion (a cached recursive Numba function crashes when loaded)."""
    if n <= PAIRWISE_BLOCK:
        return _block_sum(a, lo, n)
    frames = np.empty((192, 3), np.int64)    # (first, count, halves added?): 64 levels at most
    values = np.empty(64)
    top, held = 0, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = lo, n, 0
    while top >= 0:
        first, count, done = frames[top, 0], frames[top, 1], frames[top, 2]
        top -= 1
        if count <= PAIRWISE_BLOCK:
            values[held] = _block_sum(a, first, count)
            held += 1
        elif done:
            values[held - 2] = values[held - 2] + values[held - 1]
            held -= 1
        else:
            half = count // 2
            half -= half % 8
            frames[top + 1, 0], frames[top + 1, 1], frames[top + 1, 2] = first, count, 1
            frames[top + 2, 0], frames[top + 2, 1], frames[top + 2, 2] = first + half, count - half, 0
            frames[top + 3, 0], frames[top + 3, 1], frames[top + 3, 2] = first, half, 0
            top += 3
    return values[0]


@numba.njit(cache=True)
def _block_sum(a, lo, n):
    """NumPy's pairwise sum of up to :data:`PAIRWISE_BLOCK` values: one by one below 8,
    else in eight lanes added as ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)), the rest after."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    m = n - n % 8
    for i in range(lo + 8, lo + m, 8):
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(lo + m, lo + n):
        res += a[i]
    return res


@numba.njit(cache=True)
def normalise_rows(weight, order, starts, total, w_max):
    """For each row r (the synapses ``order[starts[r]:starts[r + 1]]`` of ``weight``, one
    target's, in the order of ``Result.weights``): w · (total / sum) where the row sums
    to more than 0 (else w), clipped to [0, w_max], in place."""
    row = np.empty(max(np.diff(starts).max(), 0) if starts.shape[0] > 1 else 0)
    for r in range(starts.shape[0] - 1):
        a, b = starts[r], starts[r + 1]
        for j in range(a, b):
            row[j - a] = weight[order[j]]
        s = pairwise_sum(row, 0, b - a)
        scale = total / s if s > 0.0 else 1.0
        for j in range(a, b):
            w = row[j - a] * scale if s > 0.0 else row[j - a]
            weight[order[j]] = min(max(w, 0.0), w_max)
