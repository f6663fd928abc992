"""Spike-traffic counters of one rank, the same for every exchange strategy.

Whatever the exchange moves its packets with (one ``Alltoallv``, sparse neighbour
messages, or two mesh phases), the traffic is also accounted on the logical 2-D mesh of
ranks (:class:`bigbrain.partition.mesh.Mesh`), as a network-on-chip would carry it with
dimension-ordered routing (along the row, then along the column):

* ``pairs[o]``: packets delivered to this rank from origin rank ``o`` (the column of the
  rank-pair matrix that belongs to this rank; the diagonal counts local deliveries).
* ``links``: (P, 4) packets put on each directed mesh link (see the mesh module for the
  order) by the traffic this rank injects or forwards. A unicast packet (``alltoall``,
  ``sparse``) crosses every link of its path; a multicast packet (``mesh``) crosses each
  link of its tree once.
* ``hops[h]``: deliveries that travelled h links (Manhattan distance, 0: local).
* ``messages``: point-to-point MPI messages this rank sent (count messages to every peer
  of the pattern, plus one data message to every peer that gets packets).
  ``count_messages``: of them, the count messages (one per peer and phase, every interval).
* ``words_sent``, ``words_received``: AER words in those messages (all phases).

Counters are cumulative since the network was built; :meth:`snapshot` copies them.
A packet is one AER word of :data:`BYTES_PER_PACKET` bytes.
"""
import numpy as np

BYTES_PER_PACKET = 8


class Traffic:
    """Cumulative traffic counters of one rank (see the module docstring).

    Per interval only histograms are updated (destinations of unicast packets, the
    farthest position of each multicast packet); links and hops follow from them, which
    is linear, when :meth:`snapshot` is taken.
    """

    def __init__(self, mesh, partition, rank):
        self.mesh, self.partition, self.rank = mesh, partition, rank
        self.row, self.col = int(mesh.row(rank)), int(mesh.col(rank))
        self.pairs = np.zeros(mesh.n_ranks, np.int64)
        self.messages = 0
        self.count_messages = 0        # of them, those of the count phase (one per peer)
        self.words_sent = 0
        self.words_received = 0
        self._unicast = np.zeros(mesh.n_ranks, np.int64)       # packets per destination rank
        self._reach = [np.zeros(mesh.cols, np.int64), np.zeros(mesh.rows, np.int64)]
        self._hops = np.zeros(mesh.max_hops + 1, np.int64)      # counted by mesh routers

    def delivered(self, gids):
        """Packets of sources ``gids`` arrived at their destination (this rank)."""
        self.pairs += np.bincount(self.partition.owner(gids), minlength=len(self.pairs))

    def sent(self, send_counts, recv_counts, n_peers, me=None):
        """One message phase: words sent to and received from each peer, ``n_peers``
        count messages; ``me``: this rank's own entry in the counts (not a message)."""
        own = 0 if me is None else int(send_counts[me] > 0)
        self.count_messages += n_peers
        self.messages += n_peers + int(np.count_nonzero(send_counts)) - own
        self.words_sent += int(send_counts.sum())
        self.words_received += int(recv_counts.sum())

    def alone(self, n_packets, phases):
        """A single rank (no peers, no messages): ``n_packets`` packets delivered to
        itself, their words counted once per message phase of the strategy."""
        self._unicast[0] += n_packets
        self.pairs[0] += n_packets
        self.words_sent += phases * n_packets
        self.words_received += phases * n_packets

    def unicast(self, counts):
        """``counts[r]`` packets to each rank r, each routed along the row of this rank to
        the destination's column, then along that column."""
        self._unicast += counts

    def multicast(self, axis, origin, packet, dest, n_packets):
        """``n_packets`` packets leave this rank along its row (``axis`` 0) or column
        (``axis`` 1); packet ``packet[k]`` drops a copy at position ``dest[k]`` of that
        line (column or row index). Each packet crosses each link of its tree once: it
        goes as far as its farthest copy on either side."""
        far = np.full(n_packets, origin, np.int64)
        near = far.copy()
        np.maximum.at(far, packet, dest)
        np.minimum.at(near, packet, dest)
        reach = self._reach[axis]
        reach += np.bincount(far, minlength=len(reach)) + np.bincount(near, minlength=len(reach))

    def add_hops(self, hops):
        """Deliveries counted by a router, with the hops each travelled."""
        self._hops += np.bincount(hops, minlength=len(self._hops))

    def links(self):
        """(P, 4) packets put on each directed link so far."""
        mesh, ranks = self.mesh, np.arange(self.mesh.n_ranks)
        along_row = np.bincount(mesh.col(ranks), self._unicast, minlength=mesh.cols) + self._reach[0]
        loads = mesh.segment_loads(0, self.row, self.col, np.arange(mesh.cols), along_row)
        loads += mesh.segment_loads(1, self.col, self.row, np.arange(mesh.rows), self._reach[1])
        return loads + mesh.segment_loads(1, mesh.col(ranks), self.row, mesh.row(ranks), self._unicast)

    def hops(self):
        """Deliveries per hop count so far."""
        unicast = np.bincount(self.mesh.hops(self.rank, np.arange(self.mesh.n_ranks)), self._unicast,
                              minlength=len(self._hops))
        return self._hops + np.rint(unicast).astype(np.int64)

    def snapshot(self):
        """A copy of the counters: name -> int or array."""
        return {"pairs": self.pairs.copy(), "links": self.links(), "hops": self.hops(),
                "messages": self.messages, "words_sent": self.words_sent,
                "words_received": self.words_received}


