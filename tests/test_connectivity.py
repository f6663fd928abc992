"""Connection rules: the synapses made, checked by counting them (single rank)."""
import numpy as np
import pytest

import bigbrain as bb


def synapses(net, conn):
    """(pre gid, post gid) of every synapse of ``conn`` on this (only) rank."""
    sim = net.build()
    proj = sim.static[[p.conn for p in sim.static].index(conn)]
    return proj.synapse_sources(), sim.local_gids[proj.post.astype(np.int64)]


def two_pops(n_a=300, n_b=200):
    net = bb.Network(seed=3)
    return net, net.population("A", n_a, "iaf_psc_delta"), net.population("B", n_b, "iaf_psc_delta")


@pytest.mark.parametrize("autapses,multapses", [(True, True), (False, False), (False, True)])
def test_fixed_indegree(autapses, multapses):
    net, a, _ = two_pops()
    conn = net.connect(a, a, rule="fixed_indegree", indegree=50, allow_autapses=autapses,
                       allow_multapses=multapses)
    pre, post = synapses(net, conn)
    assert np.array_equal(np.bincount(post, minlength=a.size), np.full(a.size, 50))
    assert autapses or not np.any(pre == post)
    pairs = np.unique(pre * a.size + post)
    assert multapses or len(pairs) == len(pre)
    # sources are uniform: each source is chosen about indegree times
    per_source = np.bincount(pre, minlength=a.size)
    assert abs(per_source.mean() - 50) < 1e-9 and per_source.std() < 3 * np.sqrt(50)


def test_pairwise_bernoulli_probability():
    net, a, b = two_pops(1000, 400)
    conn = net.connect(a, b, rule="pairwise_bernoulli", p=0.1)
    pre, post = synapses(net, conn)
    n = len(pre)
    expected = 0.1 * a.size * b.size
    assert abs(n - expected) < 4 * np.sqrt(expected * 0.9)
    assert len(np.unique(pre * 10_000 + post)) == n  # never a multapse
    assert abs(np.bincount(pre - a.first_gid, minlength=a.size).mean() - 40) < 1


def test_pairwise_bernoulli_without_autapses():
    net, a, _ = two_pops(200, 1)
    pre, post = synapses(net, net.connect(a, a, rule="pairwise_bernoulli", p=0.5, allow_autapses=False))
    assert not np.any(pre == post)


def test_fixed_total_number():
    net, a, b = two_pops()
    pre, post = synapses(net, net.connect(a, b, rule="fixed_total_number", N=12_345))
    assert len(pre) == 12_345
    assert set(np.unique(pre)) <= set(range(a.first_gid, a.first_gid + a.size))


def test_one_to_one_all_to_all_and_subsets():
    net, a, b = two_pops(10, 10)
    one = net.connect(a, b, rule="one_to_one")
    every = net.connect(a[2:5], b[:3] | a[:1], rule="all_to_all")
    pre, post = synapses(net, one)
    assert np.array_equal(pre + 10, post)
    pre, post = synapses(net, every)
    assert len(pre) == 12 and set(pre) == {2, 3, 4} and set(post) == {10, 11, 12, 0}


def test_explicit_connections_keep_weights_and_delays():
    net, a, b = two_pops(5, 5)
    src, tgt = [0, 1, 1, 4], [2, 2, 0, 4]
    conn = net.connect(a, b, rule="explicit", sources=src, targets=tgt,
                       weight=np.array([1.0, 2.0, 3.0, 4.0]), delay=np.array([0.1, 0.2, 0.3, 0.4]))
    pre, post = synapses(net, conn)
    got = sorted(zip(pre, post - 5))
    assert got == sorted(zip(src, tgt))
    proj = net.build().static[0]
    assert sorted(proj.delay.tolist()) == [1, 2, 3, 4]


