"""Raster plots of millions of spikes as images.

Spikes are aggregated into a 2-D histogram (rows: node id ranges, columns: time bins),
block by block (each block adds to the few columns its time range touches), and the
histogram is drawn with imshow: the cost of drawing does not grow with the number of
spikes.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import dask
import numpy as np

from .binning import Bins, Span, add_spans, histogram_span
from .record import SpikeRecord
from .reduction import tree_reduce


class RasterImage(NamedTuple):
    """counts[row, column]: spikes of node ids [row·size/rows, (row+1)·size/rows) in the
    time bins of `bins` (ms)."""

    counts: np.ndarray
    bins: Bins
    size: int
    population: str


def raster_image(record: SpikeRecord, t=None, width: int = 1200, height: int = 600):
    """Delayed RasterImage of window t (ms; default the recorded window), at most
    width × height pixels (one row per neuron for small populations)."""
    t0, t1 = record.window(t)
    bins = Bins(t0, (t1 - t0) / width, width)
    rows = min(height, record.size)
    histogram = dask.delayed(block_histogram, pure=True)
    partials = [histogram(block, bins, rows, record.size) for block in record.blocks(t)]
    empty = histogram_span(np.empty(0, np.int64), bins.n, n_rows=rows)
    return tree_reduce(partials, add_spans, empty,
                       partial(image_of_span, bins, record.size, record.population))


def block_histogram(block, bins: Bins, rows: int, size: int) -> Span:
    """2-D spike histogram (rows × the time bins the block touches) of one block."""
    times, ids = block
    return histogram_span(bins.index(times), bins.n, ids * rows // size, rows)


def image_of_span(bins: Bins, size: int, population: str, span: Span) -> RasterImage:
    """The RasterImage of a span over all time bins."""
    return RasterImage(span.dense(bins.n), bins, size, population)


def draw(image: RasterImage, ax=None):
    """Draw a RasterImage on a matplotlib Axes (a new figure when None); returns the
    Axes. Darker is more spikes; the colour scale saturates at the 99th percentile of
    non-empty pixels."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    nonzero = image.counts[image.counts > 0]
    vmax = max(np.percentile(nonzero, 99), 1) if len(nonzero) else 1
    edges = image.bins.edges
    ax.imshow(image.counts, origin="lower", aspect="auto", cmap="Greys", vmin=0,
              vmax=vmax, interpolation="nearest",
              extent=(edges[0], edges[-1], 0, image.size))
    ax.set(xlabel="time (ms)", ylabel="node id", title=f"{image.population}: "
           f"{int(image.counts.sum()):,} spikes")
    return ax
