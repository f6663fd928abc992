"""Spatial networks: positions, masks, distance-dependent p, weights and delays (one rank).

Expected connection sets are computed here from the positions with plain NumPy (periodic
folding written out), or taken from NEST's spatial module; probabilistic kernels are
checked against the analytic expectation with a tolerance from the binomial spread.
"""
import math

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.description import describe
from bigbrain.rebuild import build_network
from bigbrain.modelfile import read, write
from nest_reference import _import_nest

S = bb.spatial


def local(net, conn):
    """(pre position, post position, ordinal, weight, delay steps) of all synapses."""
    return conn.local_synapses(net.seed, net.dt, lambda gids: np.ones(len(gids), bool))


def pairs(net, conn):
    pre, post = local(net, conn)[:2]
    return set(zip(pre.tolist(), post.tolist()))


def folded_displacement(src, tgt, extent=None):
    """Target minus source for every (source, target) pair: array (n_src, n_tgt, dim)."""
    d = tgt[None, :, :] - src[:, None, :]
    if extent is not None:
        extent = np.asarray(extent)
        d = np.where(d >= extent / 2, d - extent, d)
        d = np.where(d < -extent / 2, d + extent, d)
    return d


def test_grid_positions_2d_and_3d():
    net = bb.Network()
    a = net.population("A", 6, "iaf_psc_exp", positions=S.grid((3, 2), extent=(3.0, 2.0), center=(1.0, 0.0)))
    assert np.array_equal(a.positions, [[0, 0.5], [0, -0.5], [1, 0.5], [1, -0.5], [2, 0.5], [2, -0.5]])
    b = net.population("B", 8, "iaf_psc_exp", positions=S.grid((2, 2, 2), extent=(2.0, 2.0, 4.0)))
    assert np.array_equal(b.positions[:3], [[-0.5, 0.5, -1.0], [-0.5, 0.5, 1.0], [-0.5, -0.5, -1.0]])
    assert np.array_equal(b.positions[-1], [0.5, -0.5, 1.0])


def test_random_positions_fill_the_box_and_follow_the_seed():
    def positions(seed, first=0):
        net = bb.Network(seed=seed)
        if first:
            net.population("before", first, "iaf_psc_exp")
        return net.population("A", 4000, "iaf_psc_exp",
                              positions=S.free(extent=(2.0, 1.0, 0.5), center=(1.0, 0.0, 0.0))).positions

    pos = positions(1)
    assert pos.shape == (4000, 3)
    assert np.all(pos >= [0.0, -0.5, -0.25]) and np.all(pos < [2.0, 0.5, 0.25])
    # uniform: each half of each axis holds 2000 ± 4·sqrt(1000)
    for axis, middle in enumerate([1.0, 0.0, 0.0]):
        assert abs(np.sum(pos[:, axis] < middle) - 2000) < 4 * math.sqrt(1000)
    assert np.array_equal(pos, positions(1))
    assert not np.array_equal(pos, positions(2))


def test_explicit_free_positions():
    net = bb.Network()
    pos = [[0.0, 0.0], [1.0, 2.0], [0.5, 0.5]]
    a = net.population("A", 3, "iaf_psc_exp", positions=S.free(pos))
    assert np.array_equal(a.positions, pos)
    assert a.layer.extent == (1.0, 2.0) and a.layer.center == (0.5, 1.0)


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("mask,dim", [(S.circular(radius=1.2), 2),
                                      (S.rectangular([-0.7, 0.2], [1.8, 1.6]), 2),
                                      (S.spherical(radius=1.1), 3),
                                      (S.box([-1.1, -0.4, 0.3], [0.6, 1.2, 1.2]), 3)])