def test_weight_and_delay_distributions_are_drawn_per_synapse():
    net, a, b = two_pops(400, 400)
    net.connect(a, b, rule="fixed_indegree", indegree=100, weight=bb.uniform(1.0, 2.0),
                delay=bb.clipped_normal(1.5, 0.5, low=0.5, high=2.5))
    proj = net.build().static[0]
    w = (proj.weight.astype(np.int64) << proj.shift) / 2.0**36
    assert 1.0 <= w.min() and w.max() < 2.0 and abs(w.mean() - 1.5) < 0.01
    d = proj.delay
    assert d.min() >= 5 and d.max() <= 25 and abs(d.mean() - 15) < 0.2


def test_homogeneous_projection_stores_no_weight_or_delay_per_synapse():
    net, a, b = two_pops(400, 400)
    net.connect(a, b, rule="fixed_indegree", indegree=100, weight=0.1, delay=1.5)
    proj = net.build().static[0]
    assert proj.weight.size == 0 and proj.delay.size == 0
    assert proj.post.dtype == np.uint16
    assert proj.post.nbytes / len(proj) == 2


@pytest.mark.parametrize("autapses,multapses", [(True, True), (False, False), (False, True)])
def test_fixed_outdegree(autapses, multapses):
    net, a, b = two_pops(300, 40)
    sel = a[:20] | b
    conn = net.connect(a, sel, rule="fixed_outdegree", outdegree=30, allow_autapses=autapses,
                       allow_multapses=multapses)
    pre, post = synapses(net, conn)
    assert np.array_equal(np.bincount(pre, minlength=a.size), np.full(a.size, 30))
    assert set(np.unique(post)) <= set(sel.gids())
    assert autapses or not np.any(pre == post)
    assert multapses or len(np.unique(pre * 1000 + post)) == len(pre)
    # targets are uniform over the 60 of the post selection: 300 · 30 / 60 = 150 each
    per_target = np.bincount(post, minlength=a.size + b.size)[sel.gids()]
    assert per_target.sum() == 9000 and per_target.std() < 3 * np.sqrt(150)


def test_fixed_outdegree_in_several_chunks(monkeypatch):
    """Sources drawn in chunks give the synapses drawn at once, and ordinals number each
    target's synapses 0, 1, ... in the order of their sources."""
    from bigbrain import connectivity

    def build(per_chunk):
        monkeypatch.setattr(connectivity, "SYNAPSES_PER_CHUNK", per_chunk)
        net, a, b = two_pops(50, 30)
        conn = net.connect(a, b, rule="fixed_outdegree", outdegree=7, allow_multapses=False)
        return conn.local_synapses(net.seed, net.dt, lambda gids: np.ones(len(gids), bool))

    whole, chunked = build(1 << 18), build(20)
    for x, y in zip(whole[:3], chunked[:3]):
        assert np.array_equal(x, y)
    pre, post, ordinal = whole[:3]
    order = np.lexsort((pre, post))
    starts = np.searchsorted(post[order], post[order])
    assert np.array_equal(ordinal[order], np.arange(len(pre)) - starts)


def test_fixed_outdegree_too_large_without_multapses():
    net, a, b = two_pops(10, 5)
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] A->B\.outdegree"):
        net.connect(a, b, rule="fixed_outdegree", outdegree=6, allow_multapses=False)
    with pytest.raises(bb.ModelError, match=r"outdegree: must be an integer"):
        net.connect(a, b, rule="fixed_outdegree", outdegree=2.5)


def test_fixed_outdegree_from_poisson_generators():
    """Each generator makes ``outdegree`` synapses (generators have no gids: no autapse
    is possible, whatever the targets' gids)."""
    net, a, _ = two_pops(50, 1)
    noise = net.poisson("noise", rate=100.0, size=60)
    conn = net.connect(noise, a, rule="fixed_outdegree", outdegree=50, allow_autapses=False,
                       allow_multapses=False)
    pre, post = conn.local_synapses(net.seed, net.dt, lambda gids: np.ones(len(gids), bool))[:2]
    assert np.array_equal(np.bincount(pre, minlength=60), np.full(60, 50))
    assert len(np.unique(pre * 100 + post)) == 3000  # all 50 targets of each generator
