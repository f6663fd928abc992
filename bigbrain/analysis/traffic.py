"""Spike traffic of a run: the rank-pair matrix and the load of the mesh links.

    import bigbrain.analysis as ba
    from bigbrain.analysis.traffic import traffic_matrix, link_loads, plot_traffic_matrix, plot_link_loads
    run = ba.open("run.zarr")
    plot_traffic_matrix(traffic_matrix(run), seconds=run.meta["t_end_ms"] / 1000)
    plot_link_loads(link_loads(run))

Reads ``telemetry/traffic/`` (docs/archive-layout.md; the rank-pair rows of either
layout, :func:`bigbrain.traffic.read_pairs`), summed over the interval blocks
of one segment of the run (the last by default: a resumed run may have another number of
ranks). Packets are AER words of 8 bytes.
"""
from __future__ import annotations

import numpy as np

from ..partition.mesh import EAST, NORTH, SOUTH, WEST
from ..traffic import read_pairs


def _segment_blocks(run, segment):
    """(segment metadata, boolean mask of the telemetry blocks inside it)."""
    seg = run.meta["segments"][segment]
    dt = run.meta["dt_ms"]
    start = run.root["telemetry/t_start_ms"][:]
    stop = seg.get("to_step")
    inside = start >= seg["from_step"] * dt - 1e-9
    if stop is not None:
        inside &= start < stop * dt - 1e-9
    return seg, inside


def _columns(run, group, names, segment):
    seg, inside = _segment_blocks(run, segment)
    g = run.root[f"telemetry/traffic/{group}"]
    if group == "pairs":  # either layout (docs/archive-layout.md)
        columns = read_pairs(g, lambda a, _: a[:])
    else:
        columns = {n: g[n][:] for n in ("block", *names)}
    block = columns["block"]
    keep = inside[block] if len(inside) else np.zeros(len(block), bool)
    return seg, [columns[name][keep] for name in names]


def traffic_matrix(run, segment: int = -1) -> np.ndarray:
    """Packets (P, P) from origin rank (row) to destination rank (column) in ``segment``."""
    seg, (origin, dest, packets) = _columns(run, "pairs", ("origin", "destination", "packets"), segment)
    P = seg["n_ranks"]
    return np.bincount(origin * P + dest, weights=packets, minlength=P * P).reshape(P, P).astype(np.int64)


def link_loads(run, segment: int = -1) -> np.ndarray:
    """Packets (rows, cols, 4) on each directed mesh link (east, west, south, north)."""
    seg, (rank, direction, packets) = _columns(run, "links", ("rank", "direction", "packets"), segment)
    rows, cols = seg["layout"]["exchange"]["mesh"]
    loads = np.bincount(rank * 4 + direction, weights=packets, minlength=rows * cols * 4)
    return loads.reshape(rows, cols, 4).astype(np.int64)


def hop_histogram(run, segment: int = -1) -> np.ndarray:
    """Deliveries per hop count (index: hops) in ``segment``."""
    _, (hops, packets) = _columns(run, "hops", ("hops", "packets"), segment)
    return np.bincount(hops, weights=packets).astype(np.int64)


def link_grid(loads: np.ndarray) -> np.ndarray:
    """A (2·rows − 1, 2·cols − 1) image of link loads: routers at even positions (NaN),
    between two routers the packets on that link in both directions."""
    rows, cols, _ = loads.shape
    grid = np.full((2 * rows - 1, 2 * cols - 1), np.nan)
    grid[::2, 1::2] = loads[:, :-1, EAST] + loads[:, 1:, WEST]
    grid[1::2, ::2] = loads[:-1, :, SOUTH] + loads[1:, :, NORTH]
    return grid


#: Colours of the heatmaps: from dark (no traffic) to bright yellow (the busiest), and a
#: light grey, outside the scale, for cells that are no link (the routers of the mesh).
CMAP, NO_LINK = "viridis", "0.85"


def plot_traffic_matrix(matrix: np.ndarray, ax=None, seconds: float | None = None):
    """Heatmap of a traffic matrix (packets, or packets/s of biological time when
    ``seconds`` is given), its colour scale from 0, ticks on whole ranks; returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ax = ax or plt.figure(figsize=(5, 4)).gca()
    values = matrix / seconds if seconds else matrix
    image = ax.imshow(values, cmap=CMAP, interpolation="nearest", vmin=0)
    ax.figure.colorbar(image, ax=ax, label="packets/s" if seconds else "packets")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="destination rank", ylabel="origin rank", title="spike traffic between ranks")
    return ax


def plot_link_loads(loads: np.ndarray, ax=None, seconds: float | None = None):
    """Heatmap of the mesh links (see :func:`link_grid`), colour scale from 0; routers are
    the light grey cells."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    ax = ax or plt.figure(figsize=(5, 4)).gca()
    grid = link_grid(loads)
    image = ax.imshow(grid / seconds if seconds else grid, cmap=colormaps[CMAP].with_extremes(bad=NO_LINK),
                      interpolation="nearest", vmin=0)
    ax.figure.colorbar(image, ax=ax, label="packets/s per link" if seconds else "packets per link")
    rows, cols, _ = loads.shape
    ax.set(xticks=np.arange(0, 2 * cols - 1, 2), xticklabels=np.arange(cols),
           yticks=np.arange(0, 2 * rows - 1, 2), yticklabels=np.arange(rows),
           xlabel="mesh column", ylabel="mesh row", title="mesh link load (grey: routers)")
    return ax