def test_p_one_inside_the_mask_makes_exactly_the_pairs_in_the_mask(mask, dim, wrap):
    shape, extent = ((7, 5), (3.5, 2.5)) if dim == 2 else ((4, 3, 5), (3.0, 2.5, 3.5))
    net = bb.Network()
    tgt = net.population("T", math.prod(shape), "iaf_psc_exp",
                         positions=S.grid(shape, extent=extent, edge_wrap=wrap))
    src = net.population("S", 50, "iaf_psc_exp", positions=S.free(extent=extent, edge_wrap=wrap))
    conn = net.connect(src, tgt, rule="pairwise_bernoulli", p=1.0, mask=mask)
    d = folded_displacement(src.positions, tgt.positions, extent if wrap else None)
    if isinstance(mask, S.circular):
        inside = np.sqrt((d ** 2).sum(-1)) <= mask.radius
    else:  # on a torus: any image of the displacement inside the box
        shifts = [0.0] if not wrap else [-1.0, 0.0, 1.0]
        inside = np.zeros(d.shape[:2], bool)
        for k in np.array(np.meshgrid(*[shifts] * dim)).reshape(dim, -1).T:
            e = d + k * np.asarray(extent)
            inside |= np.all((e >= mask.lower_left) & (e <= mask.upper_right), axis=-1)
    expected = set(zip(*(a.tolist() for a in np.nonzero(inside))))
    assert len(expected) > 100 and pairs(net, conn) == expected


def test_ordinals_number_each_targets_synapses_in_source_order():
    net = bb.Network()
    a = net.population("A", 100, "iaf_psc_exp", positions=S.grid((10, 10), extent=(1.0, 1.0), edge_wrap=True))
    conn = net.connect(a, a, rule="pairwise_bernoulli", p=0.6 * S.gaussian(std=0.2))
    pre, post, ordinal = local(net, conn)[:3]
    order = np.lexsort((pre, post))
    start = np.searchsorted(post[order], post[order])
    assert np.array_equal(ordinal[order], np.arange(len(pre)) - start)


def expected_count(p_of_d):
    """(mean, sd) of the number of synapses when each pair connects with p_of_d."""
    return p_of_d.sum(), math.sqrt((p_of_d * (1 - p_of_d)).sum())


@pytest.mark.parametrize("kernel,mask", [
    (0.8 * S.gaussian(std=0.15), None),
    (S.exponential(beta=0.1, scale=0.9), S.circular(radius=0.3)),
    (0.3, S.circular(radius=0.25)),
])
def test_connection_count_matches_the_kernel(kernel, mask):
    net = bb.Network(seed=11)
    a = net.population("A", 900, "iaf_psc_exp", positions=S.grid((30, 30), extent=(1.0, 1.0), edge_wrap=True))
    conn = net.connect(a, a, rule="pairwise_bernoulli", p=kernel, mask=mask)
    d = np.sqrt((folded_displacement(a.positions, a.positions, (1.0, 1.0)) ** 2).sum(-1))
    if isinstance(kernel, float):
        p = np.full(d.shape, kernel)
    elif isinstance(kernel, S.gaussian):
        p = 0.8 * np.exp(-d ** 2 / (2 * 0.15 ** 2))
    else:
        p = 0.9 * np.exp(-d / 0.1)
    if mask is not None:
        p = np.where(d <= mask.radius, p, 0.0)
    got = len(local(net, conn)[0])
    mean, sd = expected_count(p)
    assert mean > 5000 and abs(got - mean) < 4 * sd
    # and by distance: the share of synapses closer than 0.1 matches too
    pre, post = local(net, conn)[:2]
    near = np.sum(d[pre, post] < 0.1)
    mean_near, sd_near = expected_count(np.where(d < 0.1, p, 0.0))
    assert abs(near - mean_near) < 4 * sd_near


