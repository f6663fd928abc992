"""NEST's superposition generators: ``gamma_sup_generator`` and ``ppd_sup_generator``.

Each sends every one of its targets its own spike train, the superposition of ``n_proc``
independent renewal processes of ``rate`` Hz each (so ``n_proc · rate`` Hz in all), as
NEST does (one state per connection, advanced when the device sends in a step):

* ``gamma_sup_generator``: gamma processes of integer shape ``gamma_shape``, each a chain
  of ``gamma_shape`` phases left with probability ``rate · gamma_shape · dt / 1000`` per
  step; a process leaving the last phase fires. NEST starts the phase counts at
  ``n_proc // gamma_shape`` each, the rest in the last phase.
* ``ppd_sup_generator``: Poisson processes with dead time ``dead_time`` (ms; ``floor(
  dead_time / dt)`` steps): a process past its dead time fires with probability
  ``dt / (1000 / rate − dead_time)`` per step, modulated by ``1 + relative_amplitude ·
  sin(2π · frequency · t)`` (t = n·dt, the start of device step n). NEST starts each dead-
  time bin at ``floor(rate · n_proc · dt / 1000)`` processes, the rest ready.

As NEST's spike generators, a device sends in device steps n with start < n·dt <= stop;
the spikes of step n reach the target ``delay`` steps later (and, through a parrot, carry
the time stamp (n + delay + 1)·dt). The draws are exact binomials (NEST takes a Poisson
approximation for large counts and small probabilities) from the counter-based streams
(:mod:`bigbrain.kernels.superposition`), so the trains are the same on any number of
ranks; the per-synapse counts are saved in checkpoints. ``rate`` (and for ppd
``frequency``, ``relative_amplitude``) may change between runs (``set_params``); the
processes go on from their present state, as in NEST. The CPU backend only.
"""
import math

import numpy as np

from .errors import ModelError, number
from .kernels import superposition as kernels
from .kernels.fixed_point import to_fixed
from .kernels.philox import key_words, purpose_word
from .schedule import Schedule, grid_steps
from .stimulation import Generators
from .streams import Purpose

#: Largest −log P(no transition) of one draw (the inversion starts from that probability).
MAX_FIRST_TERM = 700.0


