"""Stimulation devices: NEST's current generators and the inhomogeneous Poisson generator.

A device group (``size`` devices of one kind with the same parameters) is not a node:
like bigbrain's Poisson generators it lives on every rank, and each rank computes the
input of its own targets, so nothing is exchanged and results do not depend on the
number of ranks.

Current generators (``dc_generator``, ``step_current_generator``, ``noise_generator``,
``ac_generator``) add ``weight · I(n)`` (pA) to a target's current ring buffer (``ring_cur``) for the step
``n + delay`` it is read in, as NEST delivers a ``CurrentEvent`` sent in device step n;
the neuron applies it from the following step on. I(n) is zero outside NEST's activity
window of current generators: ``start < (n + 2)·dt <= stop``. The input of an interval is
added just before the interval is advanced (:meth:`CurrentProjection.inject`), so the
ring buffer needs one slot per step of an interval and never holds input of later steps.
Contributions to one neuron are summed in a fixed order (connection by connection, and
within one in the order of its synapses onto the neuron), the same on every rank.

``noise_generator``: every connection gets its own normal value, redrawn every ``dt`` ms
from the device's first active step on, ``mean + std · z`` with mean and std (optionally
modulated: ``std_mod``, ``frequency``, ``phase``) as they are when the value is drawn; z is Box–Muller on one Philox call at (seed, NOISE, connection,
target gid, interval number, synapse ordinal) (:func:`kernels.stimulation.normal_values`).

Parameters change between runs with ``set_params(net, **params)`` (see
:mod:`bigbrain.schedule`); start, stop and the noise's dt are fixed at creation.
"""
import numpy as np

from .errors import ModelError, suggest
from .kernels import stimulation as kernels
from .kernels.philox import key_words, purpose_word
from .errors import number
from .schedule import Schedule, grid_steps, poisson_rate, values_for
from .streams import Purpose


class Generators:
    """``size`` devices of kind ``KIND`` with the parameters ``PARAMS`` (name -> default);
    ``CHANGEABLE``: those that ``set_params`` may change after the build. Subclasses give
    ``_schedules(params, step)``: the piecewise-constant values from device step ``step`` on,
    checking every value."""

    is_device = True
    is_poisson = False
    is_current = False
    KIND = ""
    PARAMS = {}
    CHANGEABLE = ()

    def __init__(self, name, size, dt, params):
        self.name, self.size, self.dt = name, int(size), float(dt)
        self.parts = [(self, np.arange(self.size))]
        self.label = name
        self._check_keys(params, self.PARAMS)
        self.params = self._checked({**self.PARAMS, **params})
        self.schedules = self._schedules(self.params, 0)

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, {self.size})"

    def where(self, key):
        return f"{self.KIND} {self.name!r}.{key}"

    def _check_keys(self, params, allowed):
        for key in params:
            if key not in self.PARAMS:
                raise ModelError(self.where(key), f"unknown parameter of {self.KIND}"
                                 + suggest(key, self.PARAMS))
            if key not in allowed:
                raise ModelError(self.where(key), "is fixed when the device is created; "
                                 f"set_params changes {', '.join(self.CHANGEABLE)}")

    def _checked(self, params):
        """The parameters, those whose default is a list (times, values) as lists of
        floats (the values are checked by ``_schedules``)."""
        out = dict(params)
        for key, default in self.PARAMS.items():
            if isinstance(default, list):
                try:
                    out[key] = [float(x) for x in np.ravel(params[key])]
                except (TypeError, ValueError):
                    raise ModelError(self.where(key), f"must be a list of numbers, got "
                                     f"{params[key]!r}") from None
        return out

    def get_params(self, net=None, name=None):
        """The current parameters (as ``set_params`` last left them); with ``name`` (as
        ``net.get(device, name)`` asks), that parameter's value."""
        params = {k: list(v) if isinstance(v, list) else np.copy(v) if np.ndim(v) else v
                  for k, v in self.params.items()}
        if name is None:
            return params
        if name not in params:
            raise ModelError(self.where(name), f"unknown parameter of {self.KIND}"
                             + suggest(name, params))
        return params[name]

    def set_params(self, net, **params):
        """Change parameters from the next ``run`` on (collective in spirit: call it on every
        rank with the same values). Before the build, any parameter; after it, those of
        ``CHANGEABLE``, acting on device steps from the current step on."""
        sim = getattr(net, "_simulation", None)
        self._check_keys(params, self.PARAMS if sim is None else self.CHANGEABLE)
        new = self._checked({**self.params, **params})
        if sim is None:
            self.schedules = self._schedules(new, 0)
        else:
            later = self._schedules(new, sim.step)
            self.schedules = {k: s.then(sim.step, later[k]) for k, s in self.schedules.items()}
        self.params = new

    def describe(self):
        """{name, kind, size, parameters} (an infinite ``stop`` left out: JSON has no inf)."""
        return {"name": self.name, "kind": self.KIND, "size": self.size,
                **{k: v for k, v in self.get_params().items() if v != float("inf")}}

    def state_arrays(self):
        """Parameters and schedules as arrays, for checkpoints: {"params/<name>" |
        "<schedule>/starts" | "<schedule>/values": 1-D array}."""
        out = {f"params/{k}": np.asarray(v, np.float64).reshape(-1) for k, v in self.params.items()}
        out.update({f"{k}/{a}": v for k, s in self.schedules.items() for a, v in s.arrays().items()})
        return out

    def restore_state_arrays(self, arrays):
        """Set parameters and schedules from :meth:`state_arrays` of a checkpoint."""
        for key, value in self.params.items():
            saved = arrays.get(f"params/{key}")
            if saved is not None:
                self.params[key] = saved.tolist() if isinstance(value, list) else float(saved[0])
        for key in self.schedules:
            if f"{key}/starts" in arrays:
                self.schedules[key] = Schedule(arrays[f"{key}/starts"], arrays[f"{key}/values"])