def delta(now, before):
    """Counter changes between two :meth:`Traffic.snapshot` results (``before`` may be None)."""
    return now if before is None else {k: now[k] - before[k] for k in now}


#: Groups of ``telemetry/traffic/`` that rank 0 writes (summed or O(P) per block).
ARCHIVE_ARRAYS = {
    "links": ("block", "rank", "direction", "packets"),
    "routers": ("block", "rank", "packets"),
    "hops": ("block", "hops", "packets"),
    "messages": ("block", "rank", "messages"),
}
#: The rank-pair matrix: each destination rank r appends its own row to
#: ``telemetry/traffic/pairs/to_<r>/<column>`` (its own arrays and chunks).
PAIR_COLUMNS = ("block", "origin", "packets")
#: Archives written before each rank wrote its own row: rank 0's rows of every rank,
#: ``telemetry/traffic/pairs/<column>``.
LEGACY_PAIR_COLUMNS = ("block", "origin", "destination", "packets")


def pair_group(rank):
    """Group of destination ``rank``'s row of the rank-pair matrix."""
    return f"telemetry/traffic/pairs/to_{rank}"


def pair_rows(change, block):
    """This rank's rows of ``telemetry/traffic/pairs/to_<rank>/`` for one block, from its
    counter changes (:func:`delta`): the non-zero origins, O(peers)."""
    origins = np.flatnonzero(change["pairs"])
    return {"block": np.full(len(origins), block, np.int64), "origin": origins,
            "packets": change["pairs"][origins]}


def read_pairs(group, read):
    """Columns ``block, origin, destination, packets`` (int64) of the rank-pair rows in
    ``group`` (``telemetry/traffic/pairs``): the per-destination groups ``to_<r>`` and the
    rows of older archives directly in it. ``read(array, name)``: the rows written."""
    parts = []
    if "packets" in group:  # an archive from before per-rank rows (or resumed from one)
        parts.append([read(group[c], c) for c in LEGACY_PAIR_COLUMNS])
    for name, sub in sorted(group.groups()):
        if name.startswith("to_"):
            block, origin, packets = (read(sub[c], f"{name}/{c}") for c in PAIR_COLUMNS)
            parts.append([block, origin, np.full(len(block), int(name[3:]), np.int64), packets])
    return {c: np.concatenate([np.asarray(p[k], np.int64) for p in parts] + [np.zeros(0, np.int64)])
            for k, c in enumerate(LEGACY_PAIR_COLUMNS)}


def summed_part(change):
    """One rank's links (flattened) and hops, to be summed over the ranks on the way."""
    return np.concatenate([change["links"].ravel(), change["hops"]])


def archive_rows(mesh, messages, summed, block):
    """Rows of rank 0's ``telemetry/traffic/`` arrays (:data:`ARCHIVE_ARRAYS`) for one
    block, from every rank's messages (in rank order) and the sum over the ranks of their
    :func:`summed_part` (``summed``): sparse triplets, zero counts left out.
    Returns {"links/rank": array, ...} (int64)."""
    links = summed[:mesh.n_ranks * 4].reshape(mesh.n_ranks, 4)
    hops = summed[mesh.n_ranks * 4:]
    routers = router_loads(mesh, links)
    messages = np.asarray(messages, np.int64)
    columns = {"links": np.nonzero(links) + (links[np.nonzero(links)],),
               "routers": (np.flatnonzero(routers), routers[routers > 0]),
               "hops": (np.flatnonzero(hops), hops[hops > 0]),
               "messages": (np.arange(len(messages)), messages)}
    rows = {}
    for group, values in columns.items():
        names = ARCHIVE_ARRAYS[group]
        rows[f"{group}/block"] = np.full(len(values[0]), block, np.int64)
        rows.update({f"{group}/{name}": np.asarray(v, np.int64) for name, v in zip(names[1:], values)})
    return rows


def router_loads(mesh, links):
    """Packets arriving at each rank's router over its links, from (P, 4) link loads."""
    heads = mesh.link_heads()
    inside = heads >= 0
    return np.bincount(heads[inside], weights=links[inside], minlength=mesh.n_ranks).astype(np.int64)
