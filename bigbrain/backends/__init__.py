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
  synapse model names as its ``KERNEL``), and ``<model>_blocks`` for the
  conductance-based models (:mod:`bigbrain.kernels.cond`, :mod:`bigbrain.kernels.hh`; on the GPU every model's
  ``<model>_blocks`` is one launch, made from ``CudaKernels.MODELS``), with the arguments of
  the Numba kernels in
  :mod:`bigbrain.kernels` (the NumPy backend *is* those kernels; the CuPy backend launches
  the CUDA sources in ``kernels/cuda`` through :mod:`bigbrain.kernels.gpu`, same bits);
* ``check_memory(estimate, sharing)``: refuse, before the build, a network that cannot fit
  in this rank's share of the device's memory (the CPU's: of the node's), ``sharing``
  ranks computing on the same device;
* ``describe()``: which backend runs and why (archived with the run).

``Network(backend="numpy" | "cupy" | "auto")`` chooses per run; ``auto`` takes the GPU when
CuPy, a device and NVRTC (the runtime compiler) are present, else the CPU with a warning
that says why. Device discovery is in :mod:`bigbrain.devices`.

On the GPU the neuron kernels append the spikes to a spike log on the device
(``spike_log``); on one rank without STDP they stay there, delivered by ``deliver_log``,
until the records are read. Otherwise AER packets reach MPI through host memory: the
spikes of an interval come to the host in one copy (recording, STDP history), and the
received ones go to the device in one copy for all projections.
``devices.cuda_aware_mpi()`` tells whether the MPI library could take device buffers
directly; the exchange does not use that yet.
"""
from types import SimpleNamespace

import warnings

import numpy as np

from .. import devices
from . import memory
from ..errors import ModelError
from ..kernels import cond, delivery, hh, lif, multisynapse, poisson, stdp, tsodyks

NAMES = ("numpy", "cupy", "auto")
#: The backend names of model files and the command line (``run.backend``) -> NAMES.
RUN_BACKENDS = {"cpu": "numpy", "gpu": "cupy", "auto": "auto"}


class Backend:
    """An array module with its kernels; ``device``: the CUDA device number or None."""

    def __init__(self, name, xp, kernels, device=None, label="CPU", note=None):
        self.name, self.xp, self.kernels, self.device, self.label = name, xp, kernels, device, label
        self.note = note  # why this backend runs instead of the one asked for, or None

    def describe(self):
        """{"name", "device", "note"}: which backend runs (this rank's device) and why."""
        return {"name": self.name, "device": self.label, "note": self.note}

    def asarray(self, a):
        put = getattr(self.kernels, "put", None)  # the device's kernels count the copies
        return self.xp.asarray(a) if put is None else put(a)

    def zeros(self, shape, dtype=np.float64):
        return self.xp.zeros(shape, dtype)

    def to_host(self, a):
        if self.xp is np or not hasattr(a, "get"):
            return a
        return self.kernels.read(a)

    def move(self, obj, names):
        """Make ``obj`` compute with this backend: set ``obj.backend`` and put its arrays
        ``names`` here."""
        obj.backend = self
        for name in names:
            setattr(obj, name, self.asarray(getattr(obj, name)))

    def check_memory(self, estimate, sharing=1):
        """Raise if ``estimate`` (a :class:`~bigbrain.backends.memory.Estimate`) exceeds this
        rank's share of the device's free memory, or on the CPU of the node's available
        memory (``sharing`` ranks compute on the same device or node)."""
        if self.device is None:
            available = memory.available_memory()
            if estimate.total > available / sharing:
                raise ModelError("backend", f"the network needs about {estimate.describe()} on "
                                 f"the CPU, which has {available / sharing / 2**30:.2f} GiB "
                                 f"available per rank ({available / 2**30:.2f} GiB on this node, "
                                 f"{sharing} rank(s)); use more nodes or a smaller network")
            return
        free, total = devices.free_memory(self.device)
        if estimate.total > free / sharing:
            raise ModelError("backend", f"the network needs about {estimate.describe()} on "
                             f"{self.label}, which has {free / sharing / 2**30:.2f} GiB free per "
                             f"rank ({free / 2**30:.2f} GiB free of {total / 2**30:.2f} GiB, "
                             f"{sharing} rank(s) on this GPU); use more GPUs or a smaller network")


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
                              hh_cond_exp_traub_blocks=hh.hh_cond_exp_traub_blocks,
                              deliver_tsodyks=tsodyks.deliver,
                              **{model + "_blocks": getattr(multisynapse, model + "_blocks")
                                 for model in multisynapse.MODELS},
                              **{model + "_blocks": cond.cond_blocks for model in cond.MODELS})
NUMPY = Backend("numpy", np, CPU_KERNELS)


def check_name(name):
    if name not in NAMES:
        from ..errors import suggest
        raise ModelError("backend", f"unknown backend {name!r} (expected one of "
                         f"{', '.join(NAMES)})" + suggest(name, NAMES))


def select(name, mpi_comm, device=None):
    """The backend of this rank for ``name`` (collective: the node-local rank is found with
    an MPI split). ``device``: a CUDA device number overriding the node-local choice.
    ``auto`` without a usable GPU gives the CPU, with a warning on rank 0 saying why."""
    check_name(name)
    node_rank = devices.local_rank(mpi_comm)
    if name == "numpy":
        return NUMPY
    count, missing = devices.cuda_devices()
    if count == 0:
        return _cpu_instead(name, f"backend 'cupy' needs a CUDA device: {missing}", mpi_comm)
    try:
        chosen = devices.choose_device(node_rank, count, device)
    except ValueError as exc:
        raise ModelError("device", str(exc)) from None
    problem = devices.compile_problem(chosen)
    if problem is not None:
        return _cpu_instead(name, f"CuPy cannot compile the CUDA kernels on GPU {chosen}: "
                            f"NVRTC, the CUDA runtime compiler, failed ({problem}); install it "
                            "with pip install 'bigbrain[gpu]' (CUDA 12) or "
                            "'bigbrain[gpu-cuda13]' (CUDA 13), or a CUDA Toolkit", mpi_comm)
    return cupy_backend(chosen)


def _cpu_instead(name, reason, mpi_comm):
    """The CPU backend for ``auto`` (warning once, on rank 0, why); for ``cupy`` an error."""
    if name != "auto":
        raise ModelError("backend", reason)
    if mpi_comm.rank == 0:
        warnings.warn(f"backend 'auto' runs on the CPU (NumPy): {reason}", stacklevel=3)
    return Backend("numpy", np, CPU_KERNELS, note=f"'auto' fell back to the CPU: {reason}")


def cupy_backend(device):
    """The CuPy backend on CUDA device ``device`` (made current for this process)."""
    import cupy

    from ..kernels.gpu import CudaKernels
    cupy.cuda.Device(device).use()
    return Backend("cupy", cupy, CudaKernels(), device, f"GPU {device} "
                   f"({devices.device_name(device)})")
