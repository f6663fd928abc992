"""PyNN's standard cells, synapses and current sources on bigbrain's NEST models.

Each class names the bigbrain (NEST) model it runs on (``nest_name``) and translates
PyNN's parameters and units (nF, nA, µS, mV, ms) to NEST's (pF, pA, nS, mV, ms), as
PyNN's NEST backend does; weights are scaled by :func:`weight_scale`.
"""
import numpy as np
from pyNN import errors as pynn_errors
from pyNN.models import BaseCellType
from lazyarray import larray as LazyArray
from pyNN.parameters import ArrayParameter, ParameterSpace, simplify
from pyNN.standardmodels import build_translations, cells, electrodes, receptors, synapses

from ..errors import ModelError
from ..generators import KINDS as DEVICE_KINDS
from ..neurons import MODELS
from ..stimulation import CurrentProjection
from .selections import selection_of

#: Membrane translations shared by the integrate-and-fire cells.
_LIF = (("v_rest", "E_L"), ("cm", "C_m", 1000.0), ("tau_m", "tau_m"),
        ("tau_refrac", "t_ref"), ("v_reset", "V_reset"), ("v_thresh", "V_th"),
        ("i_offset", "I_e", 1000.0))
_SYN = (("tau_syn_E", "tau_syn_ex"), ("tau_syn_I", "tau_syn_in"))
_COND = (("v_rest", "E_L"), ("cm", "C_m", 1000.0),
         ("tau_m", "g_L", "cm/tau_m*1000.0", "C_m/g_L"), ("tau_refrac", "t_ref"),
         ("v_reset", "V_reset"), ("v_thresh", "V_th"), ("i_offset", "I_e", 1000.0),
         ("e_rev_E", "E_ex"), ("e_rev_I", "E_in"), *_SYN)

#: PyNN state variables -> (NEST name, factor to NEST units).
STATE_VARIABLES = {"v": ("V_m", 1.0), "w": ("w", 1000.0), "m": ("Act_m", 1.0),
                   "h": ("Inact_h", 1.0), "n": ("Act_n", 1.0)}


def require_model(celltype):
    """Raise a ModelError naming the engine model a cell type needs when it is missing."""
    if celltype.nest_name not in MODELS:
        raise ModelError(f"{type(celltype).__name__}", f"needs the engine model "
                         f"{celltype.nest_name!r}, which this bigbrain does not have yet")


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    nest_name = "iaf_psc_delta"
    translations = build_translations(*_LIF)


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    nest_name = "iaf_psc_exp"
    translations = build_translations(*_LIF, *_SYN)


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    nest_name = "iaf_psc_alpha"
    translations = build_translations(*_LIF, *_SYN)


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    nest_name = "iaf_cond_exp"
    translations = build_translations(*_COND)


