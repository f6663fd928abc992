"""Compressed rows built chunk by chunk: group items by an integer key (row) in O(n).

Items arrive in chunks. A first pass counts the items of each row (:func:`pointers` turns
the counts into row pointers); a second pass over the same chunks in the same order gives
each item its slot (:func:`slots`), so the rows hold their items in arrival order (a
stable counting sort) and nothing but the final arrays and one chunk is ever in memory.
"""
import numba
import numpy as np

from .search import gallop


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

    def total(self):
        """Items in all rows (the last pointer)."""
        return int(self.base[(len(self.offset) - 1) >> BLOCK_BITS] + self.offset[-1])


#: log2 of the items of a chunk that :meth:`RowFill.slots` sorts at a time (at most).
SLOTS_BITS = 18


class RowFill:
    """The next free slot of each row of :class:`BlockPointers` ``rows`` while the rows
    are filled (the second pass, :meth:`slots`): the row's pointer plus the items placed
    in it so far, counted in the narrowest type that holds the longest row (1 byte per
    row where rows are short, not a copy of the full pointers)."""

    def __init__(self, rows):
        self.rows = rows
        self.placed = np.zeros(max(len(rows) - 1, 0), offset_type(_longest_row(rows.base, rows.offset)))

    def slots(self, table, keys):
        """Slot of each item of a chunk whose row is the position of its key (of ``keys``,
        non-negative integers) in ``table`` (ascending distinct, holding every key); the
        rows' counts advance. The items are sorted by (key, arrival) — one int64 sort of
        key and index packed together, at most 2^:data:`SLOTS_BITS` items at a time — and
        then found and placed in one forward walk over the table, the rows' pointers and
        counts: no search per item, no access scattered over the rows (tables beyond the
        caches: a rank's needed sources), and each row's items in arrival order."""
        keys = np.asarray(keys)
        out = np.empty(len(keys), np.int64)
        top = int(table[-1]) if len(table) else 0
        bits = min(SLOTS_BITS, 62 - top.bit_length())  # key and index fit an int64
        for at in range(0, len(keys), 1 << bits):
            packed = _packed(keys[at:at + (1 << bits)], bits)
            packed.sort()
            _sorted_slots(table, packed, bits, self.rows.base, self.rows.offset, self.placed,
                          out[at:at + len(packed)])
        return out


@numba.njit(cache=True)
def _packed(keys, bits):
    """``key << bits | index`` of each key (int64; one array, no temporaries)."""
    out = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        out[i] = (np.int64(keys[i]) << bits) | i
    return out


#: Rows :func:`_sorted_slots` steps over one by one before it gallops.
WALK = 16


@numba.njit(cache=True)
def _sorted_slots(table, packed, bits, base, offset, placed, out):
    """``out[index]``: the next slot of the row of ``key`` for each ``key << bits | index``
    of ``packed`` (ascending): the row (the key's position in ``table``) found forward
    from the last, a step at a time (keys about as dense as the table's), then galloping
    (keys far sparser: a chunk of a rank's synapses among 10^8 needed sources)."""
    mask = (1 << bits) - 1
    n, r = table.shape[0], 0
    for k in range(packed.shape[0]):
        key = packed[k] >> bits
        walked = 0
        while r < n and table[r] < key and walked < WALK:
            r += 1
            walked += 1
        r = gallop(table, key, r)
        out[packed[k] & mask] = base[r >> BLOCK_BITS] + offset[r] + placed[r]
        placed[r] += 1


@numba.njit(cache=True)
def _longest_row(base, offset):
    longest = 0
    for r in range(offset.shape[0] - 1):
        longest = max(longest, base[(r + 1) >> BLOCK_BITS] + offset[r + 1]
                      - base[r >> BLOCK_BITS] - offset[r])
    return longest


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


