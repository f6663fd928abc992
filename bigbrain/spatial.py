"""Space: neuron positions, masks and functions of distance (NEST's spatial module).

A population may have positions (``net.population(..., positions=bb.spatial.grid(...))``)
in a box of ``extent`` (a length per dimension, in the user's unit of length) centred on
``center``, 2-D or 3-D; with ``edge_wrap`` the box is a torus. Positions are part of the
model: a grid's are computed, random ones drawn from the counter-based streams (seed,
``Purpose.POSITION``, population, gid, dimension), so every rank has all of them (8 bytes
per neuron and dimension) and they are the same on any rank count.

``pairwise_bernoulli`` then takes ``p`` as a function of distance and a ``mask``; weights
and delays may be functions of distance. As in NEST, the displacement of a pair is the
target's position minus the source's, folded into [−extent/2, extent/2) per dimension
when the source layer wraps; its length is the distance. Masks and functions:

* masks (inclusive borders, as NEST's): :class:`circular` (2-D), :class:`spherical`
  (3-D), :class:`rectangular` (2-D), :class:`box` (3-D);
* functions of distance d: :class:`gaussian` (``exp(−(d − mean)²/(2 std²))``),
  :class:`exponential` (``exp(−d/beta)``), :class:`linear` (``offset + slope·d``, for delays);
  a number times a function scales it, as NEST's parameters do:
  ``p=0.5 * bb.spatial.gaussian(std=0.2)``.
"""
import math

import numpy as np

from .distributions import Distribution, Stream
from .errors import ModelError
from .kernels.spatial import distances, pairs_within
from .errors import number
from .streams import Purpose


# ------------------------------------------------------------------ layers
class Layer:
    """Positions in a box of ``extent`` around ``center`` (``edge_wrap``: periodic)."""

    kind = ""

    def __init__(self, extent=None, center=None, edge_wrap=False):
        self.extent, self.center, self.edge_wrap = extent, center, edge_wrap

    def place(self, where, size, seed, index, first_gid):
        """Check the layer for a population of ``size`` nodes and return their positions
        (float64, size × dim); ``where`` names the field in errors."""
        self._check(where, size)
        self.extent = _vector(f"{where}.extent", self.extent, self._default_extent(), positive=True)
        dim = len(self.extent)
        if dim not in (2, 3):
            raise ModelError(f"{where}.extent", f"positions are 2-D or 3-D, got {dim} dimensions")
        self.center = _vector(f"{where}.center", self.center, (0.0,) * dim)
        if len(self.center) != dim:
            raise ModelError(f"{where}.center", f"has {len(self.center)} dimensions, extent {dim}")
        if not isinstance(self.edge_wrap, (bool, np.bool_)):
            raise ModelError(f"{where}.edge_wrap", f"must be true or false, got {self.edge_wrap!r}")
        self.edge_wrap = bool(self.edge_wrap)
        return self._positions(where, size, seed, index, first_gid)

    def _check(self, where, size):
        """Check the arguments particular to the kind of layer."""

    @property
    def lower_left(self):
        return np.asarray(self.center) - 0.5 * np.asarray(self.extent)

    def same_box(self, other):
        return (self.extent, self.center, self.edge_wrap) == (other.extent, other.center, other.edge_wrap)

    def describe(self, put):
        return {"kind": self.kind, "extent": list(self.extent), "center": list(self.center),
                "edge_wrap": self.edge_wrap}


