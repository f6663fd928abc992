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

A model with receptor ports (:mod:`.multisynapse`) takes the rank's port ring buffers
(``ports``) after its state arrays.
"""
import math

import numpy as np

from ..backends import NUMPY
from ..distributions import Distribution, Stream
from ..errors import ModelError, suggest
from ..streams import Purpose


def unit_of(variable):
    """Unit of a recordable state variable by NEST's naming: potentials (``V_…``, ``E_…``)
    mV, currents (``I_…``) pA, conductances (``g_…``) nS, adaptation ``w`` pA."""
    if variable.startswith(("V_", "E_")):
        return "mV"
    if variable.startswith("I_") or variable == "w":
        return "pA"
    return "nS" if variable.startswith("g_") else ""


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
    that runs it. ``receives_input``: whether connections may target it;
    ``NON_NEGATIVE_WEIGHTS``: whether it refuses negative weights (NEST's conductance
    models with receptor ports)."""

    NON_NEGATIVE_WEIGHTS = False

    def __init__(self, name, params, block, receives_input=True):
        self.name, self.params, self.block, self.receives_input = name, params, block, receives_input

    @property
    def recordables(self):
        """State variables a multimeter can record (NEST's ``recordables``)."""
        return self.block.RECORDABLES

    def recordables_for(self, params):
        """The recordables of a population with parameters ``params`` (a model with
        receptor ports has one per port)."""
        return self.recordables

    def ports(self, params):
        """Receptor ports (NEST's ``receptor_type`` 1 … ports) of a population with
        parameters ``params``; 0: none (spikes arrive on port 0, by weight sign)."""
        return 0

    def complete(self, where, given):
        """The full parameter set: defaults updated with ``given``, every value checked.
        A number parameter may also be an array (one value per neuron) or a distribution."""
        out = {k: v[0] for k, v in self.params.items()}
        for key, value in given.items():
            out[key] = self.checked(where, key, value)
        self.check_relations(where, out)
        return out

    def check_relations(self, where, p):
        """Checks between parameters of a complete set ``p``: V_reset below V_th."""
        if "V_reset" in p and "V_th" in p:
            check_below(where, p["V_reset"], p["V_th"])

    def checked(self, where, key, value):
        """``value`` of parameter ``key`` checked: a number (float), a float64 array or a
        distribution whose every value obeys the parameter's rule."""
        if key not in self.params:
            raise ModelError(f"{where}.{key}", f"unknown parameter for model {self.name}"
                             + suggest(key, self.params))
        default, unit, check, rule = self.params[key]
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise ModelError(f"{where}.{key}", f"must be true or false, got {value!r}")
            return bool(value)
        if isinstance(default, list):
            return value
        if isinstance(value, Distribution):
            lo, hi = value.bounds()
            if not (check(lo) and check(hi)):
                raise ModelError(f"{where}.{key}", f"must be {rule} {unit}, but the distribution "
                                 f"can give values in [{lo}, {hi}]")
            return value
        try:
            values = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            raise ModelError(f"{where}.{key}", f"must be a number ({unit}), an array or a "
                             f"distribution, got {value!r}") from None
        flat = values.ravel()
        infinite = np.flatnonzero(np.isinf(flat) & (flat != default))
        if len(infinite):
            at = f" (neuron {infinite[0]})" if values.ndim else ""
            raise ModelError(f"{where}.{key}", f"must be a finite number ({unit}), got "
                             f"{flat[infinite[0]]}{at}")
        bad = np.flatnonzero(np.isnan(flat) | ~np.broadcast_to(check(flat), flat.shape))
        if len(bad):
            at = f" (neuron {bad[0]})" if values.ndim else ""
            raise ModelError(f"{where}.{key}", f"must be {rule} {unit}, got "
                             f"{values.ravel()[bad[0]]}{at}")
        return float(values) if values.ndim == 0 else values.ravel()


def check_below(where, V_reset, V_th):
    """Refuse a V_reset that is not below V_th (per neuron, or over a distribution's range)."""
    if isinstance(V_reset, Distribution) or isinstance(V_th, Distribution):
        high = V_reset.bounds()[1] if isinstance(V_reset, Distribution) else np.max(V_reset)
        low = V_th.bounds()[0] if isinstance(V_th, Distribution) else np.min(V_th)
        ok = high < low
    else:
        ok = np.all(np.less(V_reset, V_th))
    if not ok:
        raise ModelError(f"{where}.V_reset", f"must be below V_th ({shown(V_th)} mV), "
                         f"got {shown(V_reset)} mV")