def devices(net):
    """The stimulation devices of ``net`` (Poisson generators included), in creation order."""
    return [p for p in net.populations.values() if getattr(p, "is_device", False)]


def device_state_arrays(net):
    """{"<device>/<array>": array} of every device (:meth:`Generators.state_arrays`)."""
    return {f"{gen.name}/{k}": v for gen in devices(net) for k, v in gen.state_arrays().items()}


def restore_devices(net, arrays):
    """Set every device's parameters from :func:`device_state_arrays` of a checkpoint."""
    for gen in devices(net):
        prefix = f"{gen.name}/"
        gen.restore_state_arrays({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})


class CurrentGenerators(Generators):
    """Base of the current generators: ``start``, ``stop`` (ms) bound NEST's activity window."""

    is_current = True
    WINDOW = {"start": 0.0, "stop": float("inf")}

    def _window(self, params):
        """(first, last) device step in which the device is active (NEST: a current
        generator sends in step n when start < (n + 2)·dt <= stop)."""
        start = number(self.where("start"), params["start"], ">= 0", "ms")
        stop = number(self.where("stop"), params["stop"], ">= 0", "ms") \
            if params["stop"] != float("inf") else float("inf")
        for key, value in (("start", start), ("stop", stop)):
            if value != float("inf"):
                grid_steps(self.where(key), [value], self.dt, after=-1)
        if not stop >= start:
            raise ModelError(self.where("stop"), f"must be >= start ({start} ms), got {stop}")
        first = max(int(round(start / self.dt)) - 1, 0)
        last = int(round(stop / self.dt)) - 2 if stop != float("inf") else np.iinfo(np.int64).max
        return first, last

    def active(self, steps):
        first, last = self._window(self.params)
        return (steps >= first) & (steps <= last)

    def currents(self, lo, hi, syn):
        """(base, scale, z, m_of) for the device steps lo … hi (inclusive): the current of
        synapse i in device step n is ``base[n−lo] + scale[n−lo] · z[i, m_of[n−lo]]``."""
        steps = np.arange(lo, hi + 1)
        base = np.where(self.active(steps), self.schedules["amplitude"].at(steps), 0.0)
        return base, np.zeros_like(base), np.zeros((len(syn.post), 1)), np.zeros(len(steps), np.int64)


class DCGenerators(CurrentGenerators):
    """NEST's ``dc_generator``: ``amplitude`` pA while active."""

    KIND = "dc_generator"
    PARAMS = {"amplitude": 0.0, **CurrentGenerators.WINDOW}
    CHANGEABLE = ("amplitude",)

    def _schedules(self, params, step):
        self._window(params)
        amplitude = number(self.where("amplitude"), params["amplitude"], "any", "pA")
        return {"amplitude": Schedule.constant(amplitude, step)}


