"""bigbrain.pynn: PyNN scripts on bigbrain (units, Neo output, connectors, errors, NEST, ranks)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyNN")
import quantities as pq  # noqa: E402

import bigbrain as bb  # noqa: E402
import bigbrain.pynn as sim  # noqa: E402
from mpi_helpers import run_mpi  # noqa: E402
from pynn_sources import pynn_source  # noqa: E402

SCRIPT = Path(__file__).parent / "scripts" / "pynn_network.py"


@pytest.fixture
def pynn():
    sim.setup(timestep=0.1)
    yield sim
    sim.end()


def test_units_translated_as_nest(pynn):
    """PyNN's nF, nA, µS become NEST's pF, pA, nS; reading back gives PyNN's units."""
    cells = sim.Population(3, sim.IF_cond_exp(cm=0.5, tau_m=10.0, i_offset=0.25))
    assert cells._native["C_m"][0] == 500.0 and cells._native["I_e"][0] == 250.0
    assert cells._native["g_L"][0] == pytest.approx(50.0)      # cm / tau_m in nS
    assert cells.get("cm") == pytest.approx(0.5) and cells.get("i_offset") == pytest.approx(0.25)


def test_point_neuron_maps_receptors_to_ports(pynn):
    """A PointNeuron's receptors are ports in name order, its receptor parameters the
    engine's lists (PyNN units read back), and a combination no NEST model joins, or one
    the engine lacks, is refused naming what it needs."""
    cell = sim.PointNeuron(sim.AdExp(tau_m=10.0), NMDA=sim.AlphaPSR(tau_syn=20.0),
                           AMPA=sim.AlphaPSR(tau_syn=1.0), GABAA=sim.AlphaPSR(e_syn=-70.0))
    cells = sim.Population(2, cell)
    assert cell.nest_name == "aeif_cond_alpha_multisynapse"
    assert list(cells._native["tau_syn"][0].value) == [1.0, 5.0, 20.0]    # AMPA, GABAA, NMDA
    assert cells.get("GABAA.e_syn") == -70.0 and cells.get("NMDA.tau_syn") == 20.0
    with pytest.raises(bb.ModelError, match=r"^PointNeuron: combines a membrane and receptors "
                                            r"that no NEST model joins"):
        sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.AlphaPSR()))
    with pytest.raises(bb.ModelError, match=r"^PointNeuron: needs one of the NEST models "
                                            r"\['aeif_cond_beta_multisynapse'\]"):
        sim.Population(1, sim.PointNeuron(sim.AdExp(), AMPA=sim.BetaPSR()))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    prj = sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.002),
                         receptor_type="NMDA")
    sim.run(1.0)
    assert prj._conn.receptor == 3 and prj._conn.weight == pytest.approx(2.0)   # µS -> nS


def test_same_spikes_as_bigbrain_directly(pynn):
    """A DC-driven IF_curr_exp through PyNN equals the same network described in bigbrain."""
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=0.6, tau_refrac=2.0, v_thresh=-55.0),
                           initial_values={"v": -65.0})
    cells.record(["spikes", "v"])
    sim.run(100.0)
    seg = cells.get_data().segments[0]
    net = bb.Network(dt=0.1, seed=1)
    pop = net.population("E", 2, "iaf_psc_exp", I_e=600.0, t_ref=2.0, V_th=-55.0, E_L=-65.0,
                         V_reset=-65.0, C_m=1000.0, tau_m=20.0, tau_syn_ex=5.0,
                         tau_syn_in=5.0, V_m=-65.0)
    net.record(pop, "spikes")
    times, ids = net.run(100.0).spikes("E")
    assert len(times) > 2
    np.testing.assert_array_equal(seg.spiketrains[0].magnitude, times[ids == 0])
    assert seg.spiketrains[0].units == pq.ms


