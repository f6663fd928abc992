"""Per-target normalisation of plastic weights where they are stored (conn.normalise,
bigbrain.kernels.normalise) gives the bits of the NumPy computation on conn.get/conn.set."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain.kernels.normalise import pairwise_sum


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 127, 128, 129, 200, 784, 4097])
def test_pairwise_sum_is_numpys(n):
    """Sums of values spread over six decades, as NumPy's ``sum`` of a contiguous row."""
    rng = np.random.default_rng(n)
    for _ in range(20):
        a = rng.random(n) * 10.0 ** rng.integers(-3, 3, n)
        assert pairwise_sum(a, 0, n) == a.sum()


def network(n_pre, n_post, seed=4):
    """Parrots onto conductance neurons through STDP, and through a static connection."""
    net = bb.Network(dt=0.5, seed=seed)
    pre = net.population("X", n_pre, "parrot_neuron")
    post = net.population("E", n_post, "iaf_cond_exp", tau_minus=20.0)
    conn = net.connect(pre, post, weight=bb.uniform(0.0, 0.2), delay=1.0,
                       synapse=bb.STDP(Wmax=1.0))
    net.connect(pre, post, weight=1.0, delay=1.0)
    net.build()
    return net, conn


@pytest.mark.parametrize("n_pre", [64, 200])
def test_normalise_equals_numpy_on_get_and_set(n_pre):
    """Rows of 64 and 200 sources (pairwise halves), a silent target (its weights 0 stay),
    rows clipped at w_max: the weights equal NumPy's on the gathered matrix bit for bit."""
    n_post = 9
    net, conn = network(n_pre, n_post)
    w = conn.get("weight").reshape(n_post, n_pre)
    w[2] = 0.0
    w[5, :3] = [0.9, 0.95, 1.0]
    conn.set(weight=w.ravel())
    total = 0.3 * n_pre
    sums = w.sum(axis=1, keepdims=True)
    want = np.clip(np.where(sums > 0, w * (total / np.where(sums > 0, sums, 1.0)), w), 0.0, 1.0)
    conn.normalise(total, 1.0)
    got = conn.get("weight").reshape(n_post, n_pre)
    assert np.array_equal(got, want)
    assert (got[5] == 1.0).sum() >= 2 and not got[2].any()
    conn.normalise(total, 1.0)                      # the cached row order serves again
    assert np.allclose(conn.get("weight").reshape(n_post, n_pre)[[0, 1, 3]].sum(axis=1), total)


def test_normalise_bad_input():
    net, conn = network(8, 3)
    before = conn.get("weight")
    with pytest.raises(bb.ModelError, match="^total"):
        conn.normalise(np.nan, 1.0)
    with pytest.raises(bb.ModelError, match="weight"):
        conn.normalise(1.0, -1.0)
    with pytest.raises(bb.ModelError, match="no plastic synapses"):
        net.connections[1].normalise(1.0, 1.0)
    assert np.array_equal(conn.get("weight"), before)