class StepCurrentGenerators(CurrentGenerators):
    """NEST's ``step_current_generator``: ``amplitude_values[k]`` pA from
    ``amplitude_times[k]`` ms on (as in NEST, the device takes a value in the step before
    its time, so that the neuron feels it from that time on)."""

    KIND = "step_current_generator"
    PARAMS = {"amplitude_times": [], "amplitude_values": [], **CurrentGenerators.WINDOW}
    CHANGEABLE = ("amplitude_times", "amplitude_values")

    def _schedules(self, params, step):
        self._window(params)
        steps = grid_steps(self.where("amplitude_times"), params["amplitude_times"], self.dt, step)
        values = values_for(self.where("amplitude_values"), params["amplitude_values"],
                            len(steps), "any", "pA")
        return {"amplitude": Schedule(steps - 1, values)}


def sine(schedules, steps, dt):
    """sin(2π·frequency·t + phase) in device steps ``steps``, t = (n + 1)·dt (ms) the end of
    step n, frequency (Hz) and phase (degrees) from ``schedules`` (NEST's oscillators)."""
    omega = 2.0 * np.pi * schedules["frequency"].at(steps) / 1000.0        # rad / ms
    return np.sin(omega * (steps + 1) * dt + np.deg2rad(schedules["phase"].at(steps)))


class ACGenerators(CurrentGenerators):
    """NEST's ``ac_generator``: ``offset + amplitude·sin(2π·frequency·t + phase)`` pA while
    active (frequency Hz, phase degrees), with t = (n + 1)·dt the end of device step n,
    as NEST's oscillator (rotated once per step from t = 0) gives it."""

    KIND = "ac_generator"
    PARAMS = {"amplitude": 0.0, "offset": 0.0, "frequency": 0.0, "phase": 0.0,
              **CurrentGenerators.WINDOW}
    CHANGEABLE = ("amplitude", "offset", "frequency", "phase")

    def _schedules(self, params, step):
        self._window(params)
        units = {"amplitude": "pA", "offset": "pA", "frequency": "Hz", "phase": "degrees"}
        return {k: Schedule.constant(number(self.where(k), params[k], "any", u), step)
                for k, u in units.items()}

    def currents(self, lo, hi, syn):
        steps = np.arange(lo, hi + 1)
        wave = self.schedules["offset"].at(steps) + self.schedules["amplitude"].at(steps) \
            * sine(self.schedules, steps, self.dt)
        base = np.where(self.active(steps), wave, 0.0)
        return base, np.zeros_like(base), np.zeros((len(syn.post), 1)), np.zeros(len(steps), np.int64)


