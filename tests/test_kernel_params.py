"""kernels/params.at: a parameter read the same way whether it is a number or per neuron."""
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
