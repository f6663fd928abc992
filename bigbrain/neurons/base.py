"""What every neuron model shares: parameter tables with NEST's names, units, defaults and
checks (:class:`NeuronModel`), the per-rank state of a population (:class:`Block`) and
the call that advances all blocks of one model (:class:`BlockGroup`).

On each rank, the neurons of a population that the partition gives to that rank form one
*block* in columns col0 … col0+n−1 of the rank's ring buffers. Blocks of a model with a
compiled kernel are advanced together, once per interval.

The kernel contract (Numba in :mod:`bigbrain.kernels`, CUDA in ``kernels/cuda``)::

    kernel(*state, ring_ex, ring_in, ring_cur, col0, t0, n_steps, *params,
           rec_idx, rec_v, out_idx, out_off) -> number of spikes

* ``ring_ex``, ``ring_in``: int64 (L, columns) fixed-point spike input, slot = step % L;
* ``ring_cur``: float64 (L_cur, columns) current input in pA (slot = step % L_cur), from
  current generators; as NEST does for ``CurrentEvent``, the current read in step n acts
  from step n + 1 on;
* every slot a step reads is cleared;
* ``rec_v[s, j, k]``: recordable ``RECORDABLES[k]`` of neuron ``rec_idx[j]`` after step
  offset s (absolute units: mV, pA, nS);
* ``out_idx``, ``out_off``: spikes as block-local index and step offset.
"""
import math

import numpy as np

from ..backends import NUMPY
from ..distributions import Distribution, Stream
from ..errors import ModelError, suggest
from ..streams import Purpose


def positive(v):
    return v > 0


def non_negative(v):
    return v >= 0


def any_value(v):
    return True


#: Parameters of NEST's integrate-and-fire models: name -> (default, unit, check, rule).
LIF_COMMON = {
    "V_m": (-70.0, "mV", any_value, ""),
    "E_L": (-70.0, "mV", any_value, ""),
    "C_m": (250.0, "pF", positive, "> 0"),
    "tau_m": (10.0, "ms", positive, "> 0"),
    "t_ref": (2.0, "ms", non_negative, ">= 0"),
    "V_th": (-55.0, "mV", any_value, ""),
    "V_reset": (-70.0, "mV", any_value, ""),
    "I_e": (0.0, "pA", any_value, ""),
    "tau_minus": (20.0, "ms", positive, "> 0"),
    "tau_minus_triplet": (110.0, "ms", positive, "> 0"),
}


class NeuronModel:
    """Parameters (name -> (default, unit, check, rule)) of one model and the block class
    that runs it. ``receives_input``: whether connections may target it."""

    def __init__(self, name, params, block, receives_input=True):
        self.name, self.params, self.block, self.receives_input = name, params, block, receives_input

    @property
    def recordables(self):
        """State variables a multimeter can record (NEST's ``recordables``)."""
        return self.block.RECORDABLES

    def complete(self, where, given):
        """The full parameter set: defaults updated with ``given``, every value checked."""
        out = {k: v[0] for k, v in self.params.items()}
        for key, value in given.items():
            if key not in self.params:
                raise ModelError(f"{where}.{key}", f"unknown parameter for model {self.name}"
                                 + suggest(key, self.params))
            out[key] = self._checked(where, key, value)
        self.check_relations(where, out)
        return out

    def check_relations(self, where, p):
        """Checks between parameters of a complete set ``p``: V_reset below V_th."""
        if "V_reset" in p and "V_th" in p and not p["V_reset"] < p["V_th"]:
            raise ModelError(f"{where}.V_reset", f"must be below V_th ({p['V_th']} mV), "
                             f"got {p['V_reset']} mV")

    def _checked(self, where, key, value):
        default, unit, check, rule = self.params[key]
        if isinstance(value, Distribution) or np.ndim(value) > 0:
            if key != "V_m":
                raise ModelError(f"{where}.{key}", "only the initial V_m may be a distribution "
                                 "or an array")
            values = np.asarray(value) if np.ndim(value) > 0 else np.zeros(0)
            if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
                raise ModelError(f"{where}.{key}", f"must hold finite numbers ({unit})")
            return value
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise ModelError(f"{where}.{key}", f"must be true or false, got {value!r}")
            return bool(value)
        if isinstance(default, list):
            return value
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ModelError(f"{where}.{key}", f"must be a number ({unit}), got {value!r}") from None
        if math.isnan(value) or (math.isinf(value) and value != default):
            raise ModelError(f"{where}.{key}", f"must be a finite number ({unit}), got {value}")
        if not check(value):
            raise ModelError(f"{where}.{key}", f"must be {rule} {unit}, got {value}")
        return value