def test_distance_dependent_weight_and_delay():
    net = bb.Network(dt=0.1)
    a = net.population("A", 64, "iaf_psc_exp", positions=S.grid((8, 8), extent=(2.0, 2.0), edge_wrap=True))
    b = net.population("B", 40, "iaf_psc_exp", positions=S.free(extent=(2.0, 2.0), edge_wrap=True))
    conn = net.connect(a, b, rule="fixed_indegree", indegree=10, weight=50.0 * S.exponential(beta=0.5),
                       delay=S.linear(1.0, 2.0))
    pre, post, _, weight, delay = local(net, conn)
    d = np.sqrt((folded_displacement(a.positions, b.positions, (2.0, 2.0))[pre, post] ** 2).sum(-1))
    assert np.allclose(weight, 50.0 * np.exp(-d / 0.5), rtol=1e-12, atol=0)
    assert np.array_equal(delay, np.rint((1.0 + 2.0 * d) / 0.1).astype(np.int64))
    assert delay.max() > delay.min() + 5
    net.run(5.0)  # builds and runs with per-synapse weights and delays


def test_a_selection_may_join_layers_without_edge_wrap():
    net = bb.Network()
    a = net.population("A", 4, "iaf_psc_exp", positions=S.grid((2, 2)))
    b = net.population("B", 3, "iaf_psc_exp", positions=S.free([[5.0, 5.0], [5.5, 5.0], [9.0, 9.0]]))
    conn = net.connect(a | b, b, rule="pairwise_bernoulli", p=1.0, mask=S.circular(radius=1.0))
    assert pairs(net, conn) == {(4, 0), (5, 0), (4, 1), (5, 1), (6, 2)}


def test_autapses_are_left_out_when_not_allowed():
    net = bb.Network()
    a = net.population("A", 49, "iaf_psc_exp", positions=S.grid((7, 7)))
    conn = net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask=S.circular(radius=1.0),
                       allow_autapses=False)
    got = pairs(net, conn)
    assert all(i != j for i, j in got) and len(got) == 4 * 7 * 6


@pytest.mark.parametrize("make,field", [
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask=S.circular(radius=0.6)),
     r"connect\[0\] A->A\.mask"),
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=1.0,
                                mask=S.rectangular([-0.6, 0], [0.6, 0.1])),
     r"connect\[0\] A->A\.mask"),
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask=S.spherical(radius=0.1)),
     r"connect\[0\] A->A\.mask: a spherical mask is 3-D"),
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=S.gaussian(std=0.1, scale=2.0)),
     r"connect\[0\] A->A\.p: must be a probability"),
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=1.5, mask=S.circular(radius=0.1)),
     r"connect\[0\] A->A\.p: must be in \[0, 1\]"),
    (lambda net, a: net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask={"shape": "circle"}),
     r"connect\[0\] A->A\.mask: expected"),
    (lambda net, a: net.connect(a, net.population("B", 2, "iaf_psc_exp"), weight=S.exponential(beta=1.0)),
     r"connect\[0\] A->B\.post: spatial connections need populations with positions"),
    (lambda net, a: net.connect(a, a, delay=S.linear(0.0, 1.0)), r"connect\[0\] A->A\.delay"),
    (lambda net, a: net.connect(a, net.population("D", 8, "iaf_psc_exp", positions=S.grid((2, 2, 2))),
                                weight=S.exponential(beta=1.0)),
     r"connect\[0\] A->D\.post: sources have 2-D positions, targets 3-D"),
    (lambda net, a: net.connect(a, a | net.population("D", 4, "iaf_psc_exp", positions=S.grid((2, 2))),
                                weight=S.exponential(beta=1.0)),
     r"connect\[0\] A->A\|D\.post: with edge_wrap, all populations of a selection must share"),
    (lambda net, a: net.connect(a, a, delay=S.linear(3.0, -5.0)),  # 3 − 5·0.707 ms at the corner
     r"connect\[0\] A->A\.delay: delay -0\.53"),
    (lambda net, a: net.connect(a, a, delay=S.linear(1.0, 1e4)), r"connect\[0\] A->A\.delay: delay 7072"),
    (lambda net, a: S.gaussian(std=-1.0), r"gaussian\.std: must be > 0"),
    (lambda net, a: S.circular(radius=float("nan")), r"mask\.radius: must be finite"),
    (lambda net, a: S.rectangular([0, 0], [1, -1]), r"mask\.upper_right: must exceed"),
    (lambda net, a: net.population("C", 5, "iaf_psc_exp", positions=S.grid((2, 2))),
     r"population 'C'\.positions\.shape: a grid of \(2, 2\) has 4 positions"),
    (lambda net, a: net.population("C", 5, "iaf_psc_exp", positions=S.free(extent=(1.0, -1.0))),
     r"population 'C'\.positions\.extent: must be positive"),
    (lambda net, a: net.population("C", 5, "iaf_psc_exp", positions=S.free(extent=(1.0,))),
     r"population 'C'\.positions\.extent: positions are 2-D or 3-D"),
    (lambda net, a: net.population("C", 2, "iaf_psc_exp", positions=S.free([[0, 0], [1, float("nan")]])),
     r"population 'C'\.positions\.pos"),
    (lambda net, a: net.population("C", 2, "iaf_psc_exp", positions=(3, 3)),
     r"population 'C'\.positions: expected bb\.spatial\.grid"),
])
def test_bad_spatial_input_names_the_field(make, field):
    net = bb.Network()
    a = net.population("A", 100, "iaf_psc_exp", positions=S.grid((10, 10), extent=(1.0, 1.0), edge_wrap=True))
    with pytest.raises(bb.ModelError, match="^" + field):
        make(net, a)
    assert "C" not in net.populations