def test_neo_imported_only_when_records_are_made(tmp_path):
    """import bigbrain.pynn leaves Neo and quantities unimported (PyNN imports them at its
    top); recording imports them, and get_data gives a real Neo Block."""
    code = ("import sys, bigbrain.pynn as sim\n"
            "real = lambda: [type(sys.modules[m]).__name__ == 'module'\n"
            "                for m in ('neo', 'quantities')]\n"
            "print(real())\n"
            "sim.setup(); p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))\n"
            "p.record('spikes')\n"
            "sim.run(20.0); import neo; block = p.get_data()\n"
            "print(real(), isinstance(block, neo.Block), block.segments[0].spiketrains[0].units)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120, cwd=tmp_path).stdout.splitlines()  # not the checkout's bigbrain/
    assert out == ["[False, False]", "[True, True] True 1.0 ms"]


def test_neo_block_units_and_annotations(pynn):
    cells = sim.Population(4, sim.IF_curr_alpha(i_offset=0.8), label="cells")
    cells[1:3].record("v", sampling_interval=1.0)
    cells.record("spikes")
    sim.run(20.0)
    seg = cells.get_data().segments[0]
    v = seg.filter(name="v")[0]
    assert v.units == pq.mV and v.sampling_period == 1.0 * pq.ms and v.shape == (21, 2)
    assert list(v.array_annotations["channel_index"]) == [1, 2]
    assert v[0, 0] == -65.0 * pq.mV                    # the initial value at t = 0
    assert [st.annotations["source_index"] for st in seg.spiketrains] == [0, 1, 2, 3]
    assert seg.spiketrains[0].annotations["source_population"] == "cells"
    assert seg.spiketrains[0].t_stop == 20.0 * pq.ms


def test_connectors_and_weights(pynn):
    """Connectors as the engine's rules; weights read back in PyNN units, inhibitory
    current weights negative, random weights from the engine's streams."""
    pre, post = sim.Population(30, sim.IF_curr_exp()), sim.Population(20, sim.IF_curr_exp())
    fixed = sim.Projection(pre, post, sim.FixedNumberPreConnector(5),
                           sim.StaticSynapse(weight=-0.2, delay=1.5), receptor_type="inhibitory")
    rand = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.3),
                          sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.1, 0.2))))
    w = fixed.get("weight", format="array")
    assert (np.sum(~np.isnan(w), axis=0) == 5).all() and np.nanmax(w) == pytest.approx(-0.2)
    assert set(np.round(fixed.get("delay", format="list", with_address=False), 9)) == {1.5}
    values = np.array(rand.get("weight", format="list", with_address=False))
    assert 0.1 <= values.min() and values.max() < 0.2 and len(values) == len(rand)
    one = sim.Projection(pre[:20], post, sim.OneToOneConnector())
    assert [(i, j) for i, j, _ in one.get("weight", format="list")] == [(i, i) for i in range(20)]


def test_one_spike_train_for_every_cell(pynn):
    """SpikeSourceArray given one train (a Sequence) for all its cells."""
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0, 2.5]))
    src.record("spikes")
    sim.run(5.0)
    assert [list(st.magnitude) for st in src.get_data().segments[0].spiketrains] == [[1.0, 2.5]] * 3


def test_distance_dependent_connector_is_spatial(pynn):
    grid = sim.space.Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0)
    a = sim.Population(25, sim.IF_curr_exp(), structure=grid)
    prj = sim.Projection(a, a, sim.DistanceDependentProbabilityConnector("d < 1.5"))
    pairs = np.array(prj.get("weight", format="list"))[:, :2].astype(int)
    d = np.linalg.norm(a.positions.T[pairs[:, 0]] - a.positions.T[pairs[:, 1]], axis=1)
    assert d.max() < 1.5 and len(pairs) == np.sum(
        np.linalg.norm(a.positions.T[:, None] - a.positions.T[None], axis=2) < 1.5)


