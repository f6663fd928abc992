"""Spike exchange between ranks as address-event (AER) packets.

AER word (uint64), one per spike and destination::

    bits 63 … 16   source gid (48 bits)
    bits 15 … 0    step offset of the spike inside the current interval (< 65536)

A rank sends a spike only towards the ranks that host targets of its source (multicast
routing tables built at connect time: every rank asks for the sources it needs). Three
strategies move one interval's packets (``Network(exchange=...)``); all deliver the same
packets, so the spikes are bit-identical:

* ``alltoall`` (:class:`AlltoallExchange`): one ``MPI.Alltoallv`` over all ranks.
* ``sparse`` (:class:`SparseExchange`): neighbourhood collectives
  (``Neighbor_alltoallv``) on a distributed graph topology whose edges join only the
  ranks that share synapses.
* ``mesh`` (:class:`MeshExchange`): the ranks form a logical 2-D mesh
  (:mod:`bigbrain.partition.mesh`); a packet goes along its row to the destination's
  column, where that column's rank (the intermediate router) forwards it along the
  column: dimension-ordered routing in two message phases, over the row and the column
  sub-communicators, so a rank talks to (cols − 1) + (rows − 1) others instead of P − 1.
  Multicast: a spike is sent once to each destination column, and forwarded once to each
  destination row of that column; the split happens in the routers' tables (the source
  knows the columns, the intermediate the rows), so a packet stays one 8-byte word.

On a single rank (``python script.py``) no strategy makes an MPI call or packs words: the
spikes of sources with targets stay, in their order, and the counters change as the
strategy's would (:meth:`Exchange._alone`); a one-step minimum delay pays the exchange
every step.

Errors: a rank that failed during the interval still takes part, and then every rank
raises (:meth:`bigbrain.comm.Comm.check`), never leaving a rank waiting. ``alltoall`` and
``mesh`` flag the failure with −1 counts (over the row and then the column, which reaches
every rank); ``sparse`` with a non-blocking ``Iallreduce`` that overlaps its messages.

Every strategy keeps :class:`~bigbrain.traffic.Traffic` counters (pairs, mesh links,
hops, messages).
"""
from functools import cached_property

import numpy as np
from mpi4py import MPI

from .arrays import distinct, find_in_place, present, ranges, release_freed_memory
from .comm import Comm
from .kernels.csr import count, grouped, offset_type, place_blocks, pointers, repeats, sort_rows
from .kernels.aer import OFFSET_BITS, pack, route, unpack
from .partition.mesh import Mesh
from .traffic import Traffic

MAX_INTERVAL = 1 << OFFSET_BITS


#: Requests a rank sends per round while the routing tables are built: the buffers of a
#: round (sent and received: 2 B per request as positions among at most 65,536 nodes of
#: the owner, 4 B beyond, 4 or 8 B as gids) stay this small however many sources a rank
#: needs. 2^22: one round for a rank of 2,000 neurons of a 10^9-neuron network (2.5·10^6
#: needed sources; 5 MiB each way), whose ranks then arrive sorted.
REQUEST_ROUND = 1 << 22
#: ... but at least this many per rank of the communicator: a round's arrays of one entry
#: per rank (counts and displacements, 4 B each: MPI's C ints) stay about as large as its
#: requests.
REQUESTS_PER_RANK = 2
#: Keys a rank may hold for its received requests to be kept, as positions among the keys
#: (2 B each), over all rounds: then each round is sent once, not twice.
KEPT_KEYS = np.iinfo(np.uint16).max


