"""Small vectorised helpers on index arrays."""
import numpy as np


def ranges(starts, counts):
    """Concatenation of arange(starts[i], starts[i] + counts[i]) for all i (int64; one
    temporary of the result's size)."""
    starts = np.asarray(starts, np.int64)
    counts = np.asarray(counts, np.int64)
    out = np.arange(int(counts.sum()), dtype=np.int64)
    out += np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return out
