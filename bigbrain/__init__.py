"""bigbrain: distributed, reproducible simulation of large spiking neural networks.

    import bigbrain as bb
    net = bb.Network(dt=0.1, seed=42)
    exc = net.population("E", 800, "iaf_psc_delta", V_m=bb.uniform(-70.0, -55.0))
    net.connect(net.poisson("noise", rate=8000.0), exc, weight=0.5, delay=1.5)
    net.record(exc, "spikes")
    times, ids = net.run(100.0).spikes("E")
"""
from .archive import Archive, ArchiveError
from .checkpoint import CheckpointError, resume
from .distributions import clipped_normal, normal, uniform
from .errors import ModelError, RankError
from .network import Network
from .stdp import STDP

__version__ = "0.1.0"
__all__ = ["Network", "STDP", "uniform", "normal", "clipped_normal", "ModelError", "RankError"]
