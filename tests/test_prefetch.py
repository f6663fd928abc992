"""Software prefetch (kernels/prefetch.py): compiles for the arrays the kernels prefetch
from and leaves memory as it was."""
import numba
import numpy as np
import pytest

from bigbrain.kernels.prefetch import prefetch_read, prefetch_write


@numba.njit
def _prefetch_all(a, ahead):
    """Prefetch row i + ahead of ``a`` (read and write intent) while summing row i."""
    total = 0.0
    for i in range(a.shape[0]):
        j = min(i + ahead, a.shape[0] - 1)
        prefetch_read(a, j)
        prefetch_write(a, j)
        total += a[i].sum() if a.ndim == 2 else a[i]
    return total


@pytest.mark.parametrize("a", [np.arange(1000, dtype=np.int64),
                               np.arange(64, dtype=np.uint16),
                               np.linspace(0.0, 1.0, 12 * 32).reshape(12, 32)])
def test_prefetch_compiles_and_changes_nothing(a):
    before = a.copy()
    assert _prefetch_all(a, 16) == pytest.approx(float(before.sum()))
    np.testing.assert_array_equal(a, before)


def test_prefetch_refuses_what_is_not_an_array():
    @numba.njit
    def bad(x):
        prefetch_read(x, 0)
    with pytest.raises(numba.core.errors.TypingError):
        bad(1.0)