def count_type(n):
    """The integer type of MPI's counts and displacements for ``n`` items: int32 up to
    2^31 − 1 (C ints, what MPI takes), else int64."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


def grouped(values, key_of, n_keys, chunk=1 << 18):
    """(``values`` stably ordered by their keys ``key_of(values)``, ints in [0, n_keys),
    computed a chunk at a time: a counting sort, O(n + n_keys) with no temporary of n;
    the number of values of each key, int32 below 2^31 values (MPI's counts), else int64)."""
    counts = np.zeros(n_keys, count_type(len(values)))
    for at in range(0, len(values), chunk):
        _count(key_of(values[at:at + chunk]), counts)  # no bincount of n_keys per chunk
    out, fill = np.empty(len(values), values.dtype), pointers(counts, counts.dtype)[:-1]
    for at in range(0, len(values), chunk):
        part = values[at:at + chunk]
        _group(part, key_of(part), fill, out)
    return out, counts


#: Residues (rows) :func:`grouped_by_residue` places at a time: their next slots and
#: output stay in the caches however large the modulus.
RESIDUE_TILE = 1 << 13


def grouped_by_residue(values, modulus, quotient_type=None):
    """:func:`grouped` for ascending non-negative ``values`` keyed by ``value % modulus``
    (the ranks of a round-robin partition), without a division. The ascending values are
    sweeps of ascending residues, one per multiple of ``modulus``: one pass counts them,
    then a cache-blocked transpose places :data:`RESIDUE_TILE` residues at a time from
    every sweep, so that a value is written into a few cached rows instead of anywhere
    among ``modulus`` (a round of requests at 500,000 ranks: ~2 per row, each write a
    cache miss). O(n + modulus + sweeps × modulus / tile), the sweeps at most
    span / modulus + 1 (under round robin: a rank's neurons). With ``quotient_type``
    (an integer type that holds them) each value is placed as its quotient
    ``value // modulus`` instead (its sweep: under round robin the value's position among
    its owner's gids), still without a division."""
    values = np.ascontiguousarray(values)
    counts = np.empty(modulus, count_type(len(values)))
    out = np.empty(len(values), values.dtype if quotient_type is None else quotient_type)
    _grouped_by_residue(values, modulus, RESIDUE_TILE, quotient_type is not None, counts, out)
    return out, counts


@numba.njit(cache=True)
def _grouped_by_residue(values, modulus, tile, quotients, counts, out):
    n = values.shape[0]
    counts[:] = 0
    if n == 0:
        return
    first = values[0] // modulus * modulus  # the multiple of the modulus that starts sweep 0
    n_sweeps = (values[n - 1] - first) // modulus + 1
    at = np.empty(n_sweeps + 1, np.int64)  # where each sweep starts (then: its next value)
    sweep, top = 0, first + modulus
    at[0] = 0
    for i in range(n):
        while values[i] >= top:
            sweep += 1
            at[sweep] = i
            top += modulus
        counts[values[i] - (top - modulus)] += 1
    at[sweep + 1:] = n
    fill = np.empty(min(tile, modulus), np.int64)
    done = 0
    for lo in range(0, modulus, tile):
        hi = min(lo + tile, modulus)
        for r in range(lo, hi):
            fill[r - lo] = done
            done += counts[r]
        for s in range(n_sweeps):  # sweep by sweep: ascending within a residue
            start = first + s * modulus + lo
            quotient = first // modulus + s
            j, end, stop = at[s], at[s + 1], start + (hi - lo)
            while j < end:
                v = values[j]
                if v >= stop:
                    break
                out[fill[v - start]] = quotient if quotients else v
                fill[v - start] += 1
                j += 1
            at[s] = j


@numba.njit(cache=True)
def _count(keys, counts):
    for i in range(keys.shape[0]):
        counts[keys[i]] += 1


def count(keys, counts):
    """Add to ``counts`` how often each key (ints in [0, len(counts))) occurs in ``keys``
    (``np.bincount`` would copy the keys as int64 first)."""
    _count(keys, counts)


@numba.njit(cache=True)
def _place_blocks(sizes, keys, fill, out):
    i = 0
    for block in range(sizes.shape[0]):
        for _ in range(sizes[block]):
            out[fill[keys[i]]] = block
            fill[keys[i]] += 1
            i += 1


def place_blocks(sizes, keys, fill, out):
    """The second pass of :func:`grouped` for the block numbers of items that come in
    consecutive blocks of ``sizes`` items with row ``keys``, without an array of those
    numbers: each block number goes to ``out[fill[key]]`` (``fill``, the next free slot of
    each row, is advanced)."""
    _place_blocks(np.ascontiguousarray(sizes), keys, fill, out)


@numba.njit(cache=True)
def _merge(a_keys, a_counts, b_keys, b_counts, keys, counts, base, offset, write):
    """Merge into ``keys`` and, per key, ``counts`` or (``counts`` empty) the row pointers
    in blocks (``base``, ``offset``); with ``write`` false only ``base`` is written (a dry
    run that finds the largest offset). Returns (number of keys, largest offset)."""
    i = j = n = 0
    total = largest = 0
    while i < a_keys.shape[0] or j < b_keys.shape[0]:
        if j == b_keys.shape[0] or (i < a_keys.shape[0] and a_keys[i] < b_keys[j]):
            key, c = a_keys[i], a_counts[i]
            i += 1
        elif i == a_keys.shape[0] or b_keys[j] < a_keys[i]:
            key, c = b_keys[j], b_counts[j]
            j += 1
        else:
            key, c = a_keys[i], a_counts[i] + b_counts[j]
            i += 1
            j += 1
        if write:
            keys[n] = key
        if counts.shape[0]:
            counts[n] = c
        else:
            largest = max(largest, _block_row(n, total, base, offset, write))
            total += c
        n += 1
    if not counts.shape[0]:
        largest = max(largest, _block_row(n, total, base, offset, write))
    return n, largest


@numba.njit(cache=True)
def _block_row(r, ptr, base, offset, write):
    """Store row ``r``'s pointer ``ptr`` in blocks (its offset only if ``write``); return
    the offset."""
    if r & ((1 << BLOCK_BITS) - 1) == 0:
        base[r >> BLOCK_BITS] = ptr
    at = ptr - base[r >> BLOCK_BITS]
    if write:
        offset[r] = at
    return at


@numba.njit(cache=True)
def _n_distinct(values):
    n = min(values.shape[0], 1)
    for i in range(1, values.shape[0]):
        n += values[i] != values[i - 1]
    return n


@numba.njit(cache=True)
def _runs(values, counts):
    n = -1
    for i in range(values.shape[0]):
        if n < 0 or values[i] != values[n]:
            n += 1
            values[n] = values[i]
            counts[n] = 0
        counts[n] += 1


def runs_in_place(values, count_type):
    """(distinct values, how often each occurs as ``count_type``) of ``values`` (sorted,
    owning their data): the distinct values are written over the first ones and
    ``values`` is shrunk to them in place, the counts are the only new array."""
    counts = np.empty(_n_distinct(values), count_type)
    _runs(values, counts)
    values.resize(len(counts), refcheck=False)
    return values, counts


def merged_counts(a, b):
    """Two runs (ascending distinct keys, a count per key) merged into one run, the counts
    of a key in both summed (O(len(a) + len(b))). The longer run's arrays are grown and
    the result written into them (:func:`_grown_run`): no temporary but the shorter run's
    size. The runs' arrays are reused: do not keep them."""
    (keys, counts), (short_keys, short_counts) = sorted((a, b), key=lambda run: -len(run[0]))
    n_short = len(short_keys)
    keys = _grown_run(keys, n_short, np.result_type(keys, short_keys))
    counts = _grown_run(counts, n_short, np.result_type(counts, short_counts))
    none = np.zeros(0, np.int64)
    n, _ = _merge(keys[n_short:], counts[n_short:], short_keys, short_counts, keys, counts,
                  none, none, True)
    keys.resize(n, refcheck=False)
    counts.resize(n, refcheck=False)
    return keys, counts


def merged_rows(a, b, dtype):
    """:func:`merged_counts` with the summed counts written as row pointers in blocks
    (:class:`BlockPointers`, ``base`` of ``dtype``, offsets of the narrowest type, found
    by a dry run of the merge) instead: (keys, pointers), and no temporary of full
    pointers or counts (1 byte per key where rows are short, not 4 + 4). The keys are
    written into the longer run's, grown; the runs' arrays are reused."""
    (keys, counts), (short_keys, short_counts) = sorted((a, b), key=lambda run: -len(run[0]))
    n_short = len(short_keys)
    keys = _grown_run(keys, n_short, np.result_type(keys, short_keys))
    rows = BlockPointers.__new__(BlockPointers)
    rows.base = np.empty((len(keys) >> BLOCK_BITS) + 1, dtype)
    no_counts = np.zeros(0, dtype)
    args = (keys[n_short:], counts, short_keys, short_counts, keys, no_counts, rows.base)
    n, largest = _merge(*args, no_counts, False)
    rows.offset = np.empty(n + 1, offset_type(largest))
    _merge(*args, rows.offset, True)
    keys.resize(n, refcheck=False)
    rows.base.resize((n >> BLOCK_BITS) + 1, refcheck=False)
    return keys, rows


def _grown_run(values, n, dtype):
    """``values`` (of a run) as ``dtype``, grown by ``n`` items in place (``realloc``:
    large arrays grow without a copy) and moved to the end, where a merge into the array
    reads them: it writes item k at most where it read item k of this run."""
    if values.dtype != dtype or not values.flags.owndata:
        values = values.astype(dtype)
    size = len(values)
    values.resize(size + n, refcheck=False)
    _to_end(values, size)
    return values


@numba.njit(cache=True)
def _to_end(values, size):
    shift = values.shape[0] - size
    for i in range(size - 1, -1, -1):
        values[i + shift] = values[i]


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