class grid(Layer):
    """Positions on a grid of ``shape`` (columns along x, rows along y, layers along z),
    one node per cell at the cell's centre; ``extent`` defaults to ``shape`` (spacing 1).
    Node order as in NEST: z fastest, then y from the top (largest y) down, then x."""

    kind = "grid"

    def __init__(self, shape, extent=None, center=None, edge_wrap=False):
        super().__init__(extent, center, edge_wrap)
        self.shape = shape

    def _default_extent(self):
        return tuple(float(s) for s in self.shape)

    def _check(self, where, size):
        shape = self.shape
        if not (_is_sequence(shape) and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                            and s > 0 for s in shape)):
            raise ModelError(f"{where}.shape", f"must be a list of positive integers, got {shape!r}")
        self.shape = tuple(int(s) for s in shape)

    def _positions(self, where, size, seed, index, first_gid):
        if len(self.shape) != len(self.extent):
            raise ModelError(f"{where}.shape", f"has {len(self.shape)} dimensions, extent "
                             f"{len(self.extent)}")
        if math.prod(self.shape) != size:
            raise ModelError(f"{where}.shape", f"a grid of {self.shape} has {math.prod(self.shape)} "
                             f"positions, the population {size} neurons")
        spacing = np.asarray(self.extent) / np.asarray(self.shape)
        cell = np.indices(self.shape).reshape(len(self.shape), -1).T  # C order: last index fastest
        pos = self.lower_left + (cell + 0.5) * spacing
        pos[:, 1] = 2 * self.center[1] - pos[:, 1]   # rows run from the top down
        return pos

    def describe(self, put):
        return {**super().describe(put), "shape": list(self.shape)}


class free(Layer):
    """Positions given (``pos``: size × dim) or, by default, drawn uniformly in the box
    (``num_dimensions``, default 2, when ``extent`` is not given: a unit box). Given
    positions must lie inside the box, whose extent defaults to their bounding box."""

    kind = "free"

    def __init__(self, pos=None, extent=None, center=None, edge_wrap=False, num_dimensions=None):
        super().__init__(extent, center, edge_wrap)
        self.pos, self.num_dimensions = pos, num_dimensions

    def _default_extent(self):
        if self.pos is not None and self.pos.size:
            if self.center is None:
                self.center = tuple(0.5 * (self.pos.min(0) + self.pos.max(0)))
            return tuple(np.maximum(self.pos.max(0) - self.pos.min(0), 1e-300))
        return (1.0,) * (2 if self.num_dimensions is None else self.num_dimensions)

    def _check(self, where, size):
        if self.pos is None:
            return
        pos = np.asarray(self.pos, np.float64)
        if not (pos.ndim == 2 and len(pos) == size and pos.shape[1] in (2, 3) and np.all(np.isfinite(pos))):
            raise ModelError(f"{where}.pos", f"expected {size} finite positions of 2 or 3 "
                             f"coordinates, got an array of shape {pos.shape}")
        self.pos = pos

    def _positions(self, where, size, seed, index, first_gid):
        dim = len(self.extent)
        if self.pos is None:
            gids = first_gid + np.arange(size, dtype=np.int64)
            u = Stream(seed, Purpose.POSITION, index).uniform(gids[:, None], np.arange(dim)[None, :])
            return self.lower_left + u * np.asarray(self.extent)
        if self.pos.shape[1] != dim:
            raise ModelError(f"{where}.pos", f"has {self.pos.shape[1]} coordinates, extent {dim}")
        upper = self.lower_left + np.asarray(self.extent)
        outside = ((self.pos < self.lower_left - 1e-12) | (self.pos > upper + 1e-12)).any(1)
        if outside.any():
            raise ModelError(f"{where}.pos", f"position {int(np.argmax(outside))} lies outside "
                             "the layer's extent")
        return self.pos

    def describe(self, put):
        pos = "uniform" if self.pos is None else put("pos", self.pos)
        return {**super().describe(put), "pos": pos}


LAYERS = {"grid": grid, "free": free}