def initial_values(value, seed, population, gids):
    """Per-neuron initial values (float64) of a constant, an array (one value per neuron of
    the population) or a distribution."""
    if isinstance(value, Distribution):
        return value.sample(Stream(seed, Purpose.INITIAL_STATE, population.index), gids, 0)
    if np.ndim(value) > 0:
        return np.asarray(value, np.float64)[gids - population.first_gid]
    return np.full(len(gids), float(value))


def refractory_steps(t_ref, dt):
    return int(round(t_ref / dt))


class Block:
    """The nodes of one population on one rank, in columns col0 … col0+len(gids)−1.

    ``update(ring_ex, ring_in, ring_cur, t0, n_steps)`` advances them and returns the
    spikes as (block-local indices, step offsets); blocks of a model with a kernel
    (``KERNEL``) are advanced together instead (:class:`BlockGroup`). ``rec_idx`` lists
    block-local indices whose recordables the kernel writes to ``rec_v`` (step offset ×
    len(rec_idx) × len(RECORDABLES)), and ``samples`` is that array on the host after an
    interval. The state lives where ``backend`` (:mod:`bigbrain.backends`) computes;
    :meth:`use` moves it there.
    """

    backend = NUMPY
    #: The kernel (:mod:`bigbrain.kernels`) that advances blocks of this model, or None.
    KERNEL = None
    #: Attributes that hold the dynamic state, exactly as integrated (for checkpoints).
    STATE = ()
    #: State variables the kernel records (NEST's names), in the order of ``rec_v``'s last axis.
    RECORDABLES = ()

    def __init__(self, gids, col0):
        self.gids, self.col0 = gids, col0
        self.rec_idx = np.zeros(0, np.int64)
        self.rec_v = self.samples = np.zeros((0, 0, len(self.RECORDABLES)))

    def prepare(self, n_steps):
        """Sample array for intervals of up to ``n_steps`` steps."""
        self.rec_v = self.backend.zeros((n_steps, len(self.rec_idx), len(self.RECORDABLES)))

    def use(self, backend):
        """Compute with ``backend`` from now on: move the state arrays there."""
        backend.move(self, self.STATE)

    def kernel_args(self):
        """Arguments of ``KERNEL`` besides the ring buffers, the steps and the spike output."""
        return (*(getattr(self, name) for name in self.STATE), self.col0, *self.args,
                self.rec_idx, self.rec_v)

    def state(self):
        return {}

    def exact_state(self):
        """The dynamic state arrays by attribute name (V relative to E_L, counters, …)."""
        return {name: self.backend.to_host(getattr(self, name)) for name in self.STATE}

    def set_state(self, values):
        """Set the state from arrays as :meth:`exact_state` returns them (bit-exact). A
        variable missing from ``values`` keeps its initial value: checkpoints written before
        current input existed hold no ``y0`` / ``i_0``, which were zero then."""
        for name in self.STATE:
            if name in values:
                getattr(self, name)[...] = values[name]


class BlockGroup:
    """The blocks of one model with a kernel on one rank, advanced by one kernel call per
    interval (intervals of up to ``n_steps`` steps), computing with ``backend``."""

    @classmethod
    def of(cls, blocks, backend, n_steps):
        """One group per kernel of the blocks that have one (in order of first appearance)."""
        by_kernel = {}
        for block in blocks:
            if block.KERNEL is not None:
                by_kernel.setdefault(block.KERNEL, []).append(block)
        return [cls(group, backend, n_steps) for group in by_kernel.values()]

    def __init__(self, blocks, backend, n_steps):
        for block in blocks:
            block.prepare(n_steps)
        self.sampled = [block for block in blocks if len(block.rec_idx)]
        self.kernel = getattr(backend.kernels, blocks[0].KERNEL + "_blocks")
        self.table = backend.kernels.block_table([block.kernel_args() for block in blocks])
        room = sum(len(block.gids) for block in blocks) * n_steps  # every neuron, every step
        self.out_col, self.out_off = (backend.zeros(room, np.int64) for _ in range(2))
        self.backend = backend

    def update(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        """Advance every block; returns their spikes (rank columns, step offsets; views of
        buffers that the next update overwrites)."""
        k = self.kernel(self.table, ring_ex, ring_in, ring_cur, t0, n_steps, self.out_col,
                        self.out_off)
        for block in self.sampled:
            block.samples = self.backend.to_host(block.rec_v)
        return self.backend.to_host(self.out_col[:k]), self.backend.to_host(self.out_off[:k])
