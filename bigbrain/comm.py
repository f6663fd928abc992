"""The MPI communicator that a run uses, and the collective error handling.

A script runs unchanged under ``python`` (one rank) and ``mpiexec -n K``. Errors never
leave a rank waiting in a collective: :meth:`Comm.agree` turns an exception on any rank
into an exception on every rank (the same one where the failing ranks agree, else a
:class:`~bigbrain.errors.RankError`), and an uncaught exception
in a multi-rank job aborts the whole job (:func:`abort_on_uncaught_exception`).
"""
import functools
import pickle
import sys
import time
import traceback

import numpy as np
from mpi4py import MPI

from .errors import ModelError, rank_error
from .kernels.csr import count_type
from .kernels.emulated import mirrored_blocks, moved_blocks


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
        """Concatenation, in rank order, of every rank's 1-D array (same dtype on all); a
        new array (on one rank a copy, without MPI calls)."""
        if self.size == 1:
            return np.array(arr, order="C")
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
        send_counts = np.asarray(send_counts, dtype=np.intc)  # MPI's counts: C ints
        if error is not None:
            send_counts = np.full(self.size, -1, np.intc)
        recv_counts = np.empty(self.size, dtype=np.intc)
        self.mpi.Alltoall(send_counts, recv_counts)
        if error is not None or (recv_counts < 0).any():
            self.check(error)
        recv = np.empty(int(recv_counts.sum()), dtype=send.dtype)
        self.mpi.Alltoallv([send, send_counts], [recv, recv_counts])
        return recv, recv_counts

    def check(self, error):
        """Collective: raise on every rank if ``error`` (an exception or None) is set on any.

        The same bad input raises the same error on every rank count: where every failing
        rank has the same error (type and message), every rank raises it, the ranks that
        did not fail a copy (with a note naming the failing ranks). Where the errors differ,
        every rank raises a :class:`~bigbrain.errors.RankError` listing each failing rank
        with its error, which is also an instance of the class the errors share (a
        ``ModelError``, say), so that the handler for that class still catches it.
        """
        if not self.mpi.allreduce(int(error is not None), op=MPI.MAX):
            return  # one small reduction while all is well, not P objects on every rank
        mine = None if error is None else (f"{type(error).__name__}: {error}", _portable(error))
        gathered = self.mpi.allgather(mine)
        failed = [(r, g) for r, g in enumerate(gathered) if g is not None]
        if not failed:
            return
        if self.size == 1:
            raise error
        texts = {text for _, (text, _) in failed}
        ranks = ", ".join(str(r) for r, _ in failed)
        if len(texts) == 1:
            if error is not None:
                raise error
            copy = _restored(failed[0][1][1])
            if copy is not None:
                copy.add_note(f"raised on rank(s) {ranks} of {self.size}")
                raise copy
        errors = [(r, text) for r, (text, _) in failed]
        kinds = [_restored(blob) for _, (_, blob) in failed]
        raise _shared_rank_error(errors, [k for k in kinds if k is not None])

    def agree(self, fn, *args, **kwargs):
        """Run ``fn`` on every rank; if it raises on any rank, raise on all (see :meth:`check`)."""
        result, error = None, None
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised collectively below
            error = exc
        self.check(error)
        return result


def _portable(error):
    """``error`` pickled to send to the other ranks, or None if it cannot be."""
    try:
        return pickle.dumps(error)
    except Exception:  # noqa: BLE001 - unpicklable attributes: the text still travels
        return None


def _restored(blob):
    try:
        return None if blob is None else pickle.loads(blob)
    except Exception:  # noqa: BLE001 - a class this rank cannot build: the text still travels
        return None


def _shared_rank_error(errors, examples):
    """The :func:`~bigbrain.errors.rank_error` for ``errors``, an instance of the most
    specific class that all ``examples`` (the failing ranks' errors) share."""
    if len(examples) < len(errors):
        return rank_error(errors)
    common = next(c for c in type(examples[0]).__mro__ if all(isinstance(e, c) for e in examples))
    error = rank_error(errors, common)
    fields = {getattr(e, "field", None) for e in examples}
    if isinstance(error, ModelError):
        error.field = fields.pop() if len(fields) == 1 else None
    return error


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


