"""Spike exchange between ranks as address-event (AER) packets.

AER word (uint64), one per spike and destination rank::

    bits 63 … 16   source gid (48 bits)
    bits 15 … 0    step offset of the spike inside the current interval (< 65536)

A rank sends a spike only to the ranks that host targets of its source (multicast routing
table built at connect time: every rank tells each source's owner which sources it
needs). :class:`AlltoallExchange` moves one interval's packets with a single
``MPI.Alltoallv``. A rank that failed during the interval sends −1 counts instead, and
every rank then raises the same error (no rank is left waiting).
"""
import numpy as np

from .arrays import ranges

OFFSET_BITS = 16
OFFSET_MASK = np.uint64((1 << OFFSET_BITS) - 1)
MAX_INTERVAL = 1 << OFFSET_BITS


def pack(gids, offsets):
    """AER words for spikes of sources ``gids`` at step ``offsets`` inside the interval."""
    return (np.asarray(gids, np.uint64) << np.uint64(OFFSET_BITS)) | np.asarray(offsets, np.uint64)


def unpack(words):
    """(gids, offsets) of AER words, both int64."""
    return ((words >> np.uint64(OFFSET_BITS)).astype(np.int64),
            (words & OFFSET_MASK).astype(np.int64))


class RoutingTable:
    """For every local node (by local index), the ranks that host targets of it."""

    def __init__(self, comm, partition, local_gids, needed_gids):
        needed = np.unique(needed_gids)
        owners = partition.owner(needed)
        order = np.argsort(owners, kind="stable")
        requests, sizes = comm.alltoallv(needed[order].astype(np.int64),
                                         np.bincount(owners, minlength=comm.size))
        requester = np.repeat(np.arange(comm.size), sizes)
        local_index = np.searchsorted(local_gids, requests)
        order = np.lexsort((requester, local_index))
        self.ranks = requester[order].astype(np.int64)
        self.ptr = np.zeros(len(local_gids) + 1, np.int64)
        np.cumsum(np.bincount(local_index, minlength=len(local_gids)), out=self.ptr[1:])

    def destinations(self, local_index):
        """(spike index, destination rank) pairs for spikes of the given local nodes."""
        starts, stops = self.ptr[local_index], self.ptr[local_index + 1]
        n = stops - starts
        return np.repeat(np.arange(len(local_index)), n), self.ranks[ranges(starts, n)]


class AlltoallExchange:
    """One ``Alltoallv`` per interval; counts packets and bytes for telemetry."""

    name = "alltoall"

    def __init__(self, comm, routing):
        self.comm, self.routing = comm, routing
        self.packets_sent = 0
        self.packets_received = 0

    def exchange(self, local_index, gids, offsets, error=None):
        """Send this interval's spikes; return the received (source gids, offsets).

        ``error``: an exception raised on this rank during the interval, or None. If any
        rank reports one, every rank raises (see :meth:`Comm.check`).
        """
        comm = self.comm
        spike, dest = self.routing.destinations(local_index)
        order = np.argsort(dest, kind="stable")
        send = pack(gids[spike[order]], offsets[spike[order]])
        recv, _ = comm.alltoallv(send, np.bincount(dest, minlength=comm.size), error)
        self.packets_sent += len(send)
        self.packets_received += len(recv)
        return unpack(recv)
