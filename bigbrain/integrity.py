"""Integrity of the record arrays: how many rows were written, and a checksum per chunk.

Every record array (spikes, V_m samples, weight samples, telemetry) carries
``attrs["written"] = {"length": n, "chunk_crc32": [c_0, c_1, …]}``, updated by the writer
after each write of rows (docs/archive-layout.md): ``length`` is the number of rows
written for good, ``c_k`` the CRC-32 (``zlib.crc32``) of the bytes (C order, stored
dtype) of rows ``k·chunk … min((k+1)·chunk, length) − 1``. Readers read the first
``length`` rows only (rows past it are from a write that a crash interrupted, or
foreign) and check each chunk they read against its checksum, so a deleted chunk (zarr
would return its fill value), a chunk replaced by another, or an array cut short is
reported, never returned as data. Arrays of archives written before these attributes
existed (no ``written``) are read as they are.
"""
import zlib

import numpy as np

from .errors import ArchiveError

ATTR = "written"


def crc32(rows):
    """CRC-32 of the bytes of ``rows`` (C order)."""
    return zlib.crc32(np.ascontiguousarray(rows).tobytes())


def attribute(length, crcs):
    """``attrs["written"]`` of an array of ``length`` rows whose chunks have CRCs ``crcs``."""
    return {"length": int(length), "chunk_crc32": [int(c) for c in crcs]}


def written(array):
    """``attrs["written"]`` of an array, or None (an array of an older archive)."""
    return array.attrs.get(ATTR)


def length(array, where):
    """Rows to read from ``array``: the length written; ArchiveError when fewer are
    stored (the array was cut short) or its chunk checksums do not cover them."""
    info = written(array)
    if info is None:
        return array.shape[0]
    n, chunk = info["length"], array.chunks[0]
    if array.shape[0] < n:
        raise ArchiveError(f"{where} is damaged: it holds {array.shape[0]} rows of the {n} written")
    if len(info["chunk_crc32"]) != -(-n // chunk):
        raise ArchiveError(f"{where} is damaged: {len(info['chunk_crc32'])} chunk checksums "
                           f"for {n} rows in chunks of {chunk}")
    return n


def check(array, start, rows, where, info=None):
    """Raise ArchiveError unless ``rows`` (read from row ``start``, a chunk boundary, up
    to a chunk boundary or the length written) match the checksums of their chunks."""
    info = written(array) if info is None else info
    if info is None:
        return
    chunk = array.chunks[0]
    for k in range(0, len(rows), chunk):
        index = (start + k) // chunk
        if crc32(rows[k:k + chunk]) != info["chunk_crc32"][index]:
            raise ArchiveError(f"{where} is damaged: chunk {index} (rows {start + k}…"
                               f"{start + min(k + chunk, len(rows)) - 1}) does not match its "
                               "checksum (a deleted or replaced chunk)")


def read(array, where, start=0, stop=None):
    """Rows ``start … stop−1`` (default: all written) of ``array``, checked: the whole
    chunks around them are read and compared with their checksums."""
    n = length(array, where)
    stop = n if stop is None else min(stop, n)
    if stop <= start:
        return array[0:0]
    if written(array) is None:
        return array[start:stop]
    chunk = array.chunks[0]
    lo, hi = start - start % chunk, min(n, -(-stop // chunk) * chunk)
    rows = _decoded(array, lo, hi, where)
    check(array, lo, rows, where)
    return rows[start - lo:stop - lo]


def _decoded(array, lo, hi, where):
    try:
        return array[lo:hi]
    except Exception as exc:  # noqa: BLE001 - any decoding failure means damaged data
        raise ArchiveError(f"{where} is damaged ({type(exc).__name__}: {exc})") from None


def dask_array(array, where):
    """The rows written of ``array`` as a dask array of its storage chunks, each chunk
    checked against its checksum when it is computed (lengths are checked now)."""
    import dask.array as da

    n = length(array, where)
    lazy = da.from_zarr(array)[:n]
    info = written(array)
    if info is None:
        return lazy

    def checked(rows, block_info=None):
        check(array, block_info[0]["array-location"][0][0], rows, where, info)
        return rows

    return lazy.map_blocks(checked, dtype=array.dtype)
