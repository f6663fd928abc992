"""Reference networks shipped with bigbrain (runnable by name)."""
from .brunel import brunel

__all__ = ["brunel"]