class NoiseGenerators(CurrentGenerators):
    """NEST's ``noise_generator``: a normal current of ``mean`` and ``std`` pA per
    connection, redrawn every ``dt`` ms (a multiple of the resolution). With ``std_mod``
    (pA, at most ``std``) the variance is modulated sinusoidally, as NEST does it:
    ``std² + std_mod² · sin(2π·frequency·t + phase)`` (``frequency`` Hz, ``phase`` degrees),
    t (ms) the end of the step the value is drawn in. NEST turns an oscillator one step at
    a time, restarted at the absolute time by each ``Simulate``, and holds it while the
    device is inactive: from ``start`` = 0 the two are the same function of time."""

    KIND = "noise_generator"
    PARAMS = {"mean": 0.0, "std": 0.0, "dt": 1.0, "std_mod": 0.0, "frequency": 0.0,
              "phase": 0.0, **CurrentGenerators.WINDOW}
    CHANGEABLE = ("mean", "std", "std_mod", "frequency", "phase")

    def _schedules(self, params, step):
        self._window(params)
        self.interval_steps(params)
        std = number(self.where("std"), params["std"], ">= 0", "pA")
        std_mod = number(self.where("std_mod"), params["std_mod"], ">= 0", "pA")
        if std_mod > std:
            raise ModelError(self.where("std_mod"), f"must be <= std ({std} pA), got {std_mod}")
        return {"mean": Schedule.constant(number(self.where("mean"), params["mean"], "any", "pA"), step),
                "std": Schedule.constant(std, step),
                "std_mod": Schedule.constant(std_mod, step),
                "frequency": Schedule.constant(
                    number(self.where("frequency"), params["frequency"], ">= 0", "Hz"), step),
                "phase": Schedule.constant(number(self.where("phase"), params["phase"], "any", "deg"), step)}

    def interval_steps(self, params):
        """Steps between two draws: ``dt`` must be a multiple of the resolution."""
        dt = number(self.where("dt"), params["dt"], "> 0", "ms")
        steps = int(round(dt / self.dt))
        if steps < 1 or abs(steps * self.dt - dt) > 1e-6 * self.dt:
            raise ModelError(self.where("dt"), f"must be a multiple of the resolution "
                             f"{self.dt} ms, got {dt}")
        return steps

    def std_at(self, steps):
        """The standard deviation (pA) of the values drawn in device steps ``steps``."""
        std, std_mod = self.schedules["std"].at(steps), self.schedules["std_mod"].at(steps)
        modulated = sine(self.schedules, steps, self.dt)
        return np.where(std_mod == 0.0, std, np.sqrt(std * std + std_mod * std_mod * modulated))

    def currents(self, lo, hi, syn):
        """As :meth:`CurrentGenerators.currents`, with one normal value per synapse and
        interval of ``dt``: interval m starts in device step first + m·k."""
        first, _ = self._window(self.params)
        k = self.interval_steps(self.params)
        steps = np.arange(lo, hi + 1)
        m = np.maximum(steps - first, 0) // k
        drawn = first + m * k                        # the step each value is drawn in
        active = self.active(steps)
        base = np.where(active, self.schedules["mean"].at(drawn), 0.0)
        scale = np.where(active, self.std_at(drawn), 0.0)
        z = np.empty((len(syn.post), m[-1] - m[0] + 1))
        kernels.normal_values(syn.post_gid, syn.ordinal, m[0], syn.c2, *syn.key, z)
        return base, scale, z, m - m[0]


class InhomogeneousPoissonGenerators(Generators):
    """NEST's ``inhomogeneous_poisson_generator``: Poisson spike trains of rate
    ``rate_values[k]`` Hz from ``rate_times[k]`` ms on (zero before the first), one
    independent train per synapse, as bigbrain's ``poisson`` (:class:`PoissonProjection`)."""

    is_poisson = True
    KIND = "inhomogeneous_poisson_generator"
    PARAMS = {"rate_times": [], "rate_values": []}
    CHANGEABLE = ("rate_times", "rate_values")

    def _schedules(self, params, step):
        steps = grid_steps(self.where("rate_times"), params["rate_times"], self.dt, step)
        field = self.where("rate_values")
        values = [poisson_rate(f"{field}[{i}]", v, self.dt)
                  for i, v in enumerate(values_for(field, params["rate_values"], len(steps)))]
        return {"rate": Schedule(steps - 1, values)}


#: This module's device kinds by NEST name (all kinds: :data:`bigbrain.generators.KINDS`).
KINDS = {cls.KIND: cls for cls in (DCGenerators, StepCurrentGenerators, NoiseGenerators,
                                   ACGenerators, InhomogeneousPoissonGenerators)}


class CurrentProjection:
    """The synapses of one current generator connection onto this rank's neurons."""

    def __init__(self, conn, seed, post_col, post_gid, ordinal, weight, delay_steps):
        n = len(post_col)
        self.gen = conn.pre
        self.post, self.post_gid = post_col.astype(np.int64), post_gid.astype(np.int64)
        self.ordinal = ordinal.astype(np.int64)
        self.weight = np.broadcast_to(np.asarray(weight, np.float64), (n,)).copy()
        self.delay = np.broadcast_to(np.asarray(delay_steps, np.int64), (n,)).copy()
        self.key = key_words(seed)
        self.c2 = purpose_word(Purpose.NOISE, conn.index)

    def __len__(self):
        return len(self.post)

    def inject(self, t0, n_steps, ring_cur):
        """Add the current read in steps t0 … t0+n_steps−1 to ``ring_cur`` (host, float64)."""
        if not len(self.post):
            return
        lo, hi = t0 - int(self.delay.max()), t0 + n_steps - 1 - int(self.delay.min())
        base, scale, z, m_of = self.gen.currents(lo, hi, self)
        kernels.add_currents(t0, n_steps, self.post, self.delay, self.weight, lo, base, scale,
                             z, m_of, ring_cur)
