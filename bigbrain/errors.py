"""Errors that bigbrain raises: every one names what is wrong and where."""
import difflib
import math
import numbers

import numpy as np


class ModelError(ValueError):
    """A model description that cannot be built or run.

    ``field`` names the offending field (a parameter, a connection argument, a population)
    so that a user can find it in a script or model file.
    """

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field

    def __reduce__(self):
        # sent between ranks (bigbrain.comm): rebuilt with its message and attributes
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(kind, args, state):
    """An exception of class ``kind`` with ``args`` and attributes ``state``, made without
    calling its ``__init__`` (whose arguments differ from ``args``)."""
    error = kind.__new__(kind, *args)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class RankError(RuntimeError):
    """Ranks failed with different errors; re-raised on every rank so none hangs.

    ``errors``: (rank, ``"Type: message"``) of each failing rank. Where all of them are of
    one bigbrain error class (say :class:`ModelError`), the RankError is also an instance of
    that class (see :func:`rank_error`), so ``except ModelError`` catches it on every rank
    count.
    """

    def __init__(self, message, errors=()):
        super().__init__(message)
        self.errors = list(errors)


class ArchiveError(ValueError):
    """An archive that cannot be written, read or resumed; the message names the problem."""


def suggest(name, names):
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    near = difflib.get_close_matches(str(name), list(names), n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


_RANK_ERRORS = {}


#: The rules :func:`number` checks, as (test, text).
RULES = {"any": (lambda v: True, ""), ">= 0": (lambda v: v >= 0, ">= 0"),
         "> 0": (lambda v: v > 0, "> 0"), "!= 0": (lambda v: v != 0, "non-zero")}


def number(field, value, rule="any", unit="", finite=True):
    """``value`` as a float, refused (naming ``field``) unless it is a real number (not a
    bool, not text), finite (±inf allowed when ``finite`` is False; NaN never) and obeys
    ``rule`` (a key of :data:`RULES`); ``unit`` is named in the messages."""
    what = f"a number ({unit})" if unit else "a number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise ModelError(field, f"must be {what}, got {value!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ModelError(field, f"must be finite, got {value}")
    test, text = RULES[rule]
    if not test(value):
        raise ModelError(field, f"must be {text} {unit}".rstrip() + f", got {value}")
    return value


def rank_error(errors, common=Exception):
    """A :class:`RankError` for ``errors`` ((rank, text) pairs) that is also a ``common``
    (the class all failing ranks' errors share; :class:`Exception` for none), made without
    ``common.__init__`` (the caller sets attributes such as ``ModelError.field``)."""
    message = "; ".join(f"rank {r}: {t}" for r, t in errors)
    if common is Exception or issubclass(RankError, common):
        return RankError(message, errors)
    if common not in _RANK_ERRORS:
        try:
            _RANK_ERRORS[common] = type(f"RankError[{common.__name__}]", (RankError, common),
                                        {"__module__": __name__})
        except TypeError:  # bases whose instance layouts conflict (OSError and the like)
            _RANK_ERRORS[common] = RankError
    error = _RANK_ERRORS[common].__new__(_RANK_ERRORS[common], message)
    RankError.__init__(error, message, errors)
    return error
