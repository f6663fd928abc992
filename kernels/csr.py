"""Compressed rows built chunk by chunk: group items by an integer key (row) in O(n).

Items arrive in chunks. A first pass counts the items of each row (:func:`pointers` turns
the counts into row pointers); a second pass over the same chunks in the same order gives
each item its slot (:func:`slots`), so the rows hold their items in arrival order (a
stable counting sort) and nothing but the final arrays and one chunk is ever in memory.
"""
import numba
import numpy as np


#: log2 of the rows per block of :class:`BlockPointers`.
BLOCK_BITS = 6
#: Types a row's offset in its block may have, smallest first.
OFFSET_TYPES = (np.uint8, np.uint16, np.uint32, np.int64)


def pointers(counts, dtype=np.int64):
    """Row pointers (``dtype``, len(counts) + 1): the items of row r go to ptr[r]:ptr[r + 1]."""
    ptr = np.zeros(len(counts) + 1, dtype)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def offset_type(largest):
    """The smallest of :data:`OFFSET_TYPES` that holds offsets up to ``largest``."""
    return next(t for t in OFFSET_TYPES if largest <= np.iinfo(t).max)


class BlockPointers:
    """Row pointers stored in blocks of 2^:data:`BLOCK_BITS` (64) rows: the pointer of each
    block's first row (``base``, the pointers' type) and each row's offset from it
    (``offset``, one byte where a block's rows hold fewer than 256 items, else 2, 4 or 8
    bytes): ``ptr[r] = base[r >> BLOCK_BITS] + offset[r]``. Where rows are short (a rank of
    a large network has about one synapse per source it needs) this takes 1 byte per row
    instead of 4 and still finds a row's items in O(1)."""

    def __init__(self, ptr, dtype=None):
        """From full row pointers ``ptr``; ``dtype``: the offsets' type (default: the
        smallest that holds them). No temporary of the pointers' length."""
        ptr = np.ascontiguousarray(ptr)
        self.base = ptr[::1 << BLOCK_BITS].copy()
        self.offset = np.empty(len(ptr), dtype or offset_type(_largest_offset(ptr)))
        _offsets(ptr, self.offset)

    def __len__(self):
        return len(self.offset)

    def pointers(self):
        """The full row pointers (the type of ``base``)."""
        ptr = np.empty(len(self.offset), self.base.dtype)
        _pointers(self.base, self.offset, ptr)
        return ptr

    @property
    def nbytes(self):
        return self.base.nbytes + self.offset.nbytes


@numba.njit(cache=True)
def _largest_offset(ptr):
    largest = 0
    for r in range(ptr.shape[0]):
        largest = max(largest, ptr[r] - ptr[r >> BLOCK_BITS << BLOCK_BITS])
    return largest


@numba.njit(cache=True)
def _offsets(ptr, offset):
    for r in range(ptr.shape[0]):
        offset[r] = ptr[r] - ptr[r >> BLOCK_BITS << BLOCK_BITS]


@numba.njit(cache=True)
def _pointers(base, offset, ptr):
    for r in range(ptr.shape[0]):
        ptr[r] = base[r >> BLOCK_BITS] + offset[r]


@numba.njit(cache=True)
def _slots(keys, fill, out):
    for i in range(keys.shape[0]):
        out[i] = fill[keys[i]]
        fill[keys[i]] += 1


def slots(keys, fill):
    """Slot of each item of a chunk with row ``keys`` (int64 in [0, len(fill))); ``fill``
    (initially a copy of ``ptr[:-1]``, of its type) is the next free slot of each row and
    is advanced."""
    out = np.empty(len(keys), np.int64)
    _slots(np.ascontiguousarray(keys, np.int64), fill, out)
    return out


@numba.njit(cache=True)
def _group(values, keys, fill, out):
    for i in range(keys.shape[0]):
        out[fill[keys[i]]] = values[i]
        fill[keys[i]] += 1