class IF_cond_alpha(cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    nest_name = "iaf_cond_alpha"
    translations = build_translations(*_COND)


#: The adaptive exponential cells' translations (pyNN.nest's).
_EIF = (*[t for t in _COND if t[0] != "v_thresh"], ("v_thresh", "V_th"),
        ("v_spike", "V_peak"), ("a", "a"), ("b", "b", 1000.0), ("delta_T", "Delta_T"),
        ("tau_w", "tau_w"))


class EIF_cond_exp_isfa_ista(cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    nest_name = "aeif_cond_exp"
    translations = build_translations(*_EIF)


class EIF_cond_alpha_isfa_ista(cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    nest_name = "aeif_cond_alpha"
    translations = build_translations(*_EIF)


class HH_cond_exp(cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    nest_name = "hh_cond_exp_traub"
    translations = build_translations(
        ("gbar_Na", "g_Na", 1000.0), ("gbar_K", "g_K", 1000.0), ("g_leak", "g_L", 1000.0),
        ("cm", "C_m", 1000.0), ("v_offset", "V_T"), ("e_rev_Na", "E_Na"), ("e_rev_K", "E_K"),
        ("e_rev_leak", "E_L"), ("e_rev_E", "E_ex"), ("e_rev_I", "E_in"), *_SYN,
        ("i_offset", "I_e", 1000.0))


# ---------------------------------------------------------------- composed cells
class LIF(cells.LIF):
    """PyNN's leaky integrate-and-fire membrane of a :class:`PointNeuron` (NEST's
    ``iaf_psc_exp_multisynapse`` with CurrExpPostSynapticResponse receptors)."""
    __doc__ = cells.LIF.__doc__
    translations = build_translations(*_LIF)
    possible_models = {"iaf_psc_alpha_multisynapse", "iaf_psc_exp_multisynapse"}
    variable_map = {"v": "V_m"}


class AdExp(cells.AdExp):
    """PyNN's adaptive exponential membrane of a :class:`PointNeuron` (NEST's
    ``aeif_cond_alpha_multisynapse`` with CondAlphaPostSynapticResponse receptors)."""
    __doc__ = cells.AdExp.__doc__
    translations = build_translations(
        ("cm", "C_m", 1000.0), ("tau_refrac", "t_ref"), ("v_spike", "V_peak"),
        ("v_reset", "V_reset"), ("v_rest", "E_L"),
        ("tau_m", "g_L", "cm/tau_m*1000.0", "C_m/g_L"), ("i_offset", "I_e", 1000.0),
        ("a", "a"), ("b", "b", 1000.0), ("delta_T", "Delta_T"), ("tau_w", "tau_w"),
        ("v_thresh", "V_th"))
    possible_models = {"aeif_cond_alpha_multisynapse", "aeif_cond_beta_multisynapse"}
    variable_map = {"v": "V_m", "w": "w"}


class CurrExpPostSynapticResponse(receptors.CurrExpPostSynapticResponse):
    __doc__ = receptors.CurrExpPostSynapticResponse.__doc__
    translations = build_translations(("locations", "locations"), ("tau_syn", "tau_syn"))
    possible_models = {"iaf_psc_exp_multisynapse"}
    recordable = ["isyn"]
    variable_map = {"isyn": "I_syn"}


class CondExpPostSynapticResponse(receptors.CondExpPostSynapticResponse):
    __doc__ = receptors.CondExpPostSynapticResponse.__doc__
    translations = build_translations(("locations", "locations"), ("e_syn", "E_rev"),
                                      ("tau_syn", "tau_syn"))
    possible_models = {"gif_cond_exp_multisynapse"}
    recordable = ["gsyn"]
    variable_map = {"gsyn": "g"}


class CondAlphaPostSynapticResponse(CondExpPostSynapticResponse,
                                    receptors.CondAlphaPostSynapticResponse):
    __doc__ = receptors.CondAlphaPostSynapticResponse.__doc__
    possible_models = {"aeif_cond_alpha_multisynapse"}


class CondBetaPostSynapticResponse(receptors.CondBetaPostSynapticResponse):
    __doc__ = receptors.CondBetaPostSynapticResponse.__doc__
    translations = build_translations(("locations", "locations"), ("e_syn", "E_rev"),
                                      ("tau_rise", "tau_rise"), ("tau_decay", "tau_decay"))
    possible_models = {"aeif_cond_beta_multisynapse"}
    recordable = ["gsyn"]
    variable_map = {"gsyn": "g"}


ExpPSR, AlphaPSR, BetaPSR = (CondExpPostSynapticResponse, CondAlphaPostSynapticResponse,
                             CondBetaPostSynapticResponse)


class PointNeuron(cells.PointNeuron):
    """A membrane with named receptors (PyNN's composed cell), as pyNN.nest maps it: onto
    the NEST model with receptor ports that both allow (``iaf_psc_exp_multisynapse``,
    ``aeif_cond_alpha_multisynapse``); receptor ``name`` is port
    ``receptor_types.index(name) + 1`` (receptors in name order), and each receptor
    parameter becomes that model's list (``tau_syn``, ``E_rev``), one value per port."""
    __doc__ = cells.PointNeuron.__doc__

    def get_receptor_type(self, name):
        """The engine's port (NEST's receptor_type) of receptor ``name``."""
        return self.receptor_types.index(name) + 1

    @property
    def nest_name(self):
        """The engine model this combination runs on."""
        possible = set(self.neuron.possible_models)
        for psr in self.post_synaptic_receptors.values():
            possible &= psr.possible_models
        have = sorted(possible & set(MODELS))
        if not have:
            need = (f"needs one of the NEST models {sorted(possible)}, which this bigbrain "
                    "does not have" if possible else "combines a membrane and receptors that "
                    "no NEST model joins")
            raise ModelError("PointNeuron", f"{need} (it has iaf_psc_exp_multisynapse: LIF "
                             "with CurrExpPostSynapticResponse; aeif_cond_alpha_multisynapse: "
                             "AdExp with CondAlphaPostSynapticResponse)")
        return have[0]

    @property
    def native_parameters(self):
        """The membrane's native parameters and, per receptor parameter, one list (one
        value per port) for every cell: a receptor's parameters are one value per
        population (NEST's lists), refused otherwise."""
        space = self.neuron.native_parameters
        ports = {}
        for name in self.receptor_types:
            psr = self.post_synaptic_receptors[name]
            for key, value in psr.native_parameters.items():
                if key == "locations":
                    continue
                if not value.is_homogeneous:
                    raise ModelError(f"PointNeuron.{name}.{key}", "must be one value for the "
                                     "population (the engine's port lists, as NEST's)")
                ports.setdefault(key, []).append(float(value.base_value))
        space.update(**{key: LazyArray(ArrayParameter(values), dtype=ArrayParameter)
                        for key, values in ports.items()})
        return space

    def get_native_names(self, *names):
        names = names or self.get_parameter_names()
        out = self.neuron.get_native_names(*[n for n in names if "." not in n])
        for name in names:
            if "." in name:
                receptor, key = name.split(".")
                out.append(self.post_synaptic_receptors[receptor].get_native_names(key)[0])
        return out + [n for n in self._port_names() if n not in out and not names]

    def _port_names(self):
        return sorted({k for psr in self.post_synaptic_receptors.values()
                       for k in psr.get_native_names() if k != "locations"})

    def reverse_translate(self, native_parameters):
        """Standard parameters of the membrane and of each receptor (``AMPA.tau_syn``:
        the port's value of the native list)."""
        native = dict(native_parameters.items())
        neuron = {k: v for k, v in native.items() if k not in self._port_names()}
        shape = native_parameters.shape
        out = dict(self.neuron.reverse_translate(ParameterSpace(neuron, shape=shape)).items())
        for receptor, psr in self.post_synaptic_receptors.items():
            port = self.receptor_types.index(receptor)
            for key in psr.get_parameter_names():
                nat = psr.get_native_names(key)[0]
                if nat in native:
                    out[f"{receptor}.{key}"] = simplify(np.array(
                        [np.asarray(getattr(v, "value", v))[port] for v in native[nat]]))
        return ParameterSpace(out, shape=shape)

    def recordable_variable(self, variable):
        """The engine recordable (NEST's) and the factor to PyNN units of ``variable``:
        ``AMPA.gsyn`` -> ("g_1", 0.001)."""
        if "." not in variable:
            return None
        receptor, name = variable.split(".")
        psr = self.post_synaptic_receptors[receptor]
        return f"{psr.variable_map[name]}_{self.get_receptor_type(receptor)}", 1e-3


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    """One Poisson train per cell (shared by all its targets), as in PyNN: bigbrain's
    ``inhomogeneous_poisson_generator`` (rate from ``start`` to ``start + duration``)
    repeated by one ``parrot_neuron`` per cell, as PyNN's NEST backend does."""
    __doc__ = cells.SpikeSourcePoisson.__doc__
    nest_name = "parrot_neuron"
    translations = build_translations(("rate", "rate"), ("start", "start"),
                                      ("duration", "duration"))


class SpikeSourceGamma(cells.SpikeSourceGamma):
    """One gamma train per cell: NEST's ``gamma_sup_generator`` (``n_proc`` = 1, shape
    ``alpha``, rate ``beta / alpha``) repeated by one ``parrot_neuron`` per cell, as PyNN's
    NEST backend does; ``start`` and ``duration`` bound the device's window."""
    __doc__ = cells.SpikeSourceGamma.__doc__
    nest_name = "parrot_neuron"
    generator = "gamma_sup_generator"
    translations = build_translations(
        ("alpha", "gamma_shape"), ("beta", "rate", "beta/alpha", "gamma_shape * rate"),
        ("start", "start"), ("duration", "stop", "start + duration", "stop - start"))


class SpikeSourcePoissonRefractory(cells.SpikeSourcePoissonRefractory):
    """One Poisson train with dead time ``tau_refrac`` per cell: NEST's
    ``ppd_sup_generator`` (``n_proc`` = 1) repeated by one ``parrot_neuron`` per cell, as
    PyNN's NEST backend does; ``start`` and ``duration`` bound the device's window."""
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    nest_name = "parrot_neuron"
    generator = "ppd_sup_generator"
    translations = build_translations(
        ("rate", "rate"), ("tau_refrac", "dead_time"),
        ("start", "start"), ("duration", "stop", "start + duration", "stop - start"))


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    nest_name = "spike_source"
    translations = build_translations(("spike_times", "spike_times"))


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        from .simulator import state
        return state.min_delay


class SimpleStochasticSynapse(synapses.SimpleStochasticSynapse):
    """NEST's ``bernoulli_synapse`` (bb.Bernoulli): each spike passes with probability ``p``."""
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                      ("p", "p_transmit"))

    def _get_minimum_delay(self):
        from .simulator import state
        return state.min_delay


class STDPMechanism(synapses.STDPMechanism):
    """NEST's ``stdp_synapse`` (bb.STDP): the whole delay is dendritic."""
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                           ("dendritic_delay_fraction",
                                            "dendritic_delay_fraction"))

    def _get_minimum_delay(self):
        from .simulator import state
        return state.min_delay


class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):
    """NEST's ``tsodyks_synapse`` (bb.TsodyksSynapse), translated as pyNN.nest does
    (``tau_facil`` → ``tau_fac``); ``tau_psc`` is the post-synaptic cells' ``tau_syn_E``
    (``tau_syn_I`` for inhibitory projections)."""
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"),
                                      ("tau_rec", "tau_rec"), ("tau_facil", "tau_fac"))

    def _get_minimum_delay(self):
        from .simulator import state
        return state.min_delay


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = build_translations(("w_max", "Wmax"), ("w_min", "w_min"))
    mu = 0.0


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = build_translations(("w_max", "Wmax"), ("w_min", "w_min"))
    mu = 1.0


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
                                      ("A_plus", "lambda"), ("A_minus", "A_minus"))


