"""Small vectorised helpers on index arrays."""
import numpy as np

#: :func:`find` looks up more keys than this in a table larger than this in ascending order.
SORTED_LOOKUP = 1024
#: Chunk of the keys that :func:`find` looks up at a time.
LOOKUP_CHUNK = 1 << 18


def ranges(starts, counts):
    """Concatenation of arange(starts[i], starts[i] + counts[i]) for all i (int64; one
    temporary of the result's size)."""
    starts = np.asarray(starts, np.int64)
    counts = np.asarray(counts, np.int64)
    out = np.arange(int(counts.sum()), dtype=np.int64)
    out += np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return out


def distinct(values):
    """The distinct values, ascending, found by sorting a copy. ``np.unique`` hashes
    integers instead, which is 20–80 times slower on millions of gids spread over a wide
    range (its table does not fit the caches)."""
    out = np.sort(np.asarray(values).ravel())
    if len(out) < 2:
        return out
    first = np.empty(len(out), bool)
    first[0] = True
    np.not_equal(out[1:], out[:-1], out=first[1:])
    return out[first]


def find(table, keys):
    """``np.searchsorted(table, keys)`` (``table`` ascending). Many scattered keys in a
    large table are looked up in ascending order, chunk by chunk, and the positions put
    back: each search then starts in the cache lines of the last, several times faster on
    tables beyond the caches (temporaries: the order of the keys)."""
    keys = np.asarray(keys)
    if len(keys) <= SORTED_LOOKUP or len(table) <= SORTED_LOOKUP * 64:
        return np.searchsorted(table, keys)
    order = np.argsort(keys)
    out = np.empty(len(keys), np.int64)
    for at in range(0, len(keys), LOOKUP_CHUNK):
        chunk = order[at:at + LOOKUP_CHUNK]
        out[chunk] = np.searchsorted(table, keys[chunk])
    return out