def grouped(values, key_of, n_keys, chunk=1 << 18):
    """(``values`` stably ordered by their keys ``key_of(values)``, ints in [0, n_keys),
    computed a chunk at a time: a counting sort, O(n + n_keys) with no temporary of n;
    the number of values of each key)."""
    counts = np.zeros(n_keys, np.int64)
    for at in range(0, len(values), chunk):
        counts += np.bincount(key_of(values[at:at + chunk]), minlength=n_keys)
    out, fill = np.empty(len(values), values.dtype), pointers(counts)[:-1]
    for at in range(0, len(values), chunk):
        part = values[at:at + chunk]
        _group(part, key_of(part), fill, out)
    return out, counts


@numba.njit(cache=True)
def _count(keys, counts):
    for i in range(keys.shape[0]):
        counts[keys[i]] += 1


@numba.njit(cache=True)
def _group_blocks(sizes, keys, fill, out):
    i = 0
    for block in range(sizes.shape[0]):
        for _ in range(sizes[block]):
            out[fill[keys[i]]] = block
            fill[keys[i]] += 1
            i += 1


def grouped_blocks(sizes, keys, n_keys):
    """:func:`grouped` of the block number (int16, or int32 from 32,768 blocks) of items
    that come in consecutive blocks of ``sizes`` items, without an array of those numbers."""
    counts = np.zeros(n_keys, np.int64)
    _count(keys, counts)  # np.bincount would copy the keys as int64 first
    out = np.empty(len(keys), np.int16 if len(sizes) <= np.iinfo(np.int16).max else np.int32)
    _group_blocks(np.asarray(sizes, np.int64), keys, pointers(counts)[:-1], out)
    return out, counts


@numba.njit(cache=True)
def _merge(a_keys, a_counts, b_keys, b_counts, keys, counts):
    i = j = n = 0
    while i < a_keys.shape[0] or j < b_keys.shape[0]:
        if j == b_keys.shape[0] or (i < a_keys.shape[0] and a_keys[i] < b_keys[j]):
            keys[n], counts[n] = a_keys[i], a_counts[i]
            i += 1
        elif i == a_keys.shape[0] or b_keys[j] < a_keys[i]:
            keys[n], counts[n] = b_keys[j], b_counts[j]
            j += 1
        else:
            keys[n], counts[n] = a_keys[i], a_counts[i] + b_counts[j]
            i += 1
            j += 1
        n += 1
    return n


def merged_counts(a, b):
    """Two runs (ascending distinct keys, a count per key) merged into one run, the counts
    of a key in both summed (O(len(a) + len(b)), no temporary beyond the result)."""
    (a_keys, a_counts), (b_keys, b_counts) = a, b
    keys = np.empty(len(a_keys) + len(b_keys), np.result_type(a_keys, b_keys))
    counts = np.empty(len(keys), np.result_type(a_counts, b_counts))
    n = _merge(a_keys, a_counts, b_keys, b_counts, keys, counts)
    keys.resize(n, refcheck=False)
    counts.resize(n, refcheck=False)
    return keys, counts


@numba.njit(cache=True)
def _sort_rows(ptr, keys, a, b):
    for r in range(ptr.shape[0] - 1):
        lo, hi = ptr[r], ptr[r + 1]
        ordered = True
        for i in range(lo + 1, hi):
            if keys[i] < keys[i - 1]:
                ordered = False
                break
        if ordered:
            continue
        order = lo + np.argsort(keys[lo:hi], kind="mergesort")
        keys[lo:hi] = keys[order]
        if a.shape[0]:
            a[lo:hi] = a[order]
        if b.shape[0]:
            b[lo:hi] = b[order]


def sort_rows(ptr, keys, a, b):
    """Stably sort the items of each row by ``keys``, in place, moving ``a`` and ``b`` (per
    item, or empty: none) along; a row already in order is only read (O(n) then)."""
    _sort_rows(ptr, keys, a, b)


@numba.njit(cache=True)
def repeats(ptr, values):
    """Whether each row (``values[ptr[k]:ptr[k + 1]]``) equals the row before it (row 0:
    False); O(items), no temporaries."""
    n = ptr.shape[0] - 1
    out = np.zeros(max(n, 0), np.bool_)
    for k in range(1, n):
        a, b = ptr[k - 1], ptr[k]
        length = ptr[k + 1] - b
        if length != b - a:
            continue
        same = True
        for j in range(length):
            if values[a + j] != values[b + j]:
                same = False
                break
        out[k] = same
    return out
