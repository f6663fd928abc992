"""The blocks that :class:`bigbrain.comm.EmulatedMPI` delivers, copied and moved in one pass.

Rank r of the emulation receives from each source the block that r sends to the source's
mirror, its gids moved by (r − mirror) mod P (less P past the last gid). One compiled
pass copies the blocks and moves them: no array of each word's shift or position, which
NumPy needs (several passes over words arriving in blocks of a few words each when P is
large), and, from every rank (:func:`mirrored_blocks`), no array of P either. Requests
sent as positions among the owner's gids (:meth:`bigbrain.partition.Partition.located`)
are moved as the gids they stand for: by one where the gid passes a multiple of P.
"""
import numba


@numba.njit(cache=True, inline="always")
def _move(data, start, count, shift, limit, wrap, out, at):
    """Write ``data[start:start + count]`` plus ``shift`` (less ``wrap`` where a word then
    reaches ``limit``) into ``out`` from ``at``; returns the next free position."""
    for j in range(start, start + count):
        value = data[j] + shift
        if value >= limit:
            value -= wrap
        out[at] = value
        at += 1
    return at


@numba.njit(cache=True)
def moved_blocks(data, first, counts, blocks, shifts, unit, limit, wrap, out):
    """Write into ``out`` the blocks ``data[first[b]:first[b] + counts[b]]`` for ``b`` in
    ``blocks``, each word plus ``shifts[k] · unit`` (``data``'s type) and less ``wrap``
    where it then reaches ``limit``. Returns the words written."""
    at = 0
    for k in range(blocks.shape[0]):
        b = blocks[k]
        at = _move(data, first[b], counts[b], shifts[k] * unit, limit, wrap, out, at)
    return at


@numba.njit(cache=True)
def mirrored_blocks(data, counts, rank, shift, unit, limit, wrap, positions, out):
    """:func:`moved_blocks` of what rank ``rank`` receives from every rank s = 0 … P − 1
    (P = ``len(counts)``): the block for s's mirror m = (2 · rank − s) mod P, moved by
    (rank − m) mod P units; ``shift`` is that of s = 0 times ``unit`` (all of ``data``'s
    type). The mirrors descend from 2 · rank mod P, wrapping once, so each block starts
    where the one after it does less its count, and its shift grows by a unit: one sum of
    P counts, no displacements. With ``positions`` the words are positions among a
    rank's gids under round robin (``shift`` 0, ``unit`` 1): moved by one where
    m > rank (the gids they stand for, moved, then pass a multiple of P)."""
    size = counts.shape[0]
    m = 2 * rank % size
    start = total = 0
    for b in range(size):
        if b == m:
            start = total
        total += counts[b]
    at = 0
    for _ in range(size):
        moved = shift
        if positions and m > rank:
            moved = unit
        at = _move(data, start, counts[m], moved, limit, wrap, out, at)
        if not positions:
            shift += unit
            if shift == wrap:
                shift -= wrap
        if m == 0:
            m = size - 1
            start = total - counts[m]
        else:
            m -= 1
            start -= counts[m]
    return at