@pytest.mark.parametrize("call, message", [
    (lambda p: sim.Projection(p, p, sim.FixedNumberPreConnector(
        sim.RandomDistribution("uniform", (1, 2)))), "random number of connections"),
    (lambda p: sim.Projection(p, p, sim.AllToAllConnector(), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(
            w_min=0.1), dendritic_delay_fraction=1.0)), "w_min"),
])
def test_missing_features_fail_at_the_call(pynn, call, message):
    cells = sim.Population(2, sim.IF_cond_exp())
    with pytest.raises(bb.ModelError, match=message):
        call(cells)


def test_parameters_and_v_change_between_runs(pynn):
    """set and initialize after a run change the running cells (PyNN units: nA, mV); what
    the engine fixes at the build is refused until reset."""
    cells = sim.Population(4, sim.IF_cond_exp(), initial_values={"v": -65.0})
    noise = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    cells.record("spikes")
    sim.run(20.0)
    assert sum(cells.get_spike_counts().values()) == 0
    cells[2:].set(i_offset=2.0, tau_m=10.0)
    cells.initialize(v=[-40.0, -65.0, -65.0, -65.0])   # above threshold: spikes at once
    net, part = sim.simulator.state.net, cells._parts[0][0]
    np.testing.assert_allclose(net.get(part, "I_e"), [0.0, 0.0, 2000.0, 2000.0])
    np.testing.assert_allclose(net.get(part, "g_L"), [50.0, 50.0, 100.0, 100.0])
    assert list(cells.get("tau_m")) == pytest.approx([20.0, 20.0, 10.0, 10.0])
    sim.run(30.0)
    counts = cells.get_spike_counts()
    assert counts[cells[0]] == 1 and counts[cells[1]] == 0 and counts[cells[2]] > 1
    with pytest.raises(bb.ModelError, match="start.*cannot change after the first run"):
        noise.set(start=5.0)
    with pytest.raises(bb.ModelError, match="initialize.gsyn_exc"):
        cells.initialize(gsyn_exc=0.0)
    sim.reset()
    noise.set(rate=5.0)
    sim.run(30.0)   # rebuilt with the parameters and initial v set last
    assert cells.get_spike_counts()[cells[0]] == 1 and cells.get("i_offset")[3] == 2.0


def test_stdp_maps_onto_nest_stdp_synapse(pynn):
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=50.0))
    post = sim.Population(2, sim.IF_curr_exp(i_offset=0.5))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=15.0,
                                                                 A_plus=0.01, A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=0.5),
                             weight=0.2, delay=1.0, dendritic_delay_fraction=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    rule = prj._synapse()
    assert (rule.lambda_, rule.alpha, rule.mu_plus, rule.Wmax) == (0.01, pytest.approx(1.2), 0.0, 500.0)
    sim.run(200.0)
    w = np.array(prj.get("weight", format="list", with_address=False))
    assert len(w) == 10 and (w != 0.2).any() and (0 <= w).all() and (w <= 0.5).all()
    assert post._tau_minus == 15.0


def _listed(prj):
    return np.array(prj.get(["weight", "delay"], format="list"))


def test_values_per_synapse(pynn):
    """Weights from a distribution the engine lacks (gamma, drawn by PyNN's RNG) and delays
    given as a distance expression: the engine rule's synapses, each with its value, kept
    over get, run and reset."""
    a, b = sim.Population(6, sim.IF_curr_exp()), sim.Population(5, sim.IF_curr_exp())
    gamma = sim.RandomDistribution("gamma", k=2.0, theta=0.1, rng=sim.NumpyRNG(seed=3))
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5),
                         sim.StaticSynapse(weight=gamma, delay="0.5 + 0.2*d"))
    i, j, w, d = _listed(prj).T
    np.testing.assert_allclose(d, 0.5 + 0.2 * np.abs(i - j))
    assert (w > 0).all() and len(np.unique(w)) == len(w)
    sim.run(5.0)
    np.testing.assert_array_equal(_listed(prj), _listed(prj))
    first = _listed(prj)
    sim.reset()
    np.testing.assert_allclose(_listed(prj), first, rtol=1e-6)  # built: stored in 32 bits
    sim.setup(timestep=0.1)       # the same rule with one weight draws the same synapses
    a, b = sim.Population(6, sim.IF_curr_exp()), sim.Population(5, sim.IF_curr_exp())
    plain = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5), sim.StaticSynapse(weight=0.1))
    np.testing.assert_array_equal(_listed(plain)[:, :2], first[:, :2])