def weight_scale(celltype, receptor_type):
    """Factor from a PyNN weight (nA, µS, or mV for delta synapses) to the engine's (pA,
    nS, mV). The engine takes a weight's sign as its receptor, as NEST does: PyNN's
    current-based inhibitory weights are negative already, its inhibitory conductances
    are positive and are negated here."""
    if getattr(celltype, "conductance_based", False):
        return -1000.0 if receptor_type == "inhibitory" else 1000.0
    if getattr(celltype, "voltage_based_synapses", False) or \
            getattr(celltype, "native_units", False):
        return 1.0
    return 1000.0


# ---------------------------------------------------------------- current sources
class _CurrentSource:
    """A PyNN current source as a bigbrain current generator connected to the cells it is
    injected into with weight 1 and the minimum delay, its times moved earlier by that
    delay (as PyNN's NEST backend does), so that the cells feel the current from ``start``
    (and each step's amplitude from its time) on."""

    def __init__(self, **parameters):
        from .simulator import state
        for name, value in (("_native", {}), ("_targets", []), ("_generator", None),
                            ("_connections", [])):
            object.__setattr__(self, name, value)
        self.set_parameters(**{**self.default_parameters, **parameters})
        state.current_sources.append(self)

    def _checked(self, p):
        """The native parameters ``p`` as kept (checked, normalised)."""
        return p

    def inject_into(self, cells):
        from .simulator import state
        state.not_built(f"{type(self).__name__}.inject_into")
        self._targets.append(cells)

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        self._native.update(self._checked({**self._native, **parameters.as_dict()}))
        from .simulator import state
        if self._generator is not None and state.built:
            self._generator.set_params(state.net, **self._engine_params(changeable_only=True))

    def get_native_parameters(self):
        from pyNN.parameters import ParameterSpace
        return ParameterSpace(dict(self._native), shape=(1,))

    def get_parameters(self):
        """Standard parameters (PyNN units), evaluated: numbers, and arrays for times and
        amplitudes (as pyNN.nest gives them)."""
        parameters = self.reverse_translate(self.get_native_parameters())
        parameters.evaluate(simplify=True)
        return {k: np.asarray(v.value) if hasattr(v, "value") else v
                for k, v in parameters.items()}

    def _engine_params(self, changeable_only=False):
        p = self._convert(dict(self._native))
        if changeable_only:
            keep = DEVICE_KINDS[self.kind].CHANGEABLE
            p = {k: v for k, v in p.items() if k in keep}
        return p

    def _describe(self, net):
        from .simulator import state
        name = f"current_source{state.current_sources.index(self)}"
        self._generator = net._generator(self.kind, name, 1, self._engine_params())
        self._connections = [net.connect(self._generator, selection_of(cells), rule="all_to_all",
                                         weight=1.0, delay=_min_delay())
                             for cells in self._targets]

    def record(self):
        """Record the current the cells get (read with ``get_data``)."""
        object.__setattr__(self, "_recorded", True)

    def _get_data(self):
        """(times ms, current nA) from 0 to now every dt: the current the first target
        feels from each time on (the device's of one minimum delay and one step before),
        computed from the device's parameters (a pure function of the step, the same on
        every rank; a noise source's values are its first synapse's)."""
        from .simulator import state
        if not getattr(self, "_recorded", False) or self._generator is None:
            raise ModelError(f"{type(self).__name__}.get_data", "call record() before run")
        n = int(round(state.t / state.dt))
        lag = int(round(state.min_delay / state.dt)) + 1
        current = np.zeros(n + 1)
        conn = self._connections[0] if self._connections else None
        if conn is not None and n >= lag:
            syn = CurrentProjection(conn, state.net.seed, np.zeros(1, np.int64),
                                    np.asarray(conn.post.gids()[:1], np.int64),
                                    np.zeros(1, np.int64), 1.0, lag - 1)
            base, scale, z, m_of = self._generator.currents(0, n - lag, syn)
            current[lag:] = base + scale * z[0, m_of]
        return np.arange(n + 1) * state.dt, current / 1000.0

