"""Small vectorised helpers on index arrays."""
import numpy as np


def ranges(starts, counts):
    """Concatenation of arange(starts[i], starts[i] + counts[i]) for all i (int64)."""
    starts = np.asarray(starts, np.int64)
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return offsets + np.arange(total, dtype=np.int64)
