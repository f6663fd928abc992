"""kernels/params.at: a parameter read the same way whether it is a number or per neuron."""
import ctypes

import numba
import numpy as np

from bigbrain.kernels.params import at


@numba.njit
def _scaled(x, p):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * at(p, i)
    return out


def test_number_and_array_parameters_in_compiled_code():
    x = np.arange(1.0, 5.0)
    assert np.array_equal(_scaled(x, 2.5), x * 2.5)
    p = np.array([3.0, -1.0, 0.5, 7.0])
    assert np.array_equal(_scaled(x, p), x * p)


def test_at_in_python():
    assert at(2.0, 3) == 2.0
    assert at(np.array([4.0, 5.0]), 1) == 5.0


def test_device_params_copy_a_population_s_values_once():
    """kernels/gpu_params.py: the tables of kernels/cuda/params.cuh (addresses of the
    per-neuron arrays, 0 and the number elsewhere) are made once per set of arrays and
    again when an array is replaced (as Block.set_parameter does)."""
    from bigbrain.kernels.gpu_params import DeviceParams
    copies = []

    def put(a):
        copies.append(a)
        return np.array(a)
    params = DeviceParams(put)
    I_e, refr = np.array([300.0, 400.0]), np.array([20, 30])
    ptr, value = params((2.5, I_e, refr))
    assert params((2.5, I_e, refr))[0] is ptr and len(copies) == 2  # the values, the addresses
    assert list(value) == [2.5, 0.0, 0.0, 300.0, 400.0, 20.0, 30.0]  # refr as doubles
    assert ptr[0] == 0
    for k, want in ((1, [300.0, 400.0]), (2, [20.0, 30.0])):
        assert np.ctypeslib.as_array((ctypes.c_double * 2).from_address(int(ptr[k]))).tolist() \
            == want
    params((2.5, I_e.copy(), refr))
    assert len(copies) == 4


def test_device_params_point_into_the_arrays_they_return():
    """The addresses of a parameter table point into its own value array, so a segment
    table that keeps the two arrays keeps every value it reads alive, even after the cache
    dropped the entry (here: a cache of one entry)."""
    from bigbrain.kernels.gpu_params import DeviceParams
    params = DeviceParams(np.array, size=1)
    ptr, value = params((np.array([1.0, 2.0]), 3.0, np.array([4.0, 5.0])))
    params((np.array([6.0]),))  # drops the first entry
    lo, hi = value.ctypes.data, value.ctypes.data + value.nbytes
    assert all(lo <= int(ptr[k]) < hi for k in (0, 2)) and ptr[1] == 0
    assert value.tolist() == [0.0, 3.0, 0.0, 1.0, 2.0, 4.0, 5.0]