def _sequence(value):
    """The numbers of a PyNN Sequence (or array)."""
    return list(getattr(value, "value", value))


def _min_delay():
    from .simulator import state
    return state.min_delay


def _device_times(times, values):
    """Device times (ms) and values of a step current felt by the cells from ``times``:
    one minimum delay earlier, on the grid, and no earlier than the step after the current
    time (the first the device can still change, as pyNN.nest); of times that meet there,
    the last value counts."""
    from .simulator import state
    now = round(state.t / state.dt)
    steps = [max(round((float(t) - state.min_delay) / state.dt), now + 1) for t in times]
    return _last_of_each([s * state.dt for s in steps], values)


def _last_of_each(times, values):
    """(times, values) with each repeated time kept once, with its last value."""
    last = {t: v for t, v in zip(times, values)}
    return list(last), list(last.values())


def step_times(times, amplitudes, dt):
    """A StepCurrentSource's times (ms) checked (>= 0, increasing: a ModelError, which is a
    ValueError as PyNN asks) and moved to the dt grid, of times that meet there the last
    amplitude kept."""
    times = np.asarray(times, np.float64)
    if times.size and times.min() < 0:
        raise ModelError("StepCurrentSource.times", f"must be >= 0 ms, got {times.min()}")
    if times.size > 1 and np.diff(times).min() <= 0:
        raise ModelError("StepCurrentSource.times", "must increase strictly")
    grid = [round(t / dt) * dt for t in times]
    return _last_of_each(grid, list(amplitudes))


