"""Array backends: where a rank's arrays live and which kernels advance them.

The simulation talks to one small contract, :class:`Backend` (in the spirit of
zarr-python's buffer prototype):

* ``xp``: the array module (NumPy or CuPy);
* ``asarray(a)`` puts a host array where the backend computes (no copy on NumPy),
  ``zeros(shape, dtype)`` allocates there, ``to_host(a)`` brings an array back (no copy on
  NumPy), ``move(obj, names)`` puts an object's arrays there;
* ``kernels``: the entry points ``iaf_psc_delta``, ``iaf_psc_exp``, ``iaf_psc_alpha`` (and
  ``block_table`` / ``iaf_psc_delta_blocks`` / ``iaf_psc_exp_blocks`` /
  ``iaf_psc_alpha_blocks``: several populations in one call),
  ``deliver`` (and ``table`` / ``deliver_table``: several projections in one call),
  ``poisson_input``, ``deliver_stdp`` and ``deliver_triplet_stdp`` (the kernel a plastic
  synapse model names as its ``KERNEL``); on the CPU also ``<model>_blocks`` for the
  conductance-based models (:mod:`bigbrain.kernels.cond`), with the arguments of the Numba kernels in
  :mod:`bigbrain.kernels` (the NumPy backend *is* those kernels; the CuPy backend launches
  the CUDA sources in ``kernels/cuda`` through :mod:`bigbrain.kernels.gpu`, same bits);
* ``check_memory(estimate, ranks_on_node)``: refuse, before the build, a network that
  cannot fit in the device's memory (the CPU's: this rank's share of the node's).

``Network(backend="numpy" | "cupy" | "auto")`` chooses per run; ``auto`` takes the GPU when
CuPy and a device are present. Device discovery is in :mod:`bigbrain.devices`.

AER packets reach MPI through host memory: the spikes of an interval come to the host
anyway (recording, STDP history), and the received ones go to the device once for all
projections. ``devices.cuda_aware_mpi()`` tells whether the MPI library could take device
buffers directly; the exchange does not use that yet.
"""
from types import SimpleNamespace

import numpy as np

from .. import devices
from . import memory
from ..errors import ModelError
from ..kernels import cond, delivery, lif, poisson, stdp

NAMES = ("numpy", "cupy", "auto")


class Backend:
    """An array module with its kernels; ``device``: the CUDA device number or None."""

    def __init__(self, name, xp, kernels, device=None, label="CPU"):
        self.name, self.xp, self.kernels, self.device, self.label = name, xp, kernels, device, label

    def asarray(self, a):
        return self.xp.asarray(a)

    def zeros(self, shape, dtype=np.float64):
        return self.xp.zeros(shape, dtype)

    def to_host(self, a):
        return a.get() if self.xp is not np and hasattr(a, "get") else a

    def move(self, obj, names):
        """Make ``obj`` compute with this backend: set ``obj.backend`` and put its arrays
        ``names`` here."""
        obj.backend = self
        for name in names:
            setattr(obj, name, self.asarray(getattr(obj, name)))

    def check_memory(self, estimate, ranks_on_node=1):
        """Raise if ``estimate`` (a :class:`~bigbrain.backends.memory.Estimate`) exceeds the
        device's free memory, or on the CPU this rank's share of the node's available
        memory (``ranks_on_node`` ranks share it)."""
        if self.device is None:
            available = memory.available_memory()
            if estimate.total > available / ranks_on_node:
                raise ModelError("backend", f"the network needs about {estimate.describe()} on "
                                 f"the CPU, which has {available / ranks_on_node / 2**30:.2f} GiB "
                                 f"available per rank ({available / 2**30:.2f} GiB on this node, "
                                 f"{ranks_on_node} rank(s)); use more nodes or a smaller network")
            return
        free, total = devices.free_memory(self.device)
        if estimate.total > free:
            raise ModelError("backend", f"the network needs about {estimate.describe()} on "
                             f"{self.label}, which has {free / 2**30:.2f} GiB free of "
                             f"{total / 2**30:.2f} GiB; use more ranks (GPUs) or a smaller network")


CPU_KERNELS = SimpleNamespace(iaf_psc_delta=lif.iaf_psc_delta, iaf_psc_exp=lif.iaf_psc_exp,
                              iaf_psc_alpha=lif.iaf_psc_alpha,
                              iaf_psc_alpha_blocks=lif.iaf_psc_alpha_blocks,
                              block_table=lif.block_table,
                              iaf_psc_delta_blocks=lif.iaf_psc_delta_blocks,
                              iaf_psc_exp_blocks=lif.iaf_psc_exp_blocks,
                              deliver=delivery.deliver, table=delivery.table,
                              deliver_table=delivery.deliver_table,
                              poisson_input=poisson.poisson_input, deliver_stdp=stdp.deliver,
                              deliver_triplet_stdp=stdp.deliver,
                              **{model + "_blocks": cond.cond_blocks for model in cond.MODELS})
NUMPY = Backend("numpy", np, CPU_KERNELS)


def check_name(name):
    if name not in NAMES:
        from ..errors import suggest
        raise ModelError("backend", f"unknown backend {name!r} (expected one of "
                         f"{', '.join(NAMES)})" + suggest(name, NAMES))


def select(name, mpi_comm, device=None):
    """The backend of this rank for ``name`` (collective: the node-local rank is found with
    an MPI split). ``device``: a CUDA device number overriding the node-local choice."""
    check_name(name)
    node_rank = devices.local_rank(mpi_comm)
    if name == "numpy":
        return NUMPY
    count, missing = devices.cuda_devices()
    if count == 0:
        if name == "auto":
            return NUMPY
        raise ModelError("backend", f"backend 'cupy' needs a CUDA device: {missing}")
    try:
        chosen = devices.choose_device(node_rank, count, device)
    except ValueError as exc:
        raise ModelError("device", str(exc)) from None
    return cupy_backend(chosen)


def cupy_backend(device):
    """The CuPy backend on CUDA device ``device`` (made current for this process)."""
    import cupy

    from ..kernels.gpu import CudaKernels
    cupy.cuda.Device(device).use()
    return Backend("cupy", cupy, CudaKernels(), device, f"GPU {device} "
                   f"({devices.device_name(device)})")