def _whole(field, value):
    """An integer >= 1 (NEST's ``long`` parameters)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)) \
            or value != value or value < 1 or int(value) != value:
        raise ModelError(field, f"must be an integer >= 1, got {value!r}")
    return int(value)


class SuperposedGenerators(Generators):
    """Base: NEST's spike-generator window (``start``, ``stop`` ms, fixed at creation)
    and the per-step values that drive the kernel (:meth:`step_values`)."""

    superposed = True
    WINDOW = {"start": 0.0, "stop": float("inf")}

    def _window(self, params):
        """(first, last) device step in which the device sends: start < n·dt <= stop."""
        start = number(self.where("start"), params["start"], ">= 0", "ms")
        stop = params["stop"]
        if stop != float("inf"):
            stop = number(self.where("stop"), stop, ">= 0", "ms")
            grid_steps(self.where("stop"), [stop], self.dt, after=-1)
        grid_steps(self.where("start"), [start], self.dt, after=-1)
        if not stop >= start:
            raise ModelError(self.where("stop"), f"must be >= start ({start} ms), got {stop}")
        last = int(round(stop / self.dt)) if stop != float("inf") else np.iinfo(np.int64).max
        return int(round(start / self.dt)) + 1, last

    def step_values(self, lo, hi):
        """The kernel's value in device steps lo … hi: a probability, −1 where the device
        does not send (outside its window or at rate 0; the processes then rest)."""
        steps = np.arange(lo, hi + 1)
        first, last = self._window(self.params)
        rate = self.schedules["rate"].at(steps)
        value = self._probability(steps, rate)
        return np.where((steps >= first) & (steps <= last) & (rate > 0), value, -1.0)

    def _checked_probability(self, p, n_proc):
        if p > 1.0:
            raise ModelError(self.where("rate"), f"gives a probability {p:.3g} > 1 per step of "
                             f"{self.dt} ms: {self.BOUND}")
        if kernels.smallest_first_term(n_proc, p) > MAX_FIRST_TERM:
            raise ModelError(self.where("n_proc"), f"{n_proc} processes with probability "
                             f"{p:.3g} per step: too many events per step to draw")


class GammaSupGenerators(SuperposedGenerators):
    """NEST's ``gamma_sup_generator``: ``n_proc`` gamma processes of shape ``gamma_shape``
    and ``rate`` Hz each, per target."""

    KIND = "gamma_sup_generator"
    PARAMS = {"rate": 0.0, "gamma_shape": 1, "n_proc": 1, **SuperposedGenerators.WINDOW}
    CHANGEABLE = ("rate",)
    BOUND = "rate · gamma_shape · dt must be at most 1000"

    def _schedules(self, params, step):
        self._window(params)
        shape = _whole(self.where("gamma_shape"), params["gamma_shape"])
        n_proc = _whole(self.where("n_proc"), params["n_proc"])
        rate = number(self.where("rate"), params["rate"], ">= 0", "Hz")
        self._checked_probability(rate * shape * self.dt / 1000.0, n_proc)
        return {"rate": Schedule.constant(rate, step)}

    def _probability(self, steps, rate):
        return rate * int(self.params["gamma_shape"]) * self.dt / 1000.0

    def initial_state(self, n):
        """Phase counts of ``n`` synapses: n_proc // shape in each, the rest in the last."""
        shape, n_proc = int(self.params["gamma_shape"]), int(self.params["n_proc"])
        occ = np.full((n, shape), n_proc // shape, np.int64)
        occ[:, -1] += n_proc - (n_proc // shape) * shape
        return {"occ": occ}

    kernel = staticmethod(kernels.gamma_input)


class PPDSupGenerators(SuperposedGenerators):
    """NEST's ``ppd_sup_generator``: ``n_proc`` Poisson processes with dead time
    ``dead_time`` ms, ``rate`` Hz each (modulated: ``frequency`` Hz,
    ``relative_amplitude`` in [0, 1]), per target."""

    KIND = "ppd_sup_generator"
    PARAMS = {"rate": 0.0, "dead_time": 0.0, "n_proc": 1, "frequency": 0.0,
              "relative_amplitude": 0.0, **SuperposedGenerators.WINDOW}
    CHANGEABLE = ("rate", "frequency", "relative_amplitude")
    BOUND = "dt / (1000 / rate − dead_time) · (1 + relative_amplitude) must be at most 1"

    def _schedules(self, params, step):
        self._window(params)
        n_proc = _whole(self.where("n_proc"), params["n_proc"])
        dead = number(self.where("dead_time"), params["dead_time"], ">= 0", "ms")
        rate = number(self.where("rate"), params["rate"], ">= 0", "Hz")
        if rate > 0 and not 1000.0 / rate > dead:
            raise ModelError(self.where("rate"), f"the inverse rate (1000 / {rate} ms) must "
                             f"be larger than dead_time ({dead} ms)")
        amplitude = number(self.where("relative_amplitude"), params["relative_amplitude"],
                           ">= 0")
        if amplitude > 1.0:
            raise ModelError(self.where("relative_amplitude"), f"must be in [0, 1], got {amplitude}")
        frequency = number(self.where("frequency"), params["frequency"], "any", "Hz")
        if rate > 0:
            self._checked_probability(self.dt / (1000.0 / rate - dead) * (1.0 + amplitude), n_proc)
        return {"rate": Schedule.constant(rate, step),
                "frequency": Schedule.constant(frequency, step),
                "relative_amplitude": Schedule.constant(amplitude, step)}

    def dead_bins(self):
        """Steps of dead time: floor(dead_time / dt), as NEST counts them."""
        return int(self.params["dead_time"] / self.dt)

    def _probability(self, steps, rate):
        with np.errstate(divide="ignore"):
            hazard = self.dt / (1000.0 / rate - self.params["dead_time"])
        amplitude = self.schedules["relative_amplitude"].at(steps)
        omega = 2.0 * math.pi * self.schedules["frequency"].at(steps) / 1000.0   # rad / ms
        modulated = (amplitude > 0) & (omega != 0)
        return np.where(modulated, hazard * (1.0 + amplitude * np.sin(omega * steps * self.dt)),
                        hazard)

    def initial_state(self, n):
        """Ready and dead counts of ``n`` synapses (NEST's equilibrium start)."""
        bins, n_proc = self.dead_bins(), int(self.params["n_proc"])
        per_bin = int(self.params["rate"] / 1000.0 * n_proc * self.dt)
        return {"ready": np.full(n, n_proc - per_bin * bins, np.int64),
                "dead": np.full((n, bins), per_bin, np.int64),
                "head": np.zeros(n, np.int64)}

    kernel = staticmethod(kernels.ppd_input)


class SuperposedProjection:
    """A superposition generator onto this rank's neurons: one state per synapse, keyed
    by (target gid, ordinal) in checkpoints."""

    def __init__(self, conn, seed, post_col, post_gid, ordinal, weight, delay_steps):
        n = len(post_col)
        self.gen, self.index = conn.pre, conn.index
        self.post, self.post_gid = post_col.astype(np.int64), post_gid.astype(np.int64)
        self.ordinal = ordinal.astype(np.int64)
        self.weight = np.broadcast_to(to_fixed(weight), (n,)).astype(np.int64)
        self.delay = np.broadcast_to(np.asarray(delay_steps, np.int64), (n,)).copy()
        self.key = key_words(seed)
        self.c2 = purpose_word(Purpose.SUPERPOSITION, conn.index)
        blocks = (self.gen.initial_state(0).get("occ", np.zeros((0, 1))).shape[1] + 3) // 4
        if n and (int(self.ordinal.max()) + 1) * blocks >= 2**32:
            raise ModelError(f"{conn.where}", "too many synapses onto one target for the "
                             "random streams")
        self.state = self.gen.initial_state(n)

    def __len__(self):
        return len(self.post)

    def inject(self, t0, n_steps, ring_ex, ring_in):
        """Add the spikes read in steps t0 … t0+n_steps−1 (each step exactly once, in order)."""
        if not len(self.post):
            return
        lo = max(t0 - int(self.delay.max()), 0)
        hi = t0 + n_steps - 1 - int(self.delay.min())
        if hi < lo:
            return
        self.gen.kernel(t0, n_steps, lo, self.post, self.post_gid, self.ordinal, self.delay,
                        self.weight, self.gen.step_values(lo, hi), *self.key, self.c2,
                        *self.state.values(), ring_ex, ring_in)

    def state_arrays(self):
        """{"gid", "ordinal", and the state's arrays}: this rank's synapses (checkpoints)."""
        return {"gid": self.post_gid, "ordinal": self.ordinal, **self.state}

    def restore_state_arrays(self, arrays):
        """Take this rank's synapses' state from :meth:`state_arrays` of all ranks."""
        if not len(self.post):
            return
        saved, mine = (gid << 32 | ordinal for gid, ordinal in (
            (arrays["gid"], arrays["ordinal"]), (self.post_gid, self.ordinal)))
        order = np.argsort(saved)
        at = order[np.searchsorted(saved, mine, sorter=order).clip(0, len(order) - 1)]
        if len(order) == 0 or not np.array_equal(saved[at], mine):
            raise ModelError(f"{self.gen.KIND} {self.gen.name!r}", "the checkpoint lacks the "
                             "state of some of its synapses")
        for key in self.state:
            self.state[key] = arrays[key][at].reshape(self.state[key].shape).astype(np.int64)


#: The superposition generators by NEST name (all kinds: :data:`bigbrain.generators.KINDS`).
KINDS = {cls.KIND: cls for cls in (GammaSupGenerators, PPDSupGenerators)}
