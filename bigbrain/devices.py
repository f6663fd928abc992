"""GPU discovery, and the choice of one GPU per rank.

Kept apart from the simulation core: :mod:`bigbrain.backends` asks here whether a device is
present and which one a rank takes. On a cluster bigbrain runs one MPI rank per GPU; a rank
takes the device numbered by its node-local rank (its rank among the ranks on the same node,
from ``MPI.COMM_TYPE_SHARED``), wrapping round when a node has more ranks than devices. The
choice is overridden by ``device=`` (an argument of :class:`bigbrain.Network`) or by the
environment variable ``BIGBRAIN_GPU`` (a device number for every rank of the node).
"""
import os

from mpi4py import MPI

ENV_DEVICE = "BIGBRAIN_GPU"


def cuda_devices():
    """(number of CUDA devices, why there are none or None). Never raises."""
    try:
        import cupy
    except ImportError as exc:
        return 0, f"CuPy is not installed ({exc}; pip install 'bigbrain[gpu]')"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # noqa: BLE001 - a missing driver raises CUDARuntimeError
        return 0, f"no CUDA device is usable ({type(exc).__name__}: {exc})"
    return (count, None) if count > 0 else (0, "the CUDA runtime reports no device")


#: A kernel that CuPy compiles with NVRTC to show that the runtime compiler works.
PROBE_KERNEL = 'extern "C" __global__ void bigbrain_probe(double *x) { x[0] = 1.0; }'


def compile_problem(device):
    """Why CuPy cannot compile a CUDA kernel for ``device`` with NVRTC (the message of the
    error), or None when a small kernel compiles. Never raises: a machine with a driver
    but without NVRTC (``cupy-cuda12x`` without its ``ctk`` extra) fails here."""
    try:
        import cupy
        with cupy.cuda.Device(device):
            cupy.RawModule(code=PROBE_KERNEL).get_function("bigbrain_probe")
    except Exception as exc:  # noqa: BLE001 - a missing libnvrtc raises RuntimeError/OSError
        return f"{type(exc).__name__}: {exc}"
    return None


def local_rank(mpi_comm):
    """Rank of this process among the ranks of ``mpi_comm`` on the same node (collective)."""
    return node_ranks(mpi_comm)[0]


def node_ranks(mpi_comm):
    """(rank of this process among the ranks of ``mpi_comm`` on the same node, how many
    ranks of ``mpi_comm`` that node runs) (collective)."""
    node = mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_rank(), node.Get_size()
    finally:
        node.Free()


def ranks_sharing(mpi_comm, device):
    """How many ranks of ``mpi_comm`` on this node compute on ``device`` (a CUDA device
    number; None: the CPU, shared by every rank of the node) (collective)."""
    node = mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return sum(d == device for d in node.allgather(device))
    finally:
        node.Free()


def choose_device(node_rank, n_devices, override=None):
    """Device number for a rank: ``override``, else ``$BIGBRAIN_GPU``, else the node-local
    rank modulo the number of devices."""
    if override is None and os.environ.get(ENV_DEVICE, "") != "":
        override = os.environ[ENV_DEVICE]
    if override is not None:
        device = int(override)
        if not 0 <= device < n_devices:
            raise ValueError(f"GPU {device} requested, this node has {n_devices} "
                             f"(device ids 0 … {n_devices - 1})")
        return device
    return node_rank % n_devices


def free_memory(device):
    """(free bytes, total bytes) of a CUDA device."""
    import cupy
    with cupy.cuda.Device(device):
        return cupy.cuda.runtime.memGetInfo()


def device_name(device):
    import cupy
    return cupy.cuda.runtime.getDeviceProperties(device)["name"].decode()


def cuda_aware_mpi():
    """Whether the MPI library can read and write device memory (mpi4py ≥ 4 asks the
    library with ``MPI.Query_cuda_support``; False where it cannot say)."""
    query = getattr(MPI, "Query_cuda_support", None)
    try:
        return bool(query()) if query is not None else False
    except Exception:  # noqa: BLE001 - MPI libraries without the MPIX extension
        return False