def layer_from_description(field, d, value):
    """Inverse of :meth:`Layer.describe`; ``value`` resolves array references."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in LAYERS:
        raise ModelError(f"{field}.kind", f"expected \"grid\" or \"free\", got {kind!r}")
    if kind == "free":
        d["pos"] = None if d.get("pos", "uniform") == "uniform" else value(d["pos"])
    try:
        return LAYERS[kind](**d)
    except TypeError as exc:
        raise ModelError(field, f"wrong arguments for a {kind} layer ({exc})") from None


def _is_sequence(x):
    return isinstance(x, (list, tuple, np.ndarray))


def _vector(field, value, default, positive=False):
    value = default if value is None else value
    try:
        vec = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ModelError(field, f"must be a list of numbers, got {value!r}") from None
    if not all(math.isfinite(v) and (v > 0 or not positive) for v in vec):
        raise ModelError(field, f"must be {'positive ' if positive else ''}finite numbers, got {list(vec)}")
    return vec


# ------------------------------------------------------------------ geometry of a projection
class Space:
    """Displacements between the sources and the targets of one connection."""

    def __init__(self, where, pre, post):
        (self.pre, pre_layer), (self.post, post_layer) = (
            _positions(f"{where}.{side}", sel) for side, sel in (("pre", pre), ("post", post)))
        if self.pre.shape[1] != self.post.shape[1]:
            raise ModelError(f"{where}.post", f"sources have {self.pre.shape[1]}-D positions, "
                             f"targets {self.post.shape[1]}-D")
        self.dim = self.pre.shape[1]
        if (pre_layer.edge_wrap or post_layer.edge_wrap) and not pre_layer.same_box(post_layer):
            raise ModelError(f"{where}.post", "with edge_wrap, sources and targets must lie in "
                             "the same box (extent, center, edge_wrap)")
        self.period = np.asarray(pre_layer.extent) if pre_layer.edge_wrap else None
        self.x_low = float(pre_layer.lower_left[0])
        self._by_x = None
        self.volume = float(np.prod(pre_layer.extent))
        span = np.maximum(self.post.max(0) - self.pre.min(0), self.pre.max(0) - self.post.min(0))
        if self.period is not None:
            span = np.minimum(span, self.period / 2)
        self.max_distance = float(np.sqrt(np.sum(span ** 2)))

    def distance(self, pre_pos, post_pos):
        """Distance of each pair (``pre_pos[i]``, ``post_pos[i]``: positions in the
        selections); periodic layers use the nearest image."""
        return distances(self.post[post_pos], self.pre[pre_pos], self._period())

    def _period(self):
        return np.zeros(self.dim) if self.period is None else self.period

    def pairs(self, targets, sources, mask):
        """(row, col, distance) of the pairs (``targets[row]``, ``sources[col]``: positions
        in the post and pre selections) whose displacement ``mask`` (None: any) holds, in
        row-major order."""
        args = (True, math.inf, np.zeros(self.dim), np.zeros(self.dim)) if mask is None else mask.arguments()
        return pairs_within(self.post[targets], self.pre[sources], self._period(), *args)

    def sources_between(self, a, b):
        """Sources (positions in the pre selection, increasing) whose x lies in [a, b]
        (modulo the period on a torus), and perhaps a few more at the borders."""
        if self._by_x is None:
            x = self.pre[:, 0] if self.period is None else \
                self.x_low + np.mod(self.pre[:, 0] - self.x_low, self.period[0])
            order = np.argsort(x, kind="stable")
            self._by_x = x[order], order
        xs, order = self._by_x
        slack = 1e-9 * (1.0 + abs(a) + abs(b))
        a, b = a - slack, b + slack
        if self.period is None:
            return np.sort(order[np.searchsorted(xs, a):np.searchsorted(xs, b, side="right")])
        period = self.period[0]
        if b - a >= period:
            return np.arange(len(xs), dtype=np.int64)
        a_folded = self.x_low + np.mod(a - self.x_low, period)
        b_folded = a_folded + (b - a)
        picks = order[np.searchsorted(xs, a_folded):np.searchsorted(xs, b_folded, side="right")]
        if b_folded >= self.x_low + period:
            picks = np.concatenate([picks, order[:np.searchsorted(xs, b_folded - period, side="right")]])
        return np.sort(picks)

    def x_span(self):
        """Length along x over which sources lie (the period on a torus)."""
        if self.period is not None:
            return float(self.period[0])
        return float(np.ptp(self.pre[:, 0])) if len(self.pre) else 0.0


def _positions(field, sel):
    """(positions of the members of ``sel``, the layer of its first part); all parts need
    positions, and if one is periodic the same box."""
    parts = getattr(sel, "parts", [])
    layers = [getattr(pop, "layer", None) for pop, _ in parts]
    if not parts or any(layer is None for layer in layers):
        raise ModelError(field, "spatial connections need populations with positions")
    if len({pop.positions.shape[1] for pop, _ in parts}) > 1:
        raise ModelError(field, "mixes 2-D and 3-D positions")
    if any(layer.edge_wrap for layer in layers) and not all(layers[0].same_box(l) for l in layers):
        raise ModelError(field, "with edge_wrap, all populations of a selection must share "
                         "one box (extent, center, edge_wrap)")
    return np.concatenate([pop.positions[ids] for pop, ids in parts]), layers[0]


# ------------------------------------------------------------------ masks
class Mask:
    """Which displacements (target − source) may connect; borders included. On a periodic
    layer a pair is inside if any periodic image of its displacement is."""

    dim = 2

    def check(self, where, space):
        if space.dim != self.dim:
            raise ModelError(f"{where}.mask", f"a {type(self).__name__} mask is {self.dim}-D, the "
                             f"positions {space.dim}-D")
        if space.period is not None and np.any(self.size() > space.period):
            raise ModelError(f"{where}.mask", f"is larger than the layer {space.period.tolist()} "
                             "with edge_wrap (as in NEST, a periodic layer refuses oversized masks)")

    def describe(self):
        return {"shape": type(self).__name__, **{k: _plain(v) for k, v in vars(self).items()}}


class circular(Mask):
    """Displacements of length ≤ ``radius`` (2-D)."""

    def __init__(self, radius):
        self.radius = number("mask.radius", radius, "> 0")

    def size(self):
        return np.full(self.dim, 2 * self.radius)

    def arguments(self):
        """The mask's arguments of :func:`~bigbrain.kernels.spatial.pairs_within`."""
        return True, self.radius ** 2, np.zeros(self.dim), np.zeros(self.dim)

    def volume(self):
        return math.pi * self.radius ** 2 if self.dim == 2 else 4 / 3 * math.pi * self.radius ** 3

    def x_range(self):
        """(lowest, highest) x of the displacements inside."""
        return -self.radius, self.radius