def test_weights_of_poisson_input_read_after_a_run(pynn):
    """Weights of trains drawn per synapse (no parrots) read from the description: the
    engine keeps no readable weights for them."""
    src, cells = sim.Population(3, sim.SpikeSourcePoisson(rate=100.0)), sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(
        weight=sim.RandomDistribution("gamma", k=2.0, theta=0.1)))
    before = _listed(prj)
    sim.run(10.0)
    np.testing.assert_array_equal(_listed(prj), before)


def test_connection_weight_and_delay_written(pynn):
    """Connection.weight/.delay change that synapse; after the first run the weight goes to
    the engine (net.set) and a delay is refused."""
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    cells = sim.Population(2, sim.IF_curr_exp(), initial_values={"v": -65.0})
    prj = sim.Projection(src, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.5))
    c = list(prj.connections)[1]
    c.weight, c.delay = 2.0, 3.0
    np.testing.assert_allclose(_listed(prj), [[0, 0, 0.5, 0.1], [1, 1, 2.0, 3.0]])
    cells.record("v")
    sim.run(10.0)
    v = cells.get_data().segments[0].analogsignals[0].magnitude
    assert v[15, 0] > -65.0 and v[15, 1] == -65.0 and v[45, 1] > v[15, 0]  # later, larger
    list(prj.connections)[0].weight = 0.25
    assert _listed(prj)[0, 2] == pytest.approx(0.25)
    with pytest.raises(bb.ModelError, match="delay"):
        list(prj.connections)[0].delay = 2.0


def test_stdp_weights_set_before_run(pynn):
    """Projection.set (randomizeWeights) on an STDP projection sets its initial weights."""
    pre, post = sim.Population(4, sim.SpikeSourcePoisson(rate=5.0)), sim.Population(3, sim.IF_cond_exp())
    stdp = sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(w_max=0.01),
                             weight=0.001, dendritic_delay_fraction=1)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, receptor_type="excitatory")
    prj.randomizeWeights(sim.RandomDistribution("uniform", low=0.002, high=0.008))
    w = prj.get("weight", format="array")
    assert 0.002 <= w.min() and w.max() < 0.008 and len(np.unique(w)) == w.size


def test_spike_times_out_of_order_refused(pynn):
    with pytest.raises(bb.ModelError, match=r"spike_times\[1\]: must be in increasing") as err:
        sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 2.0], [3.0, 2.5]]))
    assert isinstance(err.value, sim.errors.InvalidParameterValueError)


def test_step_current_times_on_the_grid_and_set_after_a_run(pynn):
    """StepCurrentSource times: checked, moved to the grid (of times that meet, the last
    amplitude counts); times set at the current time after a run act from then on."""
    with pytest.raises(bb.ModelError, match="StepCurrentSource.times: must increase"):
        sim.StepCurrentSource(times=[0.4, 0.2], amplitudes=[0.5, 0.5])
    step = sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.5])
    assert list(step.times) == pytest.approx([0.4, 0.9]) and list(step.amplitudes) == [-0.5, 0.5]
    cells = sim.Population(1, sim.IF_curr_exp(), initial_values={"v": -65.0})
    cells.record("spikes")
    step.inject_into(cells)
    step.set_parameters(times=[0.0], amplitudes=[0.0])
    sim.run(20.0)
    step.set_parameters(times=[20.0], amplitudes=[2.0])
    sim.run(20.0)
    spikes = cells.get_data().segments[0].spiketrains[0].magnitude
    assert len(spikes) > 0 and spikes.min() > 20.0


def test_records_readable_after_end(pynn):
    cells = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    sim.run(5.0)
    sim.end()
    assert cells.get_data().segments[0].analogsignals[0].shape == (51, 1)


