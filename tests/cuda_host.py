"""The CUDA kernels compiled for the CPU: a stand-in device for tests without a GPU.

:func:`build` compiles ``tests/cuda/host_harness.cu`` (which includes every
``kernels/cuda/*.cu``) with nvcc into a shared library; :class:`HostLauncher` runs a kernel
by calling the library's loop over what the kernel's threads do. With NumPy as the array
module, ``CudaKernels(np, HostLauncher(lib))`` then runs the GPU code path on the CPU.
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCES = HERE.parent / "kernels" / "cuda"
_SHORT = {"unsigned short": "u16", "unsigned int": "u32", "unsigned char": "u8"}
_SCALARS = {np.dtype(np.int64): ctypes.c_int64, np.dtype(np.int32): ctypes.c_int32,
            np.dtype(np.uint32): ctypes.c_uint32, np.dtype(np.uint64): ctypes.c_uint64,
            np.dtype(np.float64): ctypes.c_double}


def nvcc():
    return shutil.which("nvcc")


#: A folder where :func:`build` keeps its library, found again by the sources' content
#: (benchmarks/gpu_check.sh sets it so that its stages compile the harness once).
ENV_CACHE = "BIGBRAIN_CUDA_HOST_CACHE"


def build(out_dir):
    """Compile the host harness into ``out_dir`` (or ``$BIGBRAIN_CUDA_HOST_CACHE``, where a
    library of the same sources is reused); returns the loaded library."""
    harness = HERE / "cuda" / "host_harness.cu"
    command = [nvcc(), "-arch=sm_90", "-fmad=false", "-O2", "-shared", "-Xcompiler",
               "-fPIC,-ffp-contract=off", f"-I{SOURCES}", "-o"]
    digest = hashlib.sha256(" ".join(command[1:]).encode())
    for path in [harness, *sorted(SOURCES.iterdir())]:
        digest.update(path.name.encode() + path.read_bytes())
    cache = os.environ.get(ENV_CACHE)
    lib = Path(cache or out_dir) / f"bigbrain_cuda_host_{digest.hexdigest()[:16]}.so"
    if not (cache and lib.exists()):
        Path(lib.parent).mkdir(parents=True, exist_ok=True)
        partial = lib.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run([*command, str(partial), str(harness)], check=True, capture_output=True)
        partial.replace(lib)
    return ctypes.CDLL(str(lib))


def host_name(kernel):
    """``deliver<unsigned short, unsigned char>`` -> ``host_deliver_u16_u8``."""
    m = re.fullmatch(r"(\w+)<(.+), (.+)>", kernel)
    if m is None:
        return f"host_{kernel}"
    return f"host_{m[1]}_{_SHORT[m[2]]}_{_SHORT[m[3]]}"


class HostLauncher:
    """``launch(source, kernel, grid, block, args)`` on the CPU build of the kernels."""

    def __init__(self, lib):
        self.lib = lib

    def __call__(self, source, kernel, grid, block, args):
        getattr(self.lib, host_name(kernel))(*(self._arg(a) for a in args))

    @staticmethod
    def _arg(value):
        if isinstance(value, np.ndarray):
            assert value.flags.c_contiguous, "kernels take contiguous arrays"
            return ctypes.c_void_p(value.ctypes.data if value.size else 0)
        return _SCALARS[np.asarray(value).dtype](value)


class DeviceCopyLauncher:
    """``launch`` on the CUDA device for host (NumPy) arguments: each array is copied to the
    device, the kernel runs (kernels/gpu.py::launch), every array is copied back in place."""

    def __call__(self, source, kernel, grid, block, args):
        import cupy

        from bigbrain.kernels.gpu import launch
        on_device = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        launch(source, kernel, grid, block, tuple(on_device))
        for a, d in zip(args, on_device):
            if isinstance(a, np.ndarray) and a.size:
                a[...] = d.get()


def host_backend(out_dir):
    """A backend that runs kernels/gpu.py and the CUDA sources, compiled for the CPU (into
    ``out_dir``), on arrays that refuse host arrays as CuPy does (:class:`DeviceModule`)."""
    from bigbrain.backends import Backend
    from bigbrain.kernels.gpu import CudaKernels
    xp = DeviceModule()
    return Backend("cuda-on-host", xp, CudaKernels(xp, HostLauncher(build(out_dir))),
                   label="CUDA on the host")


def select_standing_in(backend):
    """bigbrain.backends.select with ``backend`` standing in for the GPU: every backend
    name but ``numpy`` gives it (to patch over ``bigbrain.simulation.select_backend``)."""
    from bigbrain.backends import select

    def standing_in(name, *args):
        return select(name, *args) if name == "numpy" else backend
    return standing_in


def kernel_launcher(out_dir):
    """The launcher of the kernel tests: the CUDA device where ``$BIGBRAIN_KERNEL_TARGET``
    is ``device``, else the host build (compiled into ``out_dir``)."""
    if os.environ.get("BIGBRAIN_KERNEL_TARGET", "host") == "device":
        return DeviceCopyLauncher()
    return HostLauncher(build(out_dir))


class DeviceArray(np.ndarray):
    """A NumPy array standing in for a CuPy array: like CuPy (cupy/cupy#593), it refuses
    to be assigned a host array (``device[...] = numpy_array``); ``get()`` copies it to the
    host."""

    def __setitem__(self, key, value):
        if type(value) is np.ndarray and value.ndim > 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        super().__setitem__(key, value)

    def get(self):
        return np.array(self, copy=True).view(np.ndarray)


class DeviceModule:
    """NumPy as an array module whose arrays are :class:`DeviceArray`: ``asarray`` copies
    a host array to the "device"; every other function is NumPy's, its array results put
    on the "device"."""

    ndarray = DeviceArray

    @staticmethod
    def asarray(a, dtype=None):
        if isinstance(a, DeviceArray) and (dtype is None or a.dtype == np.dtype(dtype)):
            return a
        return np.array(a, dtype, copy=True).view(DeviceArray)

    def __getattr__(self, name):
        value = getattr(np, name)
        if not callable(value) or isinstance(value, type):
            return value

        def on_device(*args, **kwargs):
            return _to_device(value(*args, **kwargs))
        return on_device


def _to_device(result):
    if type(result) is np.ndarray:
        return result.view(DeviceArray)
    if isinstance(result, tuple):
        return tuple(_to_device(r) for r in result)
    return result