def _window(p):
    """start, stop (ms) of a device, one minimum delay earlier (stop may be infinite)."""
    from .simulator import state
    stop = float(p["stop"])
    return {"start": max(float(p["start"]) - state.min_delay, 0.0),
            "stop": stop - state.min_delay if np.isfinite(stop) else stop}


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    kind = "dc_generator"
    translations = build_translations(("amplitude", "amplitude", 1000.0), ("start", "start"),
                                      ("stop", "stop"))

    def _convert(self, p):
        return {"amplitude": p["amplitude"], **_window(p)}


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    kind = "step_current_generator"
    translations = build_translations(("amplitudes", "amplitude_values", 1000.0),
                                      ("times", "amplitude_times"))

    def _checked(self, p):
        from pyNN.parameters import Sequence
        from .simulator import state
        times, values = step_times(_sequence(p["amplitude_times"]),
                                   _sequence(p["amplitude_values"]), state.dt)
        return {**p, "amplitude_times": Sequence(times), "amplitude_values": Sequence(values)}

    def _convert(self, p):
        times, values = _device_times(_sequence(p["amplitude_times"]),
                                      [float(a) for a in _sequence(p["amplitude_values"])])
        return {"amplitude_times": times, "amplitude_values": values}


class NoisyCurrentSource(_CurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    kind = "noise_generator"
    translations = build_translations(("mean", "mean", 1000.0), ("stdev", "std", 1000.0),
                                      ("start", "start"), ("stop", "stop"), ("dt", "dt"))

    def _convert(self, p):
        from .simulator import state
        return {"mean": p["mean"], "std": p["std"], **_window(p),
                "dt": state.dt if p["dt"] is None else p["dt"]}


class ACSource(_CurrentSource, electrodes.ACSource):
    """PyNN's sine current: its phase holds at ``start`` in the cells' time (as in pyNN.nest
    and its other backends), so the device (one minimum delay earlier, NEST's
    ``ac_generator`` with its phase from t = 0) is given the phase that makes it so."""
    __doc__ = electrodes.ACSource.__doc__
    kind = "ac_generator"
    translations = build_translations(("amplitude", "amplitude", 1000.0),
                                      ("offset", "offset", 1000.0), ("frequency", "frequency"),
                                      ("phase", "phase"), ("start", "start"), ("stop", "stop"))

    def _convert(self, p):
        from .simulator import state
        shift = 360.0 * float(p["frequency"]) / 1000.0 * (state.min_delay - float(p["start"]))
        return {"amplitude": p["amplitude"], "offset": p["offset"],
                "frequency": p["frequency"], "phase": float(p["phase"]) + shift, **_window(p)}


def native_cell_type(model_name):
    """A PyNN cell type for the engine (NEST) model ``model_name``, with NEST's parameter
    names and units (weights in pA, or mV for iaf_psc_delta; sign = receptor)."""
    if model_name not in MODELS or model_name == "spike_source":
        raise pynn_errors.NoModelAvailableError(
            f"{model_name!r}: the engine has no such model (it has "
            f"{', '.join(m for m in MODELS if m != 'spike_source')})")
    model = MODELS[model_name]
    params = {k: v[0] for k, v in model.params.items() if k != "V_m"}
    return type(model_name, (NativeCellType,), {
        "nest_name": model_name, "default_parameters": params,
        "default_initial_values": {"V_m": model.params["V_m"][0]} if "V_m" in model.params else {},
        "units": {k: v[1] for k, v in model.params.items()},
        "recordable": ["spikes"] + list(model.recordables)})


class NativeCellType(BaseCellType):
    """A cell type that passes NEST's parameter names through (see :func:`native_cell_type`)."""
    receptor_types = ("excitatory", "inhibitory")
    native_units = True
    conductance_based = False
    injectable = True

    @property
    def native_parameters(self):
        return self.parameter_space

    def get_native_names(self, *names):
        return names or tuple(self.default_parameters)

    def can_record(self, variable, location=None):
        return variable in self.recordable
