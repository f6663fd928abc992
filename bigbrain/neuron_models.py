"""Neuron models: NEST's names, units, defaults and checks, and the per-rank state blocks.

A population's model is looked up by name in :data:`MODELS`. On each rank, the neurons of
a population that the partition gives to that rank form one *block*: their state arrays
and the propagators, updated by a kernel from :mod:`bigbrain.kernels.lif` once per
interval, in one call for all the blocks of a model (:class:`BlockGroup`). Units: mV, ms,
pF, pA. Spike-emitting inputs (``spike_source``) are blocks too,
so their spikes travel like any neuron's.
"""
import difflib
import math

import numpy as np

from .backends import NUMPY
from .distributions import Distribution, Stream
from .errors import ModelError
from .kernels.fixed_point import FRACTION_BITS
from .streams import Purpose


def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _any(v):
    return True


# name: (default, unit, check, description of the check)
_LIF_COMMON = {
    "V_m": (-70.0, "mV", _any, ""),
    "E_L": (-70.0, "mV", _any, ""),
    "C_m": (250.0, "pF", _positive, "> 0"),
    "tau_m": (10.0, "ms", _positive, "> 0"),
    "t_ref": (2.0, "ms", _non_negative, ">= 0"),
    "V_th": (-55.0, "mV", _any, ""),
    "V_reset": (-70.0, "mV", _any, ""),
    "I_e": (0.0, "pA", _any, ""),
    "tau_minus": (20.0, "ms", _positive, "> 0"),
}


class NeuronModel:
    """Parameters (defaults, units, checks) of one model and the block class that runs it."""

    def __init__(self, name, params, block, receives_input=True):
        self.name, self.params, self.block, self.receives_input = name, params, block, receives_input

    def complete(self, where, given):
        """The full parameter set: defaults updated with ``given``, every value checked."""
        out = {k: v[0] for k, v in self.params.items()}
        for key, value in given.items():
            if key not in self.params:
                raise ModelError(f"{where}.{key}", f"unknown parameter for model {self.name}"
                                 + suggest(key, self.params))
            out[key] = self._checked(where, key, value)
        if "V_reset" in out and "V_th" in out and not out["V_reset"] < out["V_th"]:
            raise ModelError(f"{where}.V_reset", f"must be below V_th ({out['V_th']} mV), "
                             f"got {out['V_reset']} mV")
        return out

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


