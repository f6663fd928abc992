"""The MPI communicator that a run uses, and the collective error handling.

A script runs unchanged under ``python`` (one rank) and ``mpiexec -n K``. Errors never
leave a rank waiting in a collective: :meth:`Comm.agree` turns an exception on any rank
into the same :class:`~bigbrain.errors.RankError` on every rank, and an uncaught exception
in a multi-rank job aborts the whole job (:func:`abort_on_uncaught_exception`).
"""
import sys
import traceback

import numpy as np
from mpi4py import MPI

from .errors import RankError


class Comm:
    """A thin wrapper of an mpi4py communicator with the collectives bigbrain needs."""

    def __init__(self, mpi_comm=None):
        self.mpi = mpi_comm if mpi_comm is not None else MPI.COMM_WORLD
        self.rank = self.mpi.Get_rank()
        self.size = self.mpi.Get_size()

    def allgather(self, obj):
        return self.mpi.allgather(obj)

    def allreduce_min(self, value):
        return self.mpi.allreduce(value, op=MPI.MIN)

    def allreduce_max(self, value):
        return self.mpi.allreduce(value, op=MPI.MAX)

    def allreduce_max_array(self, arr):
        """Element-wise maximum over all ranks of an int64 array (the same shape on all)."""
        arr = np.ascontiguousarray(arr, np.int64)
        out = np.empty_like(arr)
        self.mpi.Allreduce(arr, out, op=MPI.MAX)
        return out

    def allgather_array(self, arr):
        """Concatenation, in rank order, of every rank's 1-D array (same dtype on all)."""
        arr = np.ascontiguousarray(arr)
        counts = np.array(self.mpi.allgather(arr.size), dtype=np.int64)
        out = np.empty(int(counts.sum()), dtype=arr.dtype)
        self.mpi.Allgatherv(arr, [out, counts])
        return out

    def alltoallv(self, send, send_counts, error=None):
        """Exchange a 1-D array split into consecutive blocks, one block per destination rank.

        Returns the concatenation (in source-rank order) of the blocks sent to this rank,
        and the size of each rank's block. ``error``: an exception raised on this rank
        before the exchange, or None; a rank with an error sends −1 counts, and then every
        rank raises (see :meth:`check`) instead of exchanging.
        """
        send_counts = np.array(send_counts, dtype=np.int64)
        if error is not None:
            send_counts[:] = -1
        recv_counts = np.empty(self.size, dtype=np.int64)
        self.mpi.Alltoall(send_counts, recv_counts)
        if error is not None or (recv_counts < 0).any():
            self.check(error)
        recv = np.empty(int(recv_counts.sum()), dtype=send.dtype)
        self.mpi.Alltoallv([send, send_counts], [recv, recv_counts])
        return recv, recv_counts

    def check(self, error):
        """Collective: raise on every rank if ``error`` (an exception or None) is set on any.

        The message lists each failing rank with its error, so the cause is visible
        whichever rank's output the user reads.
        """
        text = None if error is None else f"{type(error).__name__}: {error}"
        texts = self.mpi.allgather(text)
        failed = [(r, t) for r, t in enumerate(texts) if t is not None]
        if not failed:
            return
        if self.size == 1:
            raise error
        if error is not None and len(failed) == 1:
            raise error
        detail = "; ".join(f"rank {r}: {t}" for r, t in failed)
        raise RankError(detail)

    def agree(self, fn, *args, **kwargs):
        """Run ``fn`` on every rank; if it raises on any rank, raise on all (see :meth:`check`)."""
        result, error = None, None
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised collectively below
            error = exc
        self.check(error)
        return result


def abort_on_uncaught_exception():
    """In a multi-rank job, print an uncaught exception and abort all ranks (never hang)."""
    if MPI.COMM_WORLD.Get_size() == 1 or getattr(sys.excepthook, "_bigbrain", False):
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        rank = MPI.COMM_WORLD.Get_rank()
        sys.stderr.write(f"[bigbrain rank {rank}] uncaught exception, aborting all ranks:\n")
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
        previous(kind, value, tb)

    hook._bigbrain = True
    sys.excepthook = hook