def spatial_net(**network_args):
    net = bb.Network(seed=4, **network_args)
    e = net.population("E", 100, "iaf_psc_exp", positions=S.grid((10, 10), extent=(1.0, 1.0), edge_wrap=True),
                       I_e=380.0)
    i = net.population("I", 30, "iaf_psc_exp", positions=S.free(extent=(1.0, 1.0), edge_wrap=True))
    net.connect(e, e | i, rule="pairwise_bernoulli", p=0.7 * S.gaussian(std=0.15),
                mask=S.circular(radius=0.4),
                weight=30.0 * S.exponential(beta=0.3), delay=S.linear(1.0, 4.0))
    net.connect(i, e, rule="fixed_outdegree", outdegree=20, weight=-40.0, delay=1.0)
    net.record(e)
    return net


def all_synapses(net):
    return [local(net, c) for c in net.connections]


def assert_same_networks(a, b):
    assert np.array_equal(a.populations["I"].positions, b.populations["I"].positions)
    for x, y in zip(all_synapses(a), all_synapses(b)):
        for u, v in zip(x, y):
            assert np.array_equal(u, v)


def test_description_round_trip_keeps_positions_and_synapses():
    net = spatial_net()
    desc = describe(net)
    assert desc["populations"][0]["positions"]["kind"] == "grid"
    assert desc["projections"][0]["mask"] == {"shape": "circular", "radius": 0.4}
    assert_same_networks(net, build_network(desc))


def test_model_file_expresses_positions_and_kernels(tmp_path):
    net = spatial_net()
    write(net, tmp_path / "spatial.toml", t=20.0)
    text = (tmp_path / "spatial.toml").read_text()
    assert 'kind = "grid"' in text and 'distribution = "gaussian"' in text and 'shape = "circular"' in text
    assert_same_networks(net, read(tmp_path / "spatial.toml").network())


def test_model_file_names_a_bad_spatial_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[populations]]\nname = "E"\nsize = 4\nmodel = "iaf_psc_exp"\n'
                    'positions = { kind = "grid", shape = [2, 2], edge_wrap = true }\n'
                    '[[projections]]\npre = "E"\npost = "E"\nrule = "pairwise_bernoulli"\n'
                    'p = { distribution = "gaussian", std = -0.1 }\n')
    with pytest.raises(bb.ModelError, match=r"projections\[0\]\.p"):
        read(path)
    fixed = path.read_text().replace("std = -0.1", "std = 0.1")
    path.write_text(fixed + 'mask = { shape = "circular", radius = -1.0 }\n')
    with pytest.raises(bb.ModelError, match=r"connect\[0\] E->E\.mask\.radius: must be > 0"):
        read(path).network()