class spherical(circular):
    """Displacements of length ≤ ``radius`` (3-D)."""

    dim = 3


class rectangular(Mask):
    """Displacements with ``lower_left`` ≤ d ≤ ``upper_right`` in every dimension (2-D)."""

    def __init__(self, lower_left, upper_right):
        self.lower_left = _vector("mask.lower_left", lower_left, None)
        self.upper_right = _vector("mask.upper_right", upper_right, None)
        if len(self.lower_left) != self.dim or len(self.upper_right) != self.dim:
            raise ModelError("mask.lower_left", f"{type(self).__name__} corners have {self.dim} coordinates")
        if not all(lo < hi for lo, hi in zip(self.lower_left, self.upper_right)):
            raise ModelError("mask.upper_right", f"must exceed lower_left {self.lower_left}, "
                             f"got {self.upper_right}")

    def size(self):
        return np.asarray(self.upper_right) - np.asarray(self.lower_left)

    def arguments(self):
        """The mask's arguments of :func:`~bigbrain.kernels.spatial.pairs_within`."""
        return False, 0.0, np.asarray(self.lower_left), np.asarray(self.upper_right)

    def volume(self):
        return float(np.prod(self.size()))

    def x_range(self):
        """(lowest, highest) x of the displacements inside."""
        return self.lower_left[0], self.upper_right[0]


