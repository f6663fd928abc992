"""bigbrain: distributed, reproducible simulation of large spiking neural networks.

    import bigbrain as bb
    net = bb.Network(dt=0.1, seed=42)
    exc = net.population("E", 800, "iaf_psc_delta", V_m=bb.uniform(-70.0, -55.0))
    net.connect(net.poisson("noise", rate=8000.0), exc, weight=0.5, delay=1.5)
    net.record(exc, "spikes")
    times, ids = net.run(100.0).spikes("E")

The names below are imported on first use (PEP 562), so that ``import bigbrain.analysis``
on a dask worker loads neither Numba nor MPI.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Network": "network", "STDP": "stdp", "TripletSTDP": "stdp", "Bernoulli": "bernoulli",
    "TsodyksSynapse": "tsodyks",
    "uniform": "distributions", "normal": "distributions", "clipped_normal": "distributions",
    "ModelError": "errors", "RankError": "errors",
    "Archive": "archive", "ArchiveError": "archive", "CheckpointError": "checkpoint",
    "resume": "resumption",
}
_MODULES = {"spatial"}  # sub-modules used as namespaces: bb.spatial.grid(...)
__all__ = list(_EXPORTS) + sorted(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bigbrain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
