"""Errors that bigbrain raises: every one names what is wrong and where."""
import difflib


class ModelError(ValueError):
    """A model description that cannot be built or run.

    ``field`` names the offending field (a parameter, a connection argument, a population)
    so that a user can find it in a script or model file.
    """

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


class RankError(RuntimeError):
    """An error raised on one or more MPI ranks, re-raised on every rank so none hangs."""


class ArchiveError(ValueError):
    """An archive that cannot be written, read or resumed; the message names the problem."""


def suggest(name, names):
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    near = difflib.get_close_matches(str(name), list(names), n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""