class RoutingTable:
    """For every key (ascending gids), the ranks of one communicator that asked for it:
    ``ranks[ptr[k]:ptr[k + 1]]`` (int16 up to 32,767 ranks, else int32; ascending) for key
    ``keys[k]``."""

    def __init__(self, keys, ranks, ptr):
        self.keys, self.ranks, self.ptr = keys, ranks, ptr

    @classmethod
    def requested(cls, comm, group, wanted, keys=None, located=None):
        """Collective on ``comm`` (a :class:`Comm`): every rank asks for each key of ``wanted``
        (ascending distinct keys) the rank that ``group`` says: ``group(keys)`` gives
        (``keys`` grouped by the rank of ``comm`` to ask, how many each rank gets, as
        :func:`~bigbrain.kernels.csr.grouped`). Returns each holder's table, keyed by ``keys``
        (ascending, holding every requested key) or by the distinct requested keys.
        ``located`` (with ``keys``): a ``group`` that gives each key as its position in its
        holder's ``keys`` instead (:meth:`~bigbrain.partition.Partition.located`; unsigned
        integers), which the holder then need not look up.

        The requests go in rounds of at most :data:`REQUEST_ROUND` per rank (or
        :data:`REQUESTS_PER_RANK` per rank of ``comm``, if more; as many rounds
        on every rank). Two passes over them: the first counts each key's requests, the
        second puts the asking ranks in place (then, after several rounds, each key's are
        sorted). The rounds are sent once and their requests kept as positions among the
        keys where one round holds them all or the keys are few (:data:`KEPT_KEYS`: 2 B per
        request), else sent again for the second pass. Temporaries: one round's requests
        sent and received, never all of them (but those kept)."""
        rounds = _RequestRounds(comm, located or group, np.asarray(wanted), located is not None)
        if keys is None:
            keys = rounds.keys()
        keep = rounds.n == 1 or len(keys) <= KEPT_KEYS
        each = rounds.kept(keys) if keep else (lambda use: rounds.each(keys, use))
        counts = np.zeros(len(keys), np.int64)
        each(lambda requests, _: count(requests, counts))
        ptr = pointers(counts)
        ranks = np.empty(int(ptr[-1]), np.int16 if comm.size <= np.iinfo(np.int16).max else np.int32)
        fill = ptr[:-1].copy()
        each(lambda requests, sizes: place_blocks(sizes, requests, fill, ranks))
        if rounds.n > 1:  # in one round each key's ranks arrive ascending (blocks in rank order)
            sort_rows(ptr, ranks, ranks[:0], ranks[:0])
        return cls(keys, ranks, ptr)

    def route(self, key_index, gids, offsets, n_ranks):
        """(AER words of spikes of sources ``gids`` at steps ``offsets``, copied once per
        destination rank of their key and grouped by rank, number of words per rank) for
        spikes of the given keys (by index)."""
        return route(np.asarray(key_index, np.int64), gids, offsets, self.ptr, self.ranks, n_ranks)

    def peers(self, n_ranks):
        """The ranks (of ``n_ranks``) this table sends to, ascending."""
        return present(n_ranks, self.ranks)


class RunTable:
    """A :class:`RoutingTable` stored as runs: consecutive keys whose destination lists are
    equal share one entry, and a destination is one byte where there are at most 256
    (a row or column of the mesh). Run i starts at key ``starts[i]`` (ascending gids) and
    its destinations are ``ranks[ptr[i]:ptr[i + 1]]``. A gid is looked up as the run that
    starts at or before it, so only the table's keys may be looked up (the gids that
    arrive). Where every source goes to the same columns or rows (each rank pair shares
    synapses) the table is one run; else at most one per key, in 8 B and a byte per
    destination instead of 12 B (the key, an int64 pointer) and two bytes."""

    def __init__(self, table, n_dest):
        first = np.flatnonzero(~repeats(table.ptr, table.ranks))
        self.starts = table.keys[first].copy()
        counts = table.ptr[first + 1] - table.ptr[first]
        self.ptr = pointers(counts, np.min_scalar_type(len(table.ranks)))
        dtype = np.uint8 if n_dest <= 256 else table.ranks.dtype
        self.ranks = table.ranks[ranges(table.ptr[first], counts)].astype(dtype)

    def destinations(self, gids):
        """(packet index, destination) pairs for packets of sources ``gids`` (keys)."""
        run = np.searchsorted(self.starts, gids, side="right") - 1
        starts, stops = self.ptr[run].astype(np.int64), self.ptr[run + 1].astype(np.int64)
        n = stops - starts
        return np.repeat(np.arange(len(gids)), n), self.ranks[ranges(starts, n)].astype(np.int64)