def suggest(name, names):
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    near = difflib.get_close_matches(str(name), list(names), n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


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

    ``update(ring_ex, ring_in, t0, n_steps)`` advances them and returns the spikes as
    (block-local indices, step offsets); blocks of a model with a kernel (``KERNEL``) are
    advanced together instead (:class:`BlockGroup`). ``rec_idx`` lists block-local indices
    whose V_m the kernel writes to ``rec_v`` (step offset × len(rec_idx)), and ``samples``
    is that array on the host after an interval. The state lives where ``backend``
    (:mod:`bigbrain.backends`) computes; :meth:`use` moves it there.
    """

    backend = NUMPY
    #: The kernel (:mod:`bigbrain.kernels.lif`) that advances blocks of this model, or None.
    KERNEL = None

    def __init__(self, gids, col0):
        self.gids, self.col0 = gids, col0
        self.rec_idx = np.zeros(0, np.int64)
        self.rec_v = self.samples = np.zeros((0, 0))

    def prepare(self, n_steps):
        """V_m sample array for intervals of up to ``n_steps`` steps."""
        self.rec_v = self.backend.zeros((n_steps, len(self.rec_idx)))

    def use(self, backend):
        """Compute with ``backend`` from now on: move the state arrays there."""
        backend.move(self, self.STATE)

    def kernel_args(self):
        """Arguments of ``KERNEL`` besides the ring buffers, the steps and the spike output."""
        return (*(getattr(self, name) for name in self.STATE), self.col0, *self.args,
                self.rec_idx, self.rec_v)

    #: Attributes that hold the dynamic state, exactly as integrated (for checkpoints).
    STATE = ()

    def state(self):
        return {}

    def exact_state(self):
        """The dynamic state arrays by attribute name (V relative to E_L, counters, …)."""
        return {name: self.backend.to_host(getattr(self, name)) for name in self.STATE}

    def set_state(self, values):
        """Set the state from arrays as :meth:`exact_state` returns them (bit-exact)."""
        for name in self.STATE:
            getattr(self, name)[...] = values[name]


class IafPscDeltaBlock(Block):
    """Local neurons of one ``iaf_psc_delta`` population (state relative to E_L)."""

    STATE = ("y3", "r", "refr_acc")
    KERNEL = "iaf_psc_delta"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        self.p = p
        self.y3 = V_m - p["E_L"]
        self.r = np.zeros(len(gids), np.int64)
        self.refr_acc = np.zeros(len(gids))
        P33 = math.exp(-dt / p["tau_m"])
        P30 = -p["tau_m"] / p["C_m"] * math.expm1(-dt / p["tau_m"])
        self.args = (*map(float, (P30, P33, p["I_e"], p["V_th"] - p["E_L"],
                                  p["V_reset"] - p["E_L"], p["V_min"] - p["E_L"])),
                     refractory_steps(p["t_ref"], dt), bool(p["refractory_input"]),
                     *map(float, (dt, p["tau_m"], p["E_L"])))

    def state(self):
        y3, r, refr_acc = (self.backend.to_host(a) for a in (self.y3, self.r, self.refr_acc))
        return {"V_m": y3 + self.p["E_L"], "refractory": r, "refr_acc": refr_acc}


def propagator_32(tau_syn, tau, C, h):
    """NEST's propagator from synaptic current to membrane potential, stable near tau_syn = tau."""
    P32_linear = 1.0 / (2.0 * C * tau * tau) * h * h * (tau_syn - tau) * math.exp(-h / tau)
    P32_singular = h / C * math.exp(-h / tau)
    P32 = (-tau / (C * (1.0 - tau / tau_syn)) * math.exp(-h / tau_syn)
           * math.expm1(h * (1.0 / tau_syn - 1.0 / tau))) if tau != tau_syn else P32_singular
    dev_P32 = abs(P32 - P32_singular)
    if tau == tau_syn or (abs(tau - tau_syn) < 0.1 and dev_P32 > 2.0 * abs(P32_linear)):
        return P32_singular
    return P32


class IafPscExpBlock(Block):
    """Local neurons of one ``iaf_psc_exp`` population (V_m relative to E_L)."""

    STATE = ("V", "i_ex", "i_in", "r")
    KERNEL = "iaf_psc_exp"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        self.p = p
        n = len(gids)
        self.V = V_m - p["E_L"]
        self.i_ex, self.i_in = np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        P22 = math.exp(-dt / p["tau_m"])
        self.args = (*map(float, (P22, propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt),
                                  propagator_32(p["tau_syn_in"], p["tau_m"], p["C_m"], dt),
                                  p["tau_m"] / p["C_m"] * (1.0 - P22),
                                  math.exp(-dt / p["tau_syn_ex"]), math.exp(-dt / p["tau_syn_in"]),
                                  p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"])),
                     refractory_steps(p["t_ref"], dt), float(p["E_L"]))

    def state(self):
        V, i_ex, i_in, r = (self.backend.to_host(a) for a in (self.V, self.i_ex, self.i_in, self.r))
        return {"V_m": V + self.p["E_L"], "I_syn_ex": i_ex, "I_syn_in": i_in, "refractory": r}


class SpikeSourceBlock(Block):
    """Local nodes of a ``spike_source`` population: NEST's ``spike_generator``.

    A spike at time t (ms, on the dt grid, t >= dt) is emitted in step t/dt − 1, so it
    carries the time stamp t and reaches a target at t + delay.
    """

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        steps = [np.asarray(p["spike_times_steps"][g - p["first_gid"]], np.int64) - 1 for g in gids]
        self.emit_step = np.concatenate(steps + [np.zeros(0, np.int64)])
        self.emit_idx = np.repeat(np.arange(len(gids)), [len(s) for s in steps])
        order = np.argsort(self.emit_step, kind="stable")
        self.emit_step, self.emit_idx = self.emit_step[order], self.emit_idx[order]

    def update(self, ring_ex, ring_in, t0, n_steps):
        a, b = np.searchsorted(self.emit_step, [t0, t0 + n_steps])
        return self.emit_idx[a:b], self.emit_step[a:b] - t0


class ParrotBlock(Block):
    """Local nodes of a ``parrot_neuron`` population: NEST's parrot_neuron.

    Each spike that arrives (on port 0) in a step is emitted in that step, with its
    multiplicity: k spikes in, k spikes out. Input synapses deliver one spike each as
    2**FRACTION_BITS in the ring buffer (see ``Connection.input_weight``), whatever their
    weight. Its spikes are post-synaptic spikes for STDP (trace ``tau_minus``, ms).
    """

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        self.p = p

    def update(self, ring_ex, ring_in, t0, n_steps):
        slots = (t0 + np.arange(n_steps)) % ring_ex.shape[0]
        cols = slice(self.col0, self.col0 + len(self.gids))
        counts = (ring_ex[slots, cols] + ring_in[slots, cols]) >> FRACTION_BITS
        counts = self.backend.to_host(counts)
        ring_ex[slots, cols] = 0
        ring_in[slots, cols] = 0
        off, idx = np.nonzero(counts)
        repeats = counts[off, idx]
        return np.repeat(idx, repeats).astype(np.int64), np.repeat(off, repeats).astype(np.int64)


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

    def update(self, ring_ex, ring_in, t0, n_steps):
        """Advance every block; returns their spikes (rank columns, step offsets; views of
        buffers that the next update overwrites)."""
        k = self.kernel(self.table, ring_ex, ring_in, t0, n_steps, self.out_col, self.out_off)
        for block in self.sampled:
            block.samples = self.backend.to_host(block.rec_v)
        return self.backend.to_host(self.out_col[:k]), self.backend.to_host(self.out_off[:k])


MODELS = {
    "iaf_psc_delta": NeuronModel("iaf_psc_delta", {
        **_LIF_COMMON,
        "V_min": (-math.inf, "mV", _any, ""),
        "refractory_input": (False, "", _any, ""),
    }, IafPscDeltaBlock),
    "iaf_psc_exp": NeuronModel("iaf_psc_exp", {
        **_LIF_COMMON,
        "tau_syn_ex": (2.0, "ms", _positive, "> 0"),
        "tau_syn_in": (2.0, "ms", _positive, "> 0"),
    }, IafPscExpBlock),
    "spike_source": NeuronModel("spike_source", {}, SpikeSourceBlock, receives_input=False),
    "parrot_neuron": NeuronModel("parrot_neuron", {
        "tau_minus": (20.0, "ms", _positive, "> 0"),
    }, ParrotBlock),
}
