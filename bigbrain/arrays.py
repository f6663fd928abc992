"""Small vectorised helpers on index arrays."""
import ctypes
import ctypes.util

import numpy as np

from .kernels.search import positions_in_order, positions_in_place

#: :func:`find` looks up more keys than this in a table larger than this in ascending order.
SORTED_LOOKUP = 1024
#: Chunk of the keys that :func:`find` looks up at a time.
LOOKUP_CHUNK = 1 << 18


#: Largest gid of an int32 id array (:func:`id_type`).
INT32_MAX = np.iinfo(np.int32).max


def id_type(highest):
    """int32 for gids up to ``highest`` below 2^31 − 1 (half the bytes of the needed-source
    index up to 2·10^9 neurons), else int64."""
    return np.int32 if highest < INT32_MAX else np.int64


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


#: Values :func:`present` reads at a time.
PRESENT_CHUNK = 1 << 20


def present(n, values, key=None):
    """The distinct keys ``key(values)`` (``values`` themselves where ``key`` is None),
    integers in [0, ``n``), ascending: a flag per key set a chunk of values at a time,
    O(n + chunk) memory instead of a sorted copy of all values (:func:`distinct`): the
    ranks of a job among a rank's 10^8 needed sources or routing entries."""
    seen = np.zeros(n, bool)
    for at in range(0, len(values), PRESENT_CHUNK):
        part = values[at:at + PRESENT_CHUNK]
        seen[part if key is None else key(part)] = True
    return np.flatnonzero(seen)


def find(table, keys, dtype=np.int64):
    """``np.searchsorted(table, keys)`` (``table`` ascending, integer keys) as ``dtype``.
    Many keys in a large table are looked up in ascending order and the positions put
    back: each search gallops forward from the last
    (:func:`~bigbrain.kernels.search.positions_in_order`), one walk over the table,
    several times faster than binary searches on tables beyond the caches (one temporary:
    the order of the keys). Else chunk by chunk (temporaries of a chunk); an int32 table
    (of :func:`id_type`, so below 2^31 − 1) takes int64 keys as int32, those beyond
    clipped (all its values are below them). The table is never copied."""
    keys = np.asarray(keys)
    out = np.empty(keys.shape, dtype)
    if len(keys) <= SORTED_LOOKUP or len(table) <= SORTED_LOOKUP * 64:
        for at in range(0, len(keys), LOOKUP_CHUNK):
            out[at:at + LOOKUP_CHUNK] = np.searchsorted(table, _as_type_of(table, keys[at:at + LOOKUP_CHUNK]))
        return out
    keys = np.ascontiguousarray(keys).ravel()
    positions_in_order(np.ascontiguousarray(table), keys, np.argsort(keys), out.reshape(-1))
    return out


def find_in_place(table, keys):
    """:func:`find` written over ``keys`` (an integer array whose type holds
    ``len(table)``): no temporary. Each key's position is guessed from its value and
    walked to (:func:`~bigbrain.kernels.search.positions_in_place`): fast where the
    table's values are about evenly spaced (a rank's own gids), whatever the keys' order
    (requests in short ascending runs, one per asking rank). Returns ``keys``."""
    positions_in_place(np.ascontiguousarray(table), keys)
    return keys


def _as_type_of(table, keys):
    """``keys`` as ``table``'s int32, clipped, if it is (see :func:`find`)."""
    if table.dtype != np.int32 or keys.dtype == np.int32:
        return keys
    return np.clip(keys, -INT32_MAX, INT32_MAX).astype(np.int32)


def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory():
    """Give the pages of freed heap memory back to the system (glibc's ``malloc_trim``;
    elsewhere nothing). A build's passes free many arrays below glibc's mmap threshold
    (up to 32 MiB: chunks, tallies, request rounds) whose pages otherwise stay resident
    between the live arrays and count towards the rank's memory."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
