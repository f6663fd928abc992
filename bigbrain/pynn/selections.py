"""The cells a PyNN call names, as the engine's neurons: (population, indices) pairs of a
Population, PopulationView, Assembly or list of IDs, and the bigbrain selection of them.

Kept apart from :mod:`bigbrain.pynn.populations` so that recorders, current sources and
projections reach the engine's selections without importing the population classes.
"""
import numpy as np
from pyNN import common

from ..population import Selection


def base_cells(cells):
    """(population, indices) pairs of a Population, PopulationView, Assembly or list of IDs,
    in the order of the cells."""
    if isinstance(cells, common.Population):
        return [(cells, np.arange(cells.size))]
    if isinstance(cells, common.PopulationView):
        return [(cells.grandparent, cells.index_in_grandparent(np.arange(cells.size)))]
    if isinstance(cells, common.Assembly):
        return [pair for p in cells.populations for pair in base_cells(p)]
    pairs = []
    for cell in cells:
        index = cell.parent.id_to_index(cell)
        if pairs and pairs[-1][0] is cell.parent:
            pairs[-1][1].append(index)
        else:
            pairs.append((cell.parent, [index]))
    return [(pop, np.asarray(idx, np.int64)) for pop, idx in pairs]


def selection_of(cells):
    """The bigbrain selection of ``cells`` (after the network is described)."""
    pairs = base_cells(cells)
    if len(pairs) == 1 and getattr(pairs[0][0]._parts[0][0], "is_device", False):
        return pairs[0][0]._parts[0][0]
    parts = [part for pop, idx in pairs for part in pop.selection(idx).parts]
    return Selection(parts)
