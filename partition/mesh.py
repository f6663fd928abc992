"""Ranks as the nodes of a logical 2-D mesh (the layout of a network-on-chip).

P ranks form ``rows × cols`` with ``rows · cols = P``, the most square factorisation
(``rows`` the largest divisor of P not above √P): 9 → 3 × 3, 12 → 3 × 4, 16 → 4 × 4,
1,024 → 32 × 32. A prime P gives a single row, where the mesh degenerates into direct
messages along that row. Rank r sits at row ``r // cols``, column ``r % cols``.

Links are directed and named by the rank they leave and a direction: ``EAST`` (column + 1),
``WEST`` (column − 1), ``SOUTH`` (row + 1), ``NORTH`` (row − 1). Per-link counters are
arrays of shape (P, 4) in that order; links that would leave the mesh stay zero. The mesh
is not a torus: the hop count between two ranks is their Manhattan distance.
"""
import numpy as np

EAST, WEST, SOUTH, NORTH = range(4)
DIRECTIONS = ("east", "west", "south", "north")


class Mesh:
    """The ``rows × cols`` mesh of ``n_ranks`` ranks (see module docstring)."""

    def __init__(self, n_ranks):
        self.n_ranks = int(n_ranks)
        self.rows = max(d for d in range(1, int(np.sqrt(self.n_ranks)) + 1) if self.n_ranks % d == 0)
        self.cols = self.n_ranks // self.rows

    @classmethod
    def of_shape(cls, rows, cols):
        """A mesh of exactly ``rows × cols`` nodes."""
        mesh = cls(1)
        mesh.n_ranks, mesh.rows, mesh.cols = rows * cols, rows, cols
        return mesh

    @property
    def shape(self):
        return self.rows, self.cols

    def row(self, ranks):
        return np.asarray(ranks, np.int64) // self.cols

    def col(self, ranks):
        return np.asarray(ranks, np.int64) % self.cols

    def rank(self, row, col):
        return np.asarray(row, np.int64) * self.cols + np.asarray(col, np.int64)

    def hops(self, a, b):
        """Manhattan distance (links) between ranks ``a`` and ``b``."""
        return np.abs(self.row(a) - self.row(b)) + np.abs(self.col(a) - self.col(b))

    @property
    def max_hops(self):
        return self.rows + self.cols - 2

    def neighbour(self, ranks, direction):
        """The rank a link of ``direction`` leads to from ``ranks`` (−1 off the mesh)."""
        r, c = self.row(ranks), self.col(ranks)
        dr, dc = {EAST: (0, 1), WEST: (0, -1), SOUTH: (1, 0), NORTH: (-1, 0)}[direction]
        r, c = r + dr, c + dc
        inside = (r >= 0) & (r < self.rows) & (c >= 0) & (c < self.cols)
        return np.where(inside, self.rank(r, c), -1)

    def segment_loads(self, axis, line, start, stop, packets=None):
        """Link loads of packets moving along rows (``axis`` 0) or columns (``axis`` 1).

        ``packets[k]`` packets (default 1) travel along row (or column) ``line[k]`` from
        position ``start[k]`` to ``stop[k]`` (column or row indices), crossing every link
        in between once. Returns (P, 4) packet counts per directed link.
        """
        line, start, stop = np.broadcast_arrays(*(np.asarray(a, np.int64) for a in (line, start, stop)))
        packets = np.ones(len(line), np.int64) if packets is None else np.asarray(packets, np.int64)
        n_lines, length = (self.rows, self.cols) if axis == 0 else (self.cols, self.rows)
        fwd, bwd = stop > start, stop < start
        forward = _covering(n_lines, length, line[fwd], start[fwd], stop[fwd], packets[fwd])
        backward = _covering(n_lines, length, line[bwd], stop[bwd] + 1, start[bwd] + 1, packets[bwd])
        loads = np.zeros((self.rows, self.cols, 4), np.int64)
        if axis == 0:
            loads[:, :, EAST], loads[:, :, WEST] = forward, backward
        else:
            loads[:, :, SOUTH], loads[:, :, NORTH] = forward.T, backward.T
        return loads.reshape(self.n_ranks, 4)

    def link_heads(self):
        """(P, 4) rank each link leads to (−1 off the mesh)."""
        ranks = np.arange(self.n_ranks)
        return np.stack([self.neighbour(ranks, d) for d in range(4)], axis=1)

    def describe(self):
        return {"rows": self.rows, "cols": self.cols, "links": list(DIRECTIONS)}


def _covering(n_lines, length, line, lo, hi, packets):
    """counts[l, k]: packets of the ranges [lo, hi) on line ``line`` that contain position k."""
    width = length + 1
    size = n_lines * width
    diff = (np.bincount(line * width + lo, packets, minlength=size)
            - np.bincount(line * width + hi, packets, minlength=size))
    return np.rint(np.cumsum(diff.reshape(n_lines, width), axis=1)[:, :length]).astype(np.int64)
