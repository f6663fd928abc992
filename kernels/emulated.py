"""The blocks that :class:`bigbrain.comm.EmulatedMPI` delivers, copied and moved in one pass.

Rank r of the emulation receives from each source the block that r sends to the source's
mirror, its gids moved by (r − mirror) mod P (less P past the last gid). One compiled
pass copies a chunk of sources' blocks and moves them: no array of each word's shift or
position, which NumPy needs (several passes over words arriving in blocks of a few words
each when P is large).
"""
import numba


@numba.njit(cache=True)
def moved_blocks(data, first, counts, blocks, shifts, unit, limit, wrap, out):
    """Write into ``out`` the blocks ``data[first[b]:first[b] + counts[b]]`` for ``b`` in
    ``blocks``, each word plus ``shifts[k] · unit`` (``data``'s type) and less ``wrap``
    where it then reaches ``limit``. Returns the words written."""
    at = 0
    for k in range(blocks.shape[0]):
        b = blocks[k]
        shift = shifts[k] * unit
        for j in range(first[b], first[b] + counts[b]):
            value = data[j] + shift
            if value >= limit:
                value -= wrap
            out[at] = value
            at += 1
    return at
