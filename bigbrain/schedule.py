"""Piecewise-constant parameters of stimulation devices, as functions of the device step.

A device's amplitude, rate, mean or std is a :class:`Schedule`: the value in device step n
(the step whose update sends the current or the spikes) is that of the last entry with
``start <= n`` (zero before the first). A change between runs (``set_params``) at step T
keeps the entries before T and continues with the new ones, so input generated before T
is untouched and a run resumed from a checkpoint that carries the schedules equals the
uninterrupted one.

The checks of user values live here too: every message starts with the field it names.
"""

import numpy as np

from .errors import ModelError, number


class Schedule:
    """Values ``values[k]`` (float64) from device step ``starts[k]`` (int64, increasing) on:
    one number per entry, or (``values`` of shape entries × devices) one per device of a
    group (a Poisson generator group with a rate per generator)."""

    def __init__(self, starts, values):
        self.starts = np.asarray(starts, np.int64).reshape(-1)
        values = np.asarray(values, np.float64)
        self.values = values if values.ndim == 2 else values.reshape(-1)

    @classmethod
    def constant(cls, value, from_step=0):
        return cls([from_step], [value])

    def at(self, steps):
        """The value in each device step of ``steps`` (an int64 array)."""
        k = np.searchsorted(self.starts, steps, side="right") - 1
        values = self.values[np.maximum(k, 0)]
        return np.where((k >= 0).reshape(k.shape + (1,) * (values.ndim - k.ndim)), values, 0.0)

    def then(self, step, later):
        """This schedule before ``step``, ``later``'s entries from ``step`` on (where ``later``
        has none at ``step``, this schedule's value goes on until its first)."""
        keep = self.starts < step
        new = later.starts >= step
        before, after = self.values[keep], later.values[new]
        if before.ndim != after.ndim:   # one number per entry beside one per device
            width = max(v.shape[1] for v in (before, after) if v.ndim == 2)
            before, after = (v if v.ndim == 2 else np.repeat(v[:, None], width, 1)
                             for v in (before, after))
        return Schedule(np.concatenate([self.starts[keep], later.starts[new]]),
                        np.concatenate([before, after]))

    def pieces(self, lo, hi):
        """[(first step, last step, value)] covering the device steps lo … hi (inclusive);
        a value is a float, or a float64 array (one per device) for a 2-D schedule."""
        if len(self.starts) and self.starts[-1] <= lo:   # the last value holds: one piece
            return [(int(lo), int(hi), self._value(self.values[-1]))]
        cuts = self.starts[np.searchsorted(self.starts, lo, "right"):
                           np.searchsorted(self.starts, hi, "right")]  # lo < start <= hi
        firsts = np.concatenate([[lo], cuts])
        lasts = np.concatenate([cuts - 1, [hi]])
        return [(int(a), int(b), self._value(v)) for a, b, v in zip(firsts, lasts, self.at(firsts))]

    @staticmethod
    def _value(v):
        return float(v) if np.ndim(v) == 0 else v

    def arrays(self):
        return {"starts": self.starts, "values": self.values}


def poisson_rates(field, value, size, dt, most=700):
    """Poisson rates (Hz): one number for every generator (:func:`poisson_rate`), or an
    array with one rate per generator of a group of ``size`` (float64); ``most``: the
    largest mean number of events per step of ``dt`` ms (1 for Bernoulli trains)."""
    if np.ndim(value) == 0 and not isinstance(value, (list, tuple)):
        return poisson_rate(field, value, dt, most)
    try:
        rates = np.array(value, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ModelError(field, f"must be a number or one number per generator (Hz), got "
                         f"{value!r}") from None
    if rates.size != size:
        raise ModelError(field, f"has {rates.size} rates for {size} generators")
    bad = np.flatnonzero(~np.isfinite(rates) | (rates < 0) | (rates * dt * 1e-3 > most))
    if bad.size:
        poisson_rate(f"{field}[{bad[0]}]", rates[bad[0]], dt, most)   # raises its message
    return rates


def grid_steps(field, times, dt, after=0):
    """Time stamps (steps of ``dt``) of times (ms) that must be finite, on the grid,
    strictly increasing and later than ``after`` steps (NEST: strictly in the future)."""
    times = np.asarray(times, np.float64).reshape(-1)
    if not np.all(np.isfinite(times)):
        raise ModelError(field, "times must be finite")
    steps = np.rint(times / dt).astype(np.int64)
    if times.size and np.abs(steps * dt - times).max() > 1e-6 * dt + 1e-12:
        bad = times[np.argmax(np.abs(steps * dt - times))]
        raise ModelError(field, f"times must lie on the dt = {dt} ms grid, got {bad}")
    if times.size > 1 and not np.all(np.diff(steps) > 0):
        raise ModelError(field, "times must be strictly increasing")
    if times.size and steps[0] <= after:
        raise ModelError(field, f"times must be later than {after * dt} ms, got {times[0]}")
    return steps


def values_for(field, values, n, rule="any", unit=""):
    """``n`` finite values (float64) obeying ``rule``."""
    values = np.asarray(values, np.float64).reshape(-1) if np.ndim(values) else None
    if values is None or len(values) != n:
        raise ModelError(field, f"needs one value per time ({n}), got {values!r}")
    return np.array([number(f"{field}[{i}]", v, rule, unit) for i, v in enumerate(values)])


def poisson_rate(field, value, dt, most=700):
    """A Poisson rate (Hz): >= 0, finite, and at most ``most`` events per step of ``dt``
    ms on average (700; 1 for Bernoulli trains, at most one spike per step)."""
    rate = number(field, value, ">= 0", "Hz")
    if rate * dt * 1e-3 > most:
        if most == 1:
            raise ModelError(field, f"rate·dt above 1: at most one spike per step of {dt} ms "
                             f"(per_step='bernoulli') allows up to {1e3 / dt:g} Hz, got {rate} Hz")
        raise ModelError(field, f"rate·dt above {most} events per step is not supported, got {rate} Hz")
    return rate