class _RequestRounds:
    """The requests of :meth:`RoutingTable.requested`, sent and received round by round
    (each round: this rank's next ``size`` wanted keys, grouped by owner)."""

    def __init__(self, comm, group, wanted, located=False):
        self.comm, self.group, self.wanted, self.located = comm, group, wanted, located
        self.size = max(REQUEST_ROUND, REQUESTS_PER_RANK * comm.size)
        self.n = comm.allreduce_max(-(-len(wanted) // self.size))

    def _each(self, use):
        """Call ``use(requests received, how many from each rank)`` for each round; a
        round's arrays are freed, and their pages given back, before the next round's are
        made (else they stay resident between the arrays kept)."""
        for at in range(0, self.n * self.size, self.size):
            send, sizes = self.group(self.wanted[at:at + self.size])
            requests, sizes = self.comm.alltoallv(send, sizes)
            del send
            use(requests, sizes)
            del requests, sizes
            release_freed_memory()

    def each(self, keys, use):
        """:meth:`_each` with each request turned (in place) into its key's position in
        ``keys`` (where it is not one already: ``located``)."""
        if self.located:
            return self._each(use)
        self._each(lambda requests, sizes: use(find_in_place(keys, requests), sizes))

    def kept(self, keys):
        """:meth:`each`, every round received once and kept: its requests as positions
        in ``keys`` and its sizes, each in the narrowest type that holds them
        (:func:`~bigbrain.kernels.csr.offset_type`; a single round's requests as they
        are). Each pass calls the returned function with ``use``."""
        got = []

        def keep(requests, sizes):
            if self.n > 1:
                requests = requests.astype(offset_type(len(keys)), copy=False)
            got.append((requests, sizes.astype(offset_type(sizes.max(initial=0)))))
        self.each(keys, keep)

        def each(use):
            for requests, sizes in got:
                use(requests, sizes)
        return each

    def keys(self):
        """The distinct requested keys, ascending (merged round by round)."""
        keys = [np.zeros(0, self.wanted.dtype)]

        def add(requests, _):
            keys.append(distinct(np.concatenate([keys.pop(), distinct(requests)])))
        self._each(add)
        return keys[0]


def by_destination(words, dest, n_dest):
    """``words`` sorted by destination index (stable) and the count per destination."""
    order = np.argsort(dest, kind="stable")
    return words[order], np.bincount(dest, minlength=n_dest)


class Exchange:
    """What the strategies share: unpacking the received AER words, delivery accounting,
    telemetry.

    Subclasses implement ``_move(local_index, gids, offsets, error)``: send the AER words
    of the spikes of local nodes ``local_index`` (sources ``gids`` at steps ``offsets``) to
    every rank that needs them; return the words this rank received and whether any rank
    reported an error.
    """

    name = ""
    #: Message phases a packet goes through (each counts its words sent and received).
    PHASES = 1

    def __init__(self, comm, partition, local_gids, needed):
        self.comm, self.partition = comm, partition
        self.mesh = Mesh(comm.size)
        self._route(local_gids, needed)
        # after the tables: its arrays of one entry per rank never sit beside the requests'
        self.traffic = Traffic(self.mesh, partition, comm.rank)

    def _route(self, local_gids, needed):
        """Build the routing tables of this rank's nodes ``local_gids`` (ascending) for the
        sources that its targets need, ``needed`` (ascending distinct gids; collective)."""
        raise NotImplementedError

    def exchange(self, local_index, gids, offsets, error=None):
        """Send this interval's spikes (local index, gid and step offset of each); return
        the received (source gids, offsets).

        ``error``: an exception raised on this rank during the interval, or None. If any
        rank reports one, every rank raises (see :meth:`Comm.check`).
        """
        if self.comm.size == 1:
            return self._alone(local_index, gids, offsets, error)
        words, failed = self._move(local_index, gids, offsets, error)
        if failed:
            self.comm.check(error)
        src_gid, src_off = unpack(words)
        self.traffic.delivered(src_gid)
        return src_gid, src_off

    def _alone(self, local_index, gids, offsets, error):
        """:meth:`exchange` on a single rank, without MPI calls or packing: the spikes of
        sources with targets, in their order (as the strategies deliver them), and the
        same traffic counters."""
        if error is not None:
            self.comm.check(error)
        if len(local_index):
            keep = self._has_targets[local_index]
            gids, offsets = gids[keep], offsets[keep]
        self.traffic.alone(len(gids), self.PHASES)
        return gids, offsets

    @cached_property
    def _has_targets(self):
        """Whether each local node (by local index) has targets (on this single rank)."""
        return np.diff(self.table.ptr) > 0

    @property
    def packets_sent(self):
        return self.traffic.words_sent

    @property
    def packets_received(self):
        return self.traffic.words_received

    def describe(self):
        return {"strategy": self.name, "mesh": [self.mesh.rows, self.mesh.cols]}

    def table_bytes(self):
        """Bytes of this rank's routing tables (their keys are the rank's own gids, which
        the simulation holds, and are not counted)."""
        return self.table.ptr.nbytes + self.table.ranks.nbytes


def _needed_table(comm, partition, local_gids, needed):
    """Routing table at each source's owner: which ranks host targets of its local nodes."""
    return RoutingTable.requested(comm, partition.grouped, needed, local_gids,
                                  partition.located if partition.LOCATES else None)


class AlltoallExchange(Exchange):
    """One ``Alltoallv`` over all ranks per interval."""

    name = "alltoall"

    def _route(self, local_gids, needed):
        self.table = _needed_table(self.comm, self.partition, local_gids, needed)

    def _move(self, local_index, gids, offsets, error):
        send, counts = self.table.route(local_index, gids, offsets, self.comm.size)
        self.traffic.unicast(counts)
        recv, recv_counts, failed = _flagged_alltoallv(self.comm, send, counts, error is not None)
        self.traffic.sent(counts, recv_counts, self.comm.size - 1, me=self.comm.rank)
        return recv, failed


class SparseExchange(Exchange):
    """Neighbourhood collectives on a distributed graph of the ranks that share synapses."""

    name = "sparse"

    def _route(self, local_gids, needed):
        comm = self.comm
        self.table = _needed_table(comm, self.partition, local_gids, needed)
        self.targets = self.table.peers(comm.size)
        self.sources = present(comm.size, needed, self.partition.owner)
        self.graph = comm.mpi.Create_dist_graph_adjacent(self.sources.tolist(), self.targets.tolist(),
                                                         reorder=False)
        self.n_peers = int(np.count_nonzero(self.targets != comm.rank))

    def _move(self, local_index, gids, offsets, error):
        flag = np.array([error is not None], np.int8)
        any_failed = np.zeros(1, np.int8)
        request = self.comm.mpi.Iallreduce(flag, any_failed, op=MPI.MAX)
        send, per_rank = self.table.route(local_index, gids, offsets, self.comm.size)
        self.traffic.unicast(per_rank)
        counts = per_rank[self.targets]
        recv_counts = np.empty(len(self.sources), np.int64)
        self.graph.Neighbor_alltoall(counts, recv_counts)
        recv = np.empty(int(recv_counts.sum()), np.uint64)
        self.graph.Neighbor_alltoallv([send, counts], [recv, recv_counts])
        request.Wait()
        me = np.searchsorted(self.targets, self.comm.rank)
        self.traffic.sent(counts, recv_counts, self.n_peers,
                          me if me < len(self.targets) and self.targets[me] == self.comm.rank else None)
        return recv, bool(any_failed[0])


class MeshExchange(Exchange):
    """Dimension-ordered routing over the logical 2-D mesh: row phase, then column phase."""

    name = "mesh"
    PHASES = 2

    def _route(self, local_gids, needed):
        comm, mesh, partition = self.comm, self.mesh, self.partition
        row, col = int(mesh.row(comm.rank)), int(mesh.col(comm.rank))
        self.row_comm = Comm(comm.mpi.Split(row, col))
        self.col_comm = Comm(comm.mpi.Split(col, row))
        def by_owners(place, n):
            """Grouping of gids by ``place`` (a row or column, of ``n``) of their owners."""
            return lambda gids: grouped(gids, lambda g: place(partition.owner(g)), n)

        # The intermediate of (source owner o, destination d) is (row of o, column of d).
        forward = RoutingTable.requested(self.col_comm, by_owners(mesh.row, mesh.rows), needed)
        table = RoutingTable.requested(self.row_comm, by_owners(mesh.col, mesh.cols), forward.keys,
                                       local_gids)
        self.forward, self.table = RunTable(forward, mesh.rows), RunTable(table, mesh.cols)
        if comm.size == 1:
            self._has_targets = np.diff(table.ptr) > 0

    def _move(self, local_index, gids, offsets, error):
        t, mesh, words = self.traffic, self.mesh, pack(gids, offsets)
        spike, dest_col = self.table.destinations(gids)
        t.multicast(0, t.col, spike, dest_col, len(local_index))
        send, counts = by_destination(words[spike], dest_col, mesh.cols)
        got, got_counts, failed = _flagged_alltoallv(self.row_comm, send, counts, error is not None)
        t.sent(counts, got_counts, mesh.cols - 1, me=t.col)
        origin_col = np.repeat(np.arange(mesh.cols), got_counts)
        packet, dest_row = self.forward.destinations(unpack(got)[0])
        t.multicast(1, t.row, packet, dest_row, len(got))
        t.add_hops(np.abs(origin_col[packet] - t.col) + np.abs(dest_row - t.row))
        send, counts = by_destination(got[packet], dest_row, mesh.rows)
        recv, recv_counts, failed = _flagged_alltoallv(self.col_comm, send, counts, failed)
        t.sent(counts, recv_counts, mesh.rows - 1, me=t.row)
        return recv, failed

    def table_bytes(self):
        """Bytes of the routing table (row phase) and the forwarding table (column phase)."""
        return sum(a.nbytes for t in (self.table, self.forward) for a in (t.starts, t.ptr, t.ranks))


def _flagged_alltoallv(comm, send, send_counts, failed):
    """``Alltoallv`` on ``comm`` (a :class:`Comm`) that carries a failure flag instead of
    raising: a failed rank sends −1 counts, and then nobody exchanges data. Returns
    (received words, received counts, whether any rank of ``comm`` failed)."""
    send_counts = np.array(send_counts, np.int64)
    if failed:
        send_counts[:] = -1
    recv_counts = np.empty(comm.size, np.int64)
    comm.mpi.Alltoall(send_counts, recv_counts)
    if failed or (recv_counts < 0).any():
        return send[:0], np.zeros(comm.size, np.int64), True
    recv = np.empty(int(recv_counts.sum()), send.dtype)
    comm.mpi.Alltoallv([send, send_counts], [recv, recv_counts])
    return recv, recv_counts, False


EXCHANGES = {cls.name: cls for cls in (AlltoallExchange, SparseExchange, MeshExchange)}


def make(name, comm, partition, local_gids, needed):
    """The exchange strategy ``name`` for this rank's nodes ``local_gids`` (ascending)
    whose targets need the sources ``needed`` (ascending distinct gids)."""
    return EXCHANGES[name](comm, partition, local_gids, needed)