def shown(value):
    """A parameter as an error message shows it: the number, or 'per neuron'."""
    return value if np.ndim(value) == 0 and not isinstance(value, Distribution) else "per neuron"


def is_per_neuron(value):
    """Whether a parameter value may differ between neurons (an array or a distribution)."""
    return isinstance(value, Distribution) or np.ndim(value) > 0


def local_values(value, seed, population, key, gids):
    """Parameter ``key`` of neurons ``gids`` of ``population``: the number itself, or a
    float64 array (one value per gid) from an array (one value per neuron of the population)
    or a distribution. The initial V_m draws from :attr:`Purpose.INITIAL_STATE` (aux:
    population index, index 0), every other parameter from
    :attr:`Purpose.NEURON_PARAMETER` (aux: population index, index: the parameter's
    position in the model's table); id: gid."""
    if isinstance(value, Distribution):
        if key == "V_m":
            return value.sample(Stream(seed, Purpose.INITIAL_STATE, population.index), gids, 0)
        return value.sample(Stream(seed, Purpose.NEURON_PARAMETER, population.index), gids,
                            list(population.model.params).index(key))
    if np.ndim(value) > 0:
        return np.asarray(value, np.float64)[gids - population.first_gid]
    return value


def initial_values(value, seed, population, gids):
    """Per-neuron initial V_m (float64) of a constant, an array (one value per neuron of
    the population) or a distribution."""
    values = local_values(value, seed, population, "V_m", gids)
    return np.full(len(gids), float(values)) if np.ndim(values) == 0 else values


def neuron_parameters(population, seed, gids):
    """The parameters of ``population`` for its neurons ``gids``: numbers where the
    population's value is one number, float64 arrays (one per gid) where it differs."""
    model = population.model.params
    return {key: local_values(value, seed, population, key, gids)
            if key in model and isinstance(model[key][0], float) and is_per_neuron(value)
            else value for key, value in population.params.items()}


def per_neuron(f, *values):
    """``f`` (a function of numbers: propagators use ``math.exp`` / ``math.expm1``, the libm
    functions NEST calls, not NumPy's vectorized ones) of parameters that are numbers or
    per-neuron arrays: a number if all are numbers, else an array holding f of each
    neuron's values, computed once per distinct combination."""
    if all(np.ndim(v) == 0 for v in values):
        return f(*values)
    columns = np.column_stack(np.broadcast_arrays(*(np.asarray(v, np.float64) for v in values)))
    unique, inverse = np.unique(columns, axis=0, return_inverse=True)
    return np.array([f(*map(float, row)) for row in unique])[inverse.ravel()]


def refractory_steps(t_ref, dt):
    """Refractory period in steps (per neuron where ``t_ref`` is an array)."""
    return per_neuron(lambda t: int(round(t / dt)), t_ref)