def _collective(method):
    """An emulated collective whose CPU time (``time.process_time``, s) is added to its
    :class:`EmulatedMPI`'s ``seconds``."""
    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        emulated = getattr(self, "comm", self)
        start = time.process_time()
        try:
            return method(self, *args, **kwargs)
        finally:
            emulated.seconds += time.process_time() - start
    return timed


#: Sources whose blocks :class:`EmulatedMPI` moves at a time (bounds its temporaries).
BLOCKS_CHUNK = 1 << 16


class EmulatedMPI:
    """One process that plays rank ``rank`` of ``size`` ranks, every one as loaded as it.

    A stand-in for an mpi4py communicator (``Network(comm=EmulatedMPI(...))``) that lets one
    process build (and run) the part of a network that one rank of a large job would,
    to measure its memory and time before a cluster run is submitted
    (``benchmarks/emulate.py``). Every collective is answered as if each other rank held
    the same load as this one, by symmetry under the round-robin partition (gid g on rank
    g mod P): what rank s sends to this rank r is what r sends to its mirror 2r − s (mod P),
    with the gids moved from the mirror's to r's (g + r − mirror, mod P within the
    ``n_nodes`` gids). int32 and int64 blocks are taken for gids, uint64 blocks for AER words
    and uint8, uint16 and uint32 blocks for positions among the receiving rank's gids
    (:mod:`bigbrain.exchange`); other data is passed unchanged. Reductions: MIN and MAX
    give this rank's value, SUM P times it; gathers give P copies. Only the collectives
    that ``alltoall`` and ``sparse`` exchanges, the build and the archive's telemetry use
    are answered (no mesh sub-communicators). The result is the load of one rank, not a
    simulation of the network: spikes from other ranks are this rank's, moved.

    ``seconds``: the CPU time spent in its collectives so far (s), which a cluster spends
    in MPI instead (moving the words over the network), to tell apart from the rank's own.
    """

    def __init__(self, size, rank, n_nodes):
        if not 0 <= rank < size <= n_nodes:
            raise ValueError(f"rank {rank} of {size} ranks of {n_nodes} nodes: need "
                             "0 <= rank < size <= n_nodes")
        self.size, self.rank, self.n_nodes = int(size), int(rank), int(n_nodes)
        self.seconds = 0.0

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size

    def mirror(self, source):
        """The rank whose sends to this rank stand for those of rank(s) ``source``."""
        return (2 * self.rank - np.asarray(source, np.int64)) % self.size

    def _motion(self, dtype):
        """(unit, limit, wrap, positions) in ``dtype`` that move its words
        (:func:`moved_blocks`): int32 and int64 as gids, uint64 as AER words (the gid above
        the step offset), narrower unsigned integers as positions among a rank's gids
        (requests located by the asking rank: :meth:`bigbrain.partition.Partition.located`;
        moved as the gids they stand for, limited to this rank's count of gids); other
        types stay (no shift, no word reaches the limit)."""
        if dtype in (np.uint8, np.uint16, np.uint32):
            mine = -(-(self.n_nodes - self.rank) // self.size)  # gids r, r + P, … below n
            return dtype.type(1), dtype.type(mine), dtype.type(1), True
        if dtype == np.uint64:
            from .kernels.aer import OFFSET_BITS
            unit = 1 << OFFSET_BITS
        elif dtype in (np.int32, np.int64):
            unit = 1
        else:
            top = np.inf if dtype.kind in "fc" else np.iinfo(dtype).max
            return dtype.type(0), dtype.type(top), dtype.type(0), False
        return dtype.type(unit), dtype.type(self.n_nodes * unit), dtype.type(self.size * unit), False

    # ------------------------------------------------------------ object collectives
    @_collective
    def allgather(self, obj):
        return [obj] * self.size

    @_collective
    def gather(self, obj, root=0):
        return [obj] * self.size if self.rank == root else None

    @_collective
    def bcast(self, obj, root=0):
        return obj

    @_collective
    def allreduce(self, value, op=MPI.SUM):
        return value * self.size if op == MPI.SUM else value

    def reduce(self, value, op=MPI.SUM, root=0):
        return self.allreduce(value, op) if self.rank == root else None

    @_collective
    def Barrier(self):
        pass

    # ------------------------------------------------------------ buffer collectives
    @_collective
    def Allreduce(self, send, recv, op=MPI.SUM):
        recv[...] = np.asarray(send) * (self.size if op == MPI.SUM else 1)

    def Iallreduce(self, send, recv, op=MPI.SUM):
        self.Allreduce(send, recv, op)
        return _Done()

    @_collective
    def Allgatherv(self, send, recv):
        out, counts = recv
        out[...] = np.tile(np.asarray(send), self.size)[:len(out)]

    @_collective
    def Alltoall(self, send, recv):
        # recv[s] = send[mirror(s)] = send[(2r − s) mod P]: the array reversed, in two slices
        send, m = np.asarray(send), 2 * self.rank % self.size
        recv[:m + 1] = send[m::-1]
        recv[m + 1:] = send[:m:-1]

    @_collective
    def Alltoallv(self, send, recv):
        data, counts = send
        out = recv[0]
        unit, limit, wrap, positions = self._motion(out.dtype)
        shift = 0 if positions else (-self.rank) % self.size  # rank 0's block's: its mirror is 2r
        mirrored_blocks(np.asarray(data, out.dtype), np.asarray(counts), self.rank,
                        out.dtype.type(shift) * unit, unit, limit, wrap, positions, out)

    def _blocks(self, data, counts, destinations, sources, out):
        """Fill ``out`` with the blocks received from ``sources`` (ranks, in order): each
        the block that ``data`` holds for the source's mirror among ``destinations``
        (ascending ranks, ``counts`` words each; none if the mirror is not one), moved
        (a graph's neighbourhood; every rank's: :meth:`Alltoallv`). Sources go
        :data:`BLOCKS_CHUNK` at a time: temporaries of one array of the destinations (the
        displacements) and of a chunk of sources."""
        counts = np.asarray(counts)
        first = np.cumsum(counts, dtype=count_type(len(data)))
        first -= counts  # where each destination's block starts in ``data`` (MPI's displacements)
        *motion, positions = self._motion(out.dtype)
        at = 0
        for lo in range(0, len(sources), BLOCKS_CHUNK):
            senders = self.mirror(sources[lo:lo + BLOCKS_CHUNK])
            # their positions among the destinations, where there
            i = np.searchsorted(destinations, senders).clip(0, max(len(destinations) - 1, 0))
            i = i[destinations[i] == senders] if len(destinations) else i[:0]
            shifts = self.rank - destinations[i]  # (r − mirror) mod P, without a division
            shifts[shifts < 0] += self.size
            if positions:  # moved by one where the gids they stand for pass a multiple of P
                shifts = shifts > self.rank
            at += moved_blocks(data, first, counts, i, shifts.astype(out.dtype), *motion, out[at:])

    def Split_type(self, kind):
        return _Single()

    def Create_dist_graph_adjacent(self, sources, destinations, reorder=False):
        return _EmulatedGraph(self, np.asarray(sources, np.int64), np.asarray(destinations, np.int64))

    def Split(self, color, key):
        raise NotImplementedError("the emulated communicator has no sub-communicators "
                                  "(exchange='mesh'); emulate 'alltoall' or 'sparse'")


class _EmulatedGraph:
    """The neighbourhood collectives of an :class:`EmulatedMPI` on a graph: a source's
    block is what this rank sends to the source's mirror (none if it sends it nothing)."""

    def __init__(self, comm, sources, destinations):
        self.comm, self.sources, self.destinations = comm, sources, destinations

    @_collective
    def Neighbor_alltoall(self, send, recv):
        mirrors = self.comm.mirror(self.sources)
        at = np.searchsorted(self.destinations, mirrors).clip(0, max(len(self.destinations) - 1, 0))
        hit = (self.destinations[at] == mirrors) if len(self.destinations) else np.zeros(len(at), bool)
        recv[...] = np.where(hit, np.asarray(send)[at] if len(self.destinations) else 0, 0)

    @_collective
    def Neighbor_alltoallv(self, send, recv):
        data, counts = send
        self.comm._blocks(data, counts, self.destinations, self.sources, recv[0])


class _Single:
    """A communicator of this process alone (the emulated rank's node)."""

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 1

    def allgather(self, obj):
        return [obj]

    def Free(self):
        pass


class _Done:
    def Wait(self):
        pass