def test_checkpoint_resumes_a_spatial_network(tmp_path):
    path = tmp_path / "run.zarr"
    net = spatial_net(archive=bb.Archive(path, checkpoint_every=10.0))
    net.run(20.0)
    resumed = bb.resume(path)
    assert resumed.time == 20.0
    assert_same_networks(net, resumed)


@pytest.mark.nest
@pytest.mark.parametrize("mask", [{"circular": {"radius": 1.2}},
                                  {"rectangular": {"lower_left": [-0.7, 0.2], "upper_right": [1.8, 1.6]}},
                                  {"spherical": {"radius": 1.1}},
                                  {"box": {"lower_left": [-1.1, -0.4, 0.3], "upper_right": [0.6, 1.2, 1.2]}}])
@pytest.mark.parametrize("wrap", [False, True])
def test_p_one_in_a_mask_gives_nests_connections(mask, wrap):
    nest = _import_nest()
    kind, args = next(iter(mask.items()))
    planar = kind in ("circular", "rectangular")
    shape, extent = ((7, 5), (3.5, 2.5)) if planar else ((4, 3, 5), (3.0, 2.5, 3.5))
    nest.ResetKernel()
    layer = nest.Create("iaf_psc_exp", positions=nest.spatial.grid(shape=list(shape), extent=list(extent),
                                                                    edge_wrap=wrap))
    nest.Connect(layer, layer, {"rule": "pairwise_bernoulli", "p": 1.0, "mask": mask})
    conns = nest.GetConnections(layer, layer)
    first = layer[0].global_id
    expected = {(s - first, t - first) for s, t in zip(conns.source, conns.target)}

    net = bb.Network()
    a = net.population("A", math.prod(shape), "iaf_psc_exp",
                       positions=S.grid(shape, extent=extent, edge_wrap=wrap))
    assert np.allclose(a.positions, nest.GetPosition(layer), rtol=0, atol=1e-12)
    conn = net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask=getattr(S, kind)(**args))
    assert len(expected) > 100 and pairs(net, conn) == expected


@pytest.mark.nest
def test_distance_dependent_weights_and_delays_match_nest():
    """Weight 50·exp(−d/0.7) and delay 1 + 2·d ms on a periodic grid, as NEST computes them
    (delays compared in steps of 0.1 ms, weights to rounding)."""
    nest = _import_nest()
    nest.ResetKernel()
    grid = dict(shape=[6, 5], extent=[3.0, 2.5], edge_wrap=True)
    layer = nest.Create("iaf_psc_exp", positions=nest.spatial.grid(**grid))
    d = nest.spatial.distance
    nest.Connect(layer, layer,
                 {"rule": "pairwise_bernoulli", "p": 1.0, "mask": {"circular": {"radius": 1.2}}},
                 {"weight": 50.0 * nest.spatial_distributions.exponential(d, beta=0.7),
                  "delay": 1.0 + 2.0 * d})
    conns = nest.GetConnections(layer, layer).get(["source", "target", "weight", "delay"],
                                                  output="pandas")
    first = layer[0].global_id
    expected = {(s - first, t - first): (w, round(dl / 0.1)) for s, t, w, dl in conns.itertuples(index=False)}

    net = bb.Network(dt=0.1)
    a = net.population("A", 30, "iaf_psc_exp", positions=S.grid((6, 5), extent=(3.0, 2.5), edge_wrap=True))
    conn = net.connect(a, a, rule="pairwise_bernoulli", p=1.0, mask=S.circular(radius=1.2),
                       weight=50.0 * S.exponential(beta=0.7), delay=S.linear(1.0, 2.0))
    pre, post, _, weight, delay = local(net, conn)
    got = {(i, j): (w, dl) for i, j, w, dl in zip(pre.tolist(), post.tolist(), weight, delay.tolist())}
    assert got.keys() == expected.keys() and len(got) > 100
    for pair, (w, dl) in got.items():
        assert w == pytest.approx(expected[pair][0], rel=1e-12) and dl == expected[pair][1], pair