class Block:
    """The nodes of one population on one rank, in columns col0 … col0+len(gids)−1.

    ``update(ring_ex, ring_in, ring_cur, t0, n_steps)`` advances them and returns the
    spikes as (block-local indices, step offsets); blocks of a model with a kernel
    (``KERNEL``) are advanced together instead (:class:`BlockGroup`). ``rec_idx`` lists
    block-local indices whose recordables the kernel writes to ``rec_v`` (step offset ×
    len(rec_idx) × len(RECORDABLES)), and ``samples`` is that array on the host after an
    interval. The state lives where ``backend`` (:mod:`bigbrain.backends`) computes;
    :meth:`use` moves it there.

    ``p`` holds the block's parameters (a number, or one value per local neuron where they
    differ) and ``dt``; a model whose block defines ``arguments(p)`` (the kernel's parameter
    arguments from ``p``) takes per-neuron parameters and changes between runs
    (:meth:`set_parameter`); ``V_REL`` names the state holding V_m − E_L for get/set
    (``V_ABS``: V_m itself).
    """

    backend = NUMPY
    #: The kernel (:mod:`bigbrain.kernels`) that advances blocks of this model, or None.
    KERNEL = None
    #: Attributes that hold the dynamic state, exactly as integrated (for checkpoints).
    STATE = ()
    #: State variables the kernel records (NEST's names), in the order of ``rec_v``'s last axis.
    RECORDABLES = ()

    #: The state attribute that holds V_m relative to E_L (NEST's y3), if any.
    V_REL = None
    #: The state attribute that holds V_m itself (mV; conductance-based models), if any.
    V_ABS = None
    #: State variables other than V_m whose parameter of the same name is only their initial
    #: value (NEST's convention): get/set reach the state attribute named here.
    STATE_VARIABLES = {}

    def __init__(self, gids, col0, p=None, dt=None):
        self.gids, self.col0 = gids, col0
        self.p, self.dt = p, dt
        self.rec_idx = np.zeros(0, np.int64)
        self.rec_v = self.samples = np.zeros((0, 0, len(self.RECORDABLES)))

    def prepare(self, n_steps):
        """Sample array for intervals of up to ``n_steps`` steps."""
        self.rec_v = self.backend.zeros((n_steps, len(self.rec_idx), len(self.RECORDABLES)))

    def use(self, backend):
        """Compute with ``backend`` from now on: move the state arrays there."""
        backend.move(self, self.STATE)

    #: ``arguments(p)`` -> the kernel's parameter arguments from parameters ``p`` (a number
    #: or one value per local neuron for each) and ``dt``; None for a model whose parameters
    #: are fixed numbers. ``args`` holds them as :meth:`kernel_arguments` gives them.
    arguments = None

    #: Whether :meth:`kernel_arguments` makes every number parameter one value per neuron
    #: where any argument is an array (kernels that take their parameters as arguments; the
    #: conductance kernels read theirs from a tuple inside the neuron loop, where each array
    #: costs reference counting: 25 times slower with all of them arrays).
    ALL_ARRAYS = False

    def kernel_arguments(self):
        """``arguments(p)``; with :data:`ALL_ARRAYS`, from ``p`` with every number made one
        value per local neuron where any argument is an array: the kernel then takes numbers
        only or arrays only. Numba compiles a kernel (and the typed lists and loops around
        it) once per combination of number and array arguments, seconds each; the values
        are unchanged."""
        args = self.arguments(self.p)
        if not (self.ALL_ARRAYS and _any_array(args)):
            return args
        n = len(self.gids)
        return self.arguments({key: np.full(n, v, np.float64) if _is_number(v) else v
                               for key, v in self.p.items()})

    def is_state(self, key):
        """Whether get/set of ``key`` reach a state variable (V_m, :data:`STATE_VARIABLES`)."""
        return key == "V_m" or key in self.STATE_VARIABLES

    def parameter(self, key):
        """Parameter ``key`` (or the current value of a state variable: V_m in mV, those of
        :data:`STATE_VARIABLES`) of each local neuron (float64, host)."""
        if key in self.STATE_VARIABLES:
            return np.array(self.backend.to_host(getattr(self, self.STATE_VARIABLES[key])), np.float64)
        if key == "V_m" and self.V_ABS is not None:
            return np.array(self.backend.to_host(getattr(self, self.V_ABS)), np.float64)
        if key == "V_m":
            return self.backend.to_host(getattr(self, self.V_REL)) + self.p["E_L"]
        return np.broadcast_to(np.asarray(self.p[key], np.float64), len(self.gids)).copy()

    def set_parameter(self, key, values):
        """Set parameter ``key`` (or the current V_m) of the local neurons to ``values`` (a
        number or one value per local neuron) and recompute the kernel's arguments. As in
        NEST, a new E_L keeps the absolute V_m (the state relative to E_L moves)."""
        if key in self.STATE_VARIABLES:
            state = getattr(self, self.STATE_VARIABLES[key])
            state[...] = self.backend.asarray(np.broadcast_to(np.asarray(values, np.float64),
                                                              len(self.gids)))
            return
        if key == "V_m":
            relative = self.V_ABS is None
            V = np.broadcast_to(np.asarray(values - self.p["E_L"] if relative else values,
                                           np.float64), len(self.gids))
            getattr(self, self.V_REL if relative else self.V_ABS)[...] = self.backend.asarray(V)
            return
        if key == "E_L" and self.V_REL is not None:
            shift = np.broadcast_to(np.asarray(values - self.p["E_L"], np.float64), len(self.gids))
            getattr(self, self.V_REL)[...] -= self.backend.asarray(shift)
        self.p[key] = values
        self.args = self.kernel_arguments()

    def kernel_args(self):
        """Arguments of ``KERNEL`` besides the ring buffers, the steps and the spike output."""
        return (*(getattr(self, name) for name in self.STATE), self.col0, *self.args,
                self.rec_idx, self.rec_v)

    def exact_state(self):
        """The dynamic state arrays by attribute name (V relative to E_L, counters, …)."""
        return {name: self.backend.to_host(getattr(self, name)) for name in self.STATE}

    def set_state(self, values):
        """Set the state from arrays as :meth:`exact_state` returns them (bit-exact). A
        variable missing from ``values`` keeps its initial value: checkpoints written before
        current input existed hold no ``y0`` / ``i_0``, which were zero then. The arrays are
        written in place (the kernel tables hold them), copied to the backend first: a
        device array does not take host arrays."""
        for name in self.STATE:
            if name in values:
                getattr(self, name)[...] = self.backend.asarray(values[name])


