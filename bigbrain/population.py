"""Populations of nodes and selections of them.

A :class:`Population` is a named group of nodes of one model with consecutive global ids
(gids). Selections combine populations (``exc | inh``) or take subsets (``exc[:100]``);
connection rules and recorders take selections. A selection's *positions* 0 … size−1
number its members in order, which is how connection rules index sources and targets.
"""
import numpy as np

from .errors import ModelError
from .schedule import Schedule, poisson_rate
from .stimulation import Generators


class Selection:
    """An ordered list of (population, population-local ids) parts."""

    def __init__(self, parts):
        self.parts = [(pop, np.asarray(ids, np.int64)) for pop, ids in parts]

    def __or__(self, other):
        return Selection(self.parts + as_selection(other).parts)

    def __len__(self):
        return sum(len(ids) for _, ids in self.parts)

    @property
    def label(self):
        return "|".join(pop.name if len(ids) == pop.size else f"{pop.name}[{len(ids)}]"
                        for pop, ids in self.parts)

    def gids(self):
        """Global ids of the members, in position order (int64)."""
        return np.concatenate([pop.first_gid + ids for pop, ids in self.parts] + [np.zeros(0, np.int64)])

    def populations(self):
        return [pop for pop, _ in self.parts]

    def describe(self):
        return [{"population": pop.name, "ids": "all" if len(ids) == pop.size else ids.tolist()}
                for pop, ids in self.parts]


class Population(Selection):
    """``size`` nodes of ``model`` with parameters ``params`` and gids first_gid … first_gid+size−1."""

    def __init__(self, name, size, model, params, first_gid, index):
        self.name, self.model, self.params = name, model, params
        self.first_gid, self.index = first_gid, index
        self.size = int(size)
        self.layer = self.positions = None
        super().__init__([(self, np.arange(self.size))])

    def set_layer(self, layer, seed):
        """Give the neurons positions: ``layer`` is a :class:`bigbrain.spatial.Layer`."""
        from .spatial import Layer
        where = f"population {self.name!r}.positions"
        if not isinstance(layer, Layer):
            raise ModelError(where, f"expected bb.spatial.grid(...) or bb.spatial.free(...), got {layer!r}")
        self.positions = layer.place(where, self.size, seed, self.index, self.first_gid)
        self.layer = layer

    def __len__(self):
        return self.size

    def __getitem__(self, key):
        """The neurons ``key`` (an index, a slice or an array of indices) of the population;
        indices and slice bounds beyond its size are refused, not clipped."""
        field = f"population {self.name!r}[{_shown(key)}]"
        if isinstance(key, slice):
            bounds = [b for b in (key.start, key.stop) if b is not None]
            if any(not isinstance(b, (int, np.integer)) or isinstance(b, bool) for b in bounds):
                raise ModelError(field, "slice bounds must be integers")
            if any(not -self.size <= b <= self.size for b in bounds):
                raise ModelError(field, f"outside the population's {self.size} neurons")
            return Selection([(self, np.arange(self.size)[key])])
        ids = np.asarray(key)
        if ids.dtype.kind not in "iu":
            raise ModelError(field, "expected an integer index, a slice or an array of indices")
        outside = ids[(ids < -self.size) | (ids >= self.size)]
        if outside.size:
            raise ModelError(field, f"id {outside.flat[0]} is outside the population's "
                             f"{self.size} neurons (ids 0 … {self.size - 1})")
        return Selection([(self, np.arange(self.size)[ids.ravel()])])

    def __repr__(self):
        return f"Population({self.name!r}, {self.size}, {self.model.name!r})"


class PoissonGenerators(Generators):
    """``size`` Poisson generators of ``rate`` Hz: NEST's ``poisson_generator``.

    A generator is not a node: every synapse it makes carries its own independent train
    (as in NEST), drawn on the rank of the target neuron, so nothing is exchanged. The rate
    can change between runs (``set_params(net, rate=...)``, :mod:`bigbrain.stimulation`).
    """

    is_poisson = True
    KIND = "poisson_generator"
    PARAMS = {"rate": 0.0}
    CHANGEABLE = ("rate",)

    def __init__(self, name, rate, size, dt=0.1):
        super().__init__(name, size, dt, {"rate": rate})

    @property
    def rate(self):
        return self.params["rate"]

    def where(self, key):
        return f"{self.name}.{key}"

    def _schedules(self, params, step):
        rate = poisson_rate(self.where("rate"), params["rate"], self.dt)
        return {"rate": Schedule.constant(rate, step)}

    def describe(self):
        return {"name": self.name, "kind": "poisson", "rate": self.rate, "size": self.size}


def _shown(key):
    """``key`` of ``population[key]`` as written (short for arrays)."""
    if isinstance(key, slice):
        bounds = ("" if b is None else str(b) for b in (key.start, key.stop, key.step))
        return ":".join(bounds).rstrip(":") or ":"
    return str(key) if np.ndim(key) == 0 else "ids"


def as_selection(obj):
    if isinstance(obj, Selection) or getattr(obj, "is_device", False):
        return obj
    raise ModelError("connect", f"expected a population or a selection, got {obj!r}")