class box(rectangular):
    """Displacements with ``lower_left`` ≤ d ≤ ``upper_right`` in every dimension (3-D)."""

    dim = 3


MASKS = {c.__name__: c for c in (circular, spherical, rectangular, box)}


def mask_from_description(field, d):
    """A mask object from a mask or its description ``{"shape": "circular", "radius": …}``."""
    if isinstance(d, Mask):
        return d
    if not isinstance(d, dict) or d.get("shape") not in MASKS:
        raise ModelError(field, f"expected bb.spatial.circular/rectangular/spherical/box(...) or "
                         f"{{shape = \"circular\", radius = …}}, got {d!r}")
    try:
        return MASKS[d["shape"]](**{k: v for k, v in d.items() if k != "shape"})
    except TypeError as exc:
        raise ModelError(field, f"wrong arguments for a {d['shape']} mask ({exc})") from None
    except ModelError as exc:  # "mask.radius: ..." -> "<field>.radius: ..."
        raise ModelError(f"{field}.{exc.field.split('.', 1)[1]}", str(exc)[len(exc.field) + 2:]) from None


# ------------------------------------------------------------------ functions of distance
class DistanceFunction(Distribution):
    """A value per synapse that depends on the distance of its pair (times ``scale``);
    for ``p``, ``weight`` and ``delay`` of a spatial connection."""

    of_distance = True
    scale = 1.0

    def __rmul__(self, factor):
        out = type(self).__new__(type(self))
        out.__dict__.update(vars(self))
        out.scale = self.scale * number("scale", factor)
        return out

    __mul__ = __rmul__

    def __call__(self, d):
        return self.scale * self.shape(d)

    def describe(self):
        return {"distribution": type(self).__name__, **{k: _plain(v) for k, v in vars(self).items()}}

    def bounds(self, max_distance=math.inf):
        """(lowest, highest) value over distances in [0, ``max_distance``] (the functions
        are monotonic there, except a Gaussian's peak at ``mean``)."""
        ends = [0.0, max_distance] + [d for d in self.peaks() if 0 <= d <= max_distance]
        with np.errstate(over="ignore", invalid="ignore"):
            values = [float(self(d)) for d in ends]
        values = [0.0 if math.isnan(v) else v for v in values]  # 0 · inf: a zero scale
        return min(values), max(values)

    def peaks(self):
        """Distances of the function's extrema other than the ends of the range."""
        return []


class gaussian(DistanceFunction):
    """``scale · exp(−(d − mean)² / (2 std²))`` (NEST's spatial_distributions.gaussian)."""

    def __init__(self, std, mean=0.0, scale=1.0):
        self.std, self.mean = number("gaussian.std", std, "> 0"), number("gaussian.mean", mean)
        self.scale = number("gaussian.scale", scale)

    def shape(self, d):
        return np.exp(-0.5 * ((d - self.mean) / self.std) ** 2)

    def peaks(self):
        return [self.mean]


class exponential(DistanceFunction):
    """``scale · exp(−d / beta)`` (NEST's spatial_distributions.exponential)."""

    def __init__(self, beta, scale=1.0):
        self.beta, self.scale = number("exponential.beta", beta, "> 0"), number("exponential.scale", scale)

    def shape(self, d):
        return np.exp(-d / self.beta)


class linear(DistanceFunction):
    """``scale · (offset + slope · d)``: e.g. a delay (ms) growing with distance."""

    def __init__(self, offset, slope, scale=1.0):
        self.offset, self.slope = number("linear.offset", offset), number("linear.slope", slope)
        self.scale = number("linear.scale", scale)

    def shape(self, d):
        return self.offset + self.slope * d


FUNCTIONS = {c.__name__: c for c in (gaussian, exponential, linear)}


def is_spatial(value):
    return getattr(value, "of_distance", False)





def _plain(v):
    return list(v) if isinstance(v, tuple) else v