def test_conductances_recorded_in_microsiemens(pynn):
    """gsyn_exc/gsyn_inh through NEST's multimeter (g_ex/g_in, nS) in µS: one spike of
    weight 0.01 µS gives a jump of 0.01 µS decaying with tau_syn_E; 0 before."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    cells = sim.Population(2, sim.IF_cond_exp(tau_syn_E=5.0))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01, delay=1.0),
                   receptor_type="excitatory")
    cells.record(["gsyn_exc", "gsyn_inh"], sampling_interval=0.5)
    sim.run(10.0)
    g = {s.name: s for s in cells.get_data().segments[0].analogsignals}
    exc = g["gsyn_exc"].rescale("uS").magnitude[:, 0]
    assert g["gsyn_exc"].shape == (21, 2) and (g["gsyn_inh"].magnitude == 0).all()
    t = g["gsyn_exc"].times.rescale("ms").magnitude
    assert (exc[t < 2.0] == 0).all()                     # the spike arrives at 1.0 + 1.0 ms
    np.testing.assert_allclose(exc[t >= 2.0], 0.01 * np.exp(-(t[t >= 2.0] - 2.0) / 5.0), rtol=1e-6)


def test_ac_source_phase_holds_at_start_and_current_is_recorded(pynn):
    """ACSource (NEST's ac_generator): the recorded current, in the cells' time, is
    offset + amplitude·sin(2π·f·(t − start) + phase) from start to stop, 0 elsewhere; the
    cell feels it from the step after."""
    sim.setup(timestep=0.1, min_delay=1.0)
    cells = sim.Population(1, sim.IF_curr_exp(), initial_values={"v": -65.0})
    ac = sim.ACSource(start=10.0, stop=30.0, amplitude=0.5, offset=0.1, frequency=50.0,
                      phase=90.0)
    ac.inject_into(cells)
    ac.record()
    cells.record("v")
    sim.run(20.0)
    sim.run(20.0)
    i = ac.get_data()
    t = i.times.rescale("ms").magnitude
    on = (t >= 10.0 - 1e-9) & (t < 30.0 - 1e-9)
    assert i.units == pq.nA and len(t) == 401 and (i.magnitude[~on] == 0).all()
    np.testing.assert_allclose(i.magnitude[on, 0], 0.1 + 0.5 * np.sin(
        2 * np.pi * 50.0 * (t[on] - 10.0) / 1000.0 + np.pi / 2), atol=1e-12)
    v = cells.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    assert (v[:101] == -65.0).all() and v[101] > -65.0


def _run(backend, out, *flags):
    subprocess.run([sys.executable, str(SCRIPT), backend, str(out), *flags], check=True,
                   capture_output=True, timeout=300)
    return np.load(out)


@pytest.mark.nest
def test_same_spikes_as_pynn_nest(tmp_path):
    """The same PyNN script under pyNN.nest (grid-based models): identical spikes for
    IF_curr_exp, IF_curr_alpha and IF_curr_delta (the script keeps pyNN.nest's spike
    sources on their steps, see tests/scripts/pynn_network.py)."""
    mine, nest = (_run(b, tmp_path / f"{b}.npz") for b in ("bigbrain.pynn", "pyNN.nest"))
    for name in ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta"):
        assert len(nest[f"{name}_t"]) > 10
        np.testing.assert_array_equal(mine[f"{name}_i"], nest[f"{name}_i"])
        np.testing.assert_allclose(mine[f"{name}_t"], nest[f"{name}_t"], atol=1e-9)


def _on_bigbrain_and_nest(tmp_path, script):
    """The results (npz) of ``tests/scripts/<script>`` run with bigbrain.pynn and pyNN.nest."""
    runs = []
    for backend in ("bigbrain.pynn", "pyNN.nest"):
        subprocess.run([sys.executable, str(Path(__file__).parent / "scripts" / script), backend,
                        str(tmp_path / f"{backend}.npz")], check=True, capture_output=True,
                       timeout=300)
        runs.append(np.load(tmp_path / f"{backend}.npz"))
    return runs


@pytest.mark.nest
def test_composed_cells_as_pynn_nest(tmp_path):
    """PointNeuron (tests/scripts/pynn_composed.py: PyNN's composed-neuron scenario with
    more input): the LIF cell with exponential-current receptors gives pyNN.nest's spikes,
    V_m and receptor currents (iaf_psc_exp_multisynapse, exact integration); the AdExp cell
    with alpha-conductance receptors its spikes, V_m within 0.1 mV and conductances within
    rtol 1e-6 (NEST's gsl_error_tol)."""
    mine, nest = _on_bigbrain_and_nest(tmp_path, "pynn_composed.py")
    for cell in ("lif", "adexp"):
        assert len(nest[f"{cell}_spikes"]) >= 5
        np.testing.assert_allclose(mine[f"{cell}_spikes"], nest[f"{cell}_spikes"], atol=1e-9)
    for key in ("lif_v", "lif_AMPA.isyn", "lif_NMDA.isyn", "lif_GABAA.isyn"):
        np.testing.assert_allclose(mine[key], nest[key], rtol=1e-9, atol=1e-9, err_msg=key)
    np.testing.assert_allclose(mine["adexp_v"], nest["adexp_v"], rtol=0, atol=0.1)
    for key in ("adexp_AMPA.gsyn", "adexp_NMDA.gsyn", "adexp_GABAA.gsyn"):
        np.testing.assert_allclose(mine[key], nest[key], rtol=1e-6, atol=1e-12, err_msg=key)


@pytest.mark.nest
def test_changes_between_runs_as_pynn_nest(tmp_path):
    """set (whole population, a view, per-cell values) and initialize between runs give
    pyNN.nest's spikes."""
    mine, nest = (_run(b, tmp_path / f"{b}.npz", "changes") for b in ("bigbrain.pynn", "pyNN.nest"))
    for name in ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta"):
        assert (nest[f"{name}_t"] > 100.0).sum() > 5
        np.testing.assert_array_equal(mine[f"{name}_i"], nest[f"{name}_i"])
        np.testing.assert_allclose(mine[f"{name}_t"], nest[f"{name}_t"], atol=1e-9)


@pytest.mark.mpi
def test_same_spikes_on_1_2_4_ranks(tmp_path):
    runs = []
    for n in (1, 2, 4):
        run_mpi(SCRIPT, n, "bigbrain.pynn", tmp_path / f"{n}.npz", "dc", "poisson", "v", "listed",
                "changes", "cond", timeout=300)
        runs.append(np.load(tmp_path / f"{n}.npz"))
    assert len(runs[0]["noise_t"]) > 100 and len(runs[0]["IF_cond_exp_t"]) > 10
    weight, delay = runs[0]["listed"]
    assert np.isfinite(weight[0]).any() and (weight[0][~np.isnan(weight[0])] == 0.5).all()
    assert (delay[0][~np.isnan(delay[0])] == 2.0).all()
    for other in runs[1:]:
        for key in runs[0].files:
            np.testing.assert_array_equal(runs[0][key], other[key])


def _example_weights(tmp_path, script, backend):
    """Final weights printed by PyNN's simple_STDP example run on ``backend``."""
    run = ("import runpy, sys; import bigbrain.pynn; sys.modules['pyNN.bigbrain'] = "
           "bigbrain.pynn; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
           "run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", run, str(script), backend], cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return np.array(out.split("Final weights: [")[1].split("]")[0].split(), float)


@pytest.mark.nest
@pytest.mark.slow
def test_simple_stdp_example_equals_pynn_nest(tmp_path):
    """PyNN's examples/simple_STDP.py unchanged on bigbrain.pynn gives pyNN.nest's final
    weights (pyNN.nest 0.13 with NumPy 2 fails on its 1-to-1 OneToOneConnector, so NEST
    runs it with the equivalent AllToAllConnector)."""
    script = pynn_source() / "examples" / "simple_STDP.py"
    patched = tmp_path / "simple_STDP.py"
    patched.write_text(script.read_text().replace(
        "sim.Projection(p3, p2, sim.OneToOneConnector(),", "sim.Projection(p3, p2, sim.AllToAllConnector(),"))
    mine, nest = _example_weights(tmp_path, script, "bigbrain"), _example_weights(tmp_path, patched, "nest")
    assert len(mine) == 60 and np.ptp(mine) > 1e-8      # depression and potentiation
    np.testing.assert_allclose(mine, nest, rtol=1e-6)


@pytest.mark.nest
def test_poisson_rates_set_between_runs_as_pynn_nest(tmp_path):
    """SpikeSourcePoisson.set(rate=...) after a run (tests/scripts/pynn_rate_change.py):
    a rate switched on and off acts on the same steps as in pyNN.nest, given that
    pyNN.nest's first run goes one min_delay (0.1 ms) past the time asked for; counts at
    rates set per cell agree with the rates in both."""
    mine, nest = _on_bigbrain_and_nest(tmp_path, "pynn_rate_change.py")
    on_mine, on_nest = np.unique(mine["on_t"]), np.unique(nest["on_t"])
    assert len(on_nest) == 20 and on_nest[0] == pytest.approx(10.3)
    np.testing.assert_allclose(on_mine + 0.1, on_nest, atol=1e-9)
    assert np.unique(mine["window_t"])[0] + 0.1 == pytest.approx(np.unique(nest["window_t"])[0])
    assert np.unique(mine["window_t"])[-1] == pytest.approx(15.0)   # the window still closes
    for run in (mine, nest):
        t = run["counts_t"]
        for count, expected in (((t <= 2000.0).sum(), 30 * 20.0 * 2),
                                ((t > 2000.2).sum(), 55.0 * 30 * 2)):
            assert abs(count - expected) < 4 * np.sqrt(expected), (count, expected)


def test_generator_sources_set_after_a_run(pynn):
    """SpikeSourceGamma's beta (rate = beta/alpha) changes between runs; its alpha (the
    device's gamma_shape) is fixed at the build."""
    gamma = sim.Population(20, sim.SpikeSourceGamma(alpha=2.0, beta=100.0))
    gamma.record("spikes")
    sim.run(1000.0)
    gamma.set(beta=400.0)
    assert sim.simulator.state.net.get(gamma._generators[0][0], "rate") == 200.0
    with pytest.raises(bb.ModelError, match=r"gamma_shape: cannot change after the first run"):
        gamma.set(alpha=3.0)
    sim.run(1000.0)
    t = np.concatenate([st.magnitude for st in gamma.get_data().segments[0].spiketrains])
    for count, expected in (((t <= 1000.2).sum(), 20 * 50.0), ((t > 1000.2).sum(), 20 * 200.0)):
        assert abs(count - expected) < 5 * np.sqrt(expected), (count, expected)


def test_tsodyks_markram_synapse_as_pynn_nest(tmp_path):
    """TsodyksMarkramSynapse (U a function of distance, facilitating excitatory and
    depressing inhibitory projections; tau_psc from tau_syn_E / tau_syn_I) gives
    pyNN.nest's V_m (both exact; pyNN.nest records one step fewer)."""
    script = Path(__file__).parent / "scripts" / "pynn_tsodyks.py"
    runs = []
    for backend in ("bigbrain.pynn", "pyNN.nest"):
        out = tmp_path / f"{backend}.npz"
        subprocess.run([sys.executable, str(script), backend, str(out)], check=True,
                       capture_output=True, timeout=300)
        runs.append(np.load(out)["v"])
    mine, nest = runs
    assert np.ptp(nest, axis=0).min() > 1.0
    np.testing.assert_allclose(mine[:len(nest)], nest, rtol=1e-12, atol=0)


@pytest.mark.mpi
def test_get_data_on_every_rank_as_on_one(tmp_path):
    """get_data, get_spike_counts, mean_spike_count and write_data of a 1-cell and a 2-cell
    population, a view and an Assembly (two segments: run, reset, run) give on every rank
    of 2 and 3 (more ranks than cells: some hold none) the 1-rank results: spike trains,
    annotations, channel ids, signal values; get_data(gather=False) the rank's own cells."""
    import pickle
    script = Path(__file__).parent / "scripts" / "pynn_get_data_ranks.py"
    runs = {}
    for n in (1, 2, 3):
        out = tmp_path / str(n)
        out.mkdir()
        run_mpi(script, n, out, timeout=120)
        runs[n] = [pickle.loads((out / f"{rank}.pkl").read_bytes()) for rank in range(n)]
    one = runs[1][0]
    assert len(one["two"]["segments"]) == 2 and one["two"]["segments"][0] == one["two"]["segments"][1]
    trains, signals = one["two"]["segments"][0]
    assert [t[1] for t in trains] == [1, 2] and all(len(t[0]) for t in trains)
    assert [s[2:4] for s in signals] == [([1, 2], [0, 1])] and len(signals[0][6]) == 101
    view_trains, view_signals = one["view"]["segments"][1]
    assert [t[1] for t in view_trains] == [2] and [s[2] for s in view_signals] == [[2]]
    assert one["written"] == one["one"]
    for n in (2, 3):
        for rank, result in enumerate(runs[n]):
            for key in one:
                if key not in ("local_ids", "written"):
                    assert result[key] == one[key], (n, rank, key)
            assert result["local_ids"] == {"one": [0] if rank == 0 else [],
                                           "two": [i + 1 for i in range(2) if i % n == rank]}
        assert runs[n][0]["written"] == one["one"]


@pytest.mark.mpi
def test_tsodyks_markram_synapse_on_1_and_2_ranks(tmp_path):
    """The TsodyksMarkramSynapse script gives the same V_m on 1 and 2 ranks."""
    script = Path(__file__).parent / "scripts" / "pynn_tsodyks.py"
    runs = []
    for n in (1, 2):
        run_mpi(script, n, "bigbrain.pynn", tmp_path / f"{n}.npz", timeout=300)
        runs.append(np.load(tmp_path / f"{n}.npz")["v"])
    assert np.ptp(runs[0]) > 1.0
    np.testing.assert_array_equal(runs[1], runs[0])


def test_tsodyks_markram_parameters_get_set_and_checks(pynn):
    """U, tau_rec and tau_facil read and written per synapse before and after a run (the
    engine's tsodyks_synapse state), tau_psc taken from the cells, bad values refused."""
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0, 3.0]] * 3))
    post = sim.Population(2, sim.IF_cond_exp(tau_syn_E=2.5))
    syn = sim.TsodyksMarkramSynapse(weight=0.01, delay=0.5, U=lambda d: 0.1 + 0.1 * d,
                                    tau_rec=200.0, tau_facil=50.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), syn)
    i, j, u, tau_facil = np.array(prj.get(["U", "tau_facil"], format="list")).T
    np.testing.assert_allclose(u, 0.1 + 0.1 * np.abs(i - j))
    assert (tau_facil == 50.0).all() and prj._conn.synapse.tau_psc == 2.5
    sim.run(5.0)
    net = sim.simulator.state.net
    assert (net.get(prj._conn, "x") < 1.0).all() and (net.get(prj._conn, "u") > 0.0).all()
    prj.set(U=0.3, tau_rec=np.full((3, 2), 90.0))
    assert (net.get(prj._conn, "U") == 0.3).all() and (net.get(prj._conn, "tau_rec") == 90.0).all()
    assert prj.get("tau_rec", format="array").tolist() == [[90.0, 90.0]] * 3
    with pytest.raises(bb.ModelError, match="must be in \\[0, 1\\]"):
        prj.set(U=1.5)
    sim.setup(timestep=0.1)
    delta = sim.Population(2, sim.IF_curr_delta())
    with pytest.raises(bb.ModelError, match="tau_syn_E"):
        sim.Projection(delta, delta, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse())
