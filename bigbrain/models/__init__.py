"""Reference networks shipped with bigbrain (runnable by name).

Each ``<name>.toml`` beside this file is a model file (:mod:`bigbrain.modelfile`) that
``bigbrain run <name>`` runs; most name one of the Python :data:`BUILDERS` with its
arguments.
"""
from .brunel import brunel
from .microcircuit import microcircuit

BUILDERS = {"brunel": brunel, "microcircuit": microcircuit}

__all__ = ["brunel", "microcircuit", "BUILDERS"]