class BlockGroup:
    """The blocks of one model with a kernel on one rank, advanced by one kernel call per
    interval (intervals of up to ``n_steps`` steps), computing with ``backend``. With a
    ``log`` (a device's spike log, :class:`bigbrain.kernels.gpu.SpikeLog`) the kernel
    appends the spikes there instead of returning them."""

    @classmethod
    def of(cls, blocks, backend, n_steps, log=None):
        """One group per kernel and argument types (numbers or per-neuron arrays) of the
        blocks that have a kernel, in order of first appearance: a group's arguments form
        one typed list, so they must have the same types."""
        by_kernel = {}
        for block in blocks:
            if block.KERNEL is not None:
                key = block.KERNEL, tuple(_argument_type(a) for a in block.kernel_args())
                by_kernel.setdefault(key, []).append(block)
        return [cls(group, backend, n_steps, log) for group in by_kernel.values()]

    def __init__(self, blocks, backend, n_steps, log=None):
        for block in blocks:
            block.prepare(n_steps)
        self.blocks = blocks
        self.sampled = [block for block in blocks if len(block.rec_idx)]
        self.kernel = getattr(backend.kernels, blocks[0].KERNEL + "_blocks")
        self.table = backend.kernels.block_table([block.kernel_args() for block in blocks])
        self.log = log
        if log is None:
            room = sum(len(block.gids) for block in blocks) * n_steps  # every neuron, every step
            self.out = backend.zeros((2, room), np.int64)  # columns, step offsets: one copy back
            self.out_col, self.out_off = self.out
        self.backend = backend

    def update(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        """Advance every block; returns their spikes (rank columns, step offsets; views of
        buffers that the next update overwrites), or None where they went to the log."""
        spikes = self._run(ring_ex, ring_in, ring_cur, t0, n_steps)
        for block in self.sampled:
            block.samples = self.backend.to_host(block.rec_v)
        return spikes

    def _run(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        if self.log is not None:
            self.kernel(self.table, ring_ex, ring_in, ring_cur, t0, n_steps, self.log)
            return None
        k = self.kernel(self.table, ring_ex, ring_in, ring_cur, t0, n_steps, self.out_col,
                        self.out_off)
        cols, offsets = self.backend.to_host(self.out[:, :k])
        return cols, offsets


def _any_array(values):
    """Whether any of ``values`` (numbers, arrays, tuples of them) is an array."""
    return any(_any_array(v) if isinstance(v, tuple) else np.ndim(v) > 0 for v in values)


def _is_number(value):
    """Whether a parameter's value is one number (not a flag, not an array)."""
    return (np.ndim(value) == 0 and isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def _argument_type(value):
    """What the kernel's compiled code depends on: the kind of a number, or an array's
    dtype and dimensions."""
    if isinstance(value, tuple):
        return tuple(_argument_type(v) for v in value)
    return (value.dtype.str, value.ndim) if hasattr(value, "ndim") and value.ndim else type(value)
