"""Typed lists built in compiled code (kernels/typed_list.py) hold the items in order and
share the arrays' memory, so kernels that loop over them write into the populations' state."""
import numpy as np

from bigbrain.kernels.typed_list import typed_list


def test_items_in_order_with_their_values():
    items = [(np.arange(3.0) + i, np.full(2, i, np.int64), float(i), i) for i in range(4)]
    out = typed_list(items)
    assert len(out) == 4
    for (a, b, x, i), (a2, b2, x2, i2) in zip(items, out):
        np.testing.assert_array_equal(a, a2)
        np.testing.assert_array_equal(b, b2)
        assert (x, i) == (x2, i2)


def test_one_item():
    out = typed_list([(np.zeros(1), 7)])
    assert len(out) == 1 and out[0][1] == 7


def test_arrays_are_shared_not_copied():
    state = np.zeros(5)
    out = typed_list([(np.ones(2), 0), (state, 1)])
    out[1][0][3] = 2.5
    assert state[3] == 2.5
