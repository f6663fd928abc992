"""Compressed rows: group items by an integer key in O(n) (a stable counting sort)."""
import numba
import numpy as np


@numba.njit(cache=True)
def _counting_order(keys, n_rows, ptr, order):
    for k in keys:
        ptr[k + 1] += 1
    for r in range(n_rows):
        ptr[r + 1] += ptr[r]
    fill = ptr[:-1].copy()
    for i in range(keys.shape[0]):
        order[fill[keys[i]]] = i
        fill[keys[i]] += 1


def rows(keys, n_rows):
    """(order, ptr): items sorted stably by key (as ``np.argsort(keys, kind="stable")``),
    and row pointers: the items of key r are ``order[ptr[r]:ptr[r + 1]]``.

    keys: int64 array with values in [0, n_rows).
    """
    ptr = np.zeros(n_rows + 1, np.int64)
    order = np.empty(len(keys), np.int64)
    _counting_order(np.ascontiguousarray(keys, np.int64), n_rows, ptr, order)
    return order, ptr
