"""Neurons with receptor ports (NEST's iaf_psc_exp_multisynapse and
aeif_cond_alpha_multisynapse): each port's own synaptic current or conductance, fed by
connections that name it (``receptor``, NEST's receptor_type); against NEST 3.10, across
ranks and through a checkpoint."""
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
import cond_reference as cr
from mpi_helpers import assert_identical, results_on_ranks, run_mpi
from multisynapse_reference import DT, TAU_SYN, case, recordables, run_bigbrain, run_nest
from test_backend import host_gpu  # noqa: F401 - the CUDA kernels compiled for the CPU


@pytest.mark.nest
def test_iaf_psc_exp_multisynapse_equals_nest_to_rounding():
    """Three ports (tau_syn 1, 20, 1.5 ms; weights of both signs), 300 ms: the same spike
    steps as NEST, V_m and every port current within rtol 1e-9 (exact integration)."""
    pytest.importorskip("nest")
    c = case("iaf_psc_exp_multisynapse")
    (want_spikes, want), (got_spikes, got) = run_nest(c), run_bigbrain(c)
    assert sum(map(len, want_spikes)) >= 5
    for a, b in zip(got_spikes, want_spikes):
        np.testing.assert_array_equal(a, b)
    for name in recordables(c["model"]):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.nest
def test_aeif_cond_alpha_multisynapse_agrees_with_nest_within_aeif_tolerance():
    """Three ports (tau_syn 1, 20, 1.5 ms; E_rev 0, 0, −70 mV), 300 ms: the same number of
    spikes, each within one step of NEST's, V_m within 0.1 mV away from spikes (the
    tolerance of aeif_cond_alpha, tests/test_cond.py) and the port conductances within
    rtol 1e-6 (NEST integrates them with its gsl_error_tol, 1e-6; bigbrain exactly)."""
    pytest.importorskip("nest")
    c = case("aeif_cond_alpha_multisynapse")
    want, got = run_nest(c), run_bigbrain(c)
    diff = cr.compare((want[0], want[1]["V_m"]), (got[0], got[1]["V_m"]), window=5)
    assert diff["spikes"][0] >= 5 and diff["spikes"][0] == diff["spikes"][1], diff
    assert diff["max_shift"] <= 1 and diff["max_dV"] < 0.1, diff
    for name in ("g_1", "g_2", "g_3"):
        np.testing.assert_allclose(got[1][name], want[1][name], rtol=1e-6, atol=1e-9,
                                   err_msg=name)


# ----------------------------------------------------------------------- ranks, resume
SCRIPT = Path(__file__).parent / "scripts" / "multisynapse_ranks.py"


@pytest.mark.slow
@pytest.mark.mpi
def test_spikes_and_V_m_are_the_same_on_one_two_and_three_ranks(tmp_path):
    results = results_on_ranks(SCRIPT, tmp_path)
    assert len(results[0]["t_I"]) > 10 and len(results[0]["t_A"]) > 10
    assert_identical(results)


@pytest.mark.mpi
def test_resume_on_one_rank_equals_the_run_on_two(tmp_path):
    """Checkpoints hold the port ring buffers (input in flight on ports 2 and 3) and the
    port currents and conductances: resumed at 20 ms on another rank count, the rest of
    the run is the uninterrupted one's, bit for bit."""
    from bigbrain.archive import ArchiveResult
    from test_checkpoint import cut_back
    full = tmp_path / "full.zarr"
    run_mpi(SCRIPT, 2, tmp_path, full, timeout=180)
    cut = cut_back(full, tmp_path / "cut.zarr", 200)
    net = bb.resume(cut)
    assert net.time == pytest.approx(20.0)
    net.run(20.0)
    a, b = ArchiveResult(str(full)), ArchiveResult(str(cut))
    for pop in ("I", "A"):
        assert len(a.spikes(pop)[0]) > 10
        for x, y in zip(a.spikes(pop), b.spikes(pop)):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(a.V_m(pop)[2], b.V_m(pop)[2])


# ----------------------------------------------------------------------- bad input
def _ports_network():
    net = bb.Network(dt=DT)
    net.spike_source("S", [[1.0]])
    net.population("I", 2, "iaf_psc_exp_multisynapse", tau_syn=TAU_SYN)
    net.population("A", 2, "aeif_cond_alpha_multisynapse", tau_syn=TAU_SYN,
                   E_rev=[0.0, 0.0, -70.0])
    net.population("E", 2, "iaf_psc_exp")
    return net


@pytest.mark.parametrize("target, receptor, message", [
    ("I", 0, r"receptor_type 0 is not a port of population 'I' "
             r"\(iaf_psc_exp_multisynapse with ports 1 … 3\)"),
    ("I", 4, r"receptor_type 4 is not a port"),
    ("A", -1, r"receptor_type -1 is not a port of population 'A'"),
    ("E", 2, r"receptor_type must be 0 for population 'E' \(iaf_psc_exp\), or 1 for "
             r"parrot_neuron targets \(input not repeated\), got 2"),
    ("I|E", 1, r"receptor_type must be 0 for population 'E' \(iaf_psc_exp\)"),
    ("I", 1.5, r"NEST's receptor_type must be an integer, got 1.5"),
])
def test_a_bad_receptor_type_names_the_field(target, receptor, message):
    net = _ports_network()
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] S->.*\.receptor: " + message):
        post = net.populations["I"] | net.populations["E"] if target == "I|E" else target
        net.connect("S", post, receptor=receptor)


def test_ports_refuse_what_they_cannot_take():
    net = _ports_network()
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] S->A\.weight: must be >= 0 nS "
                                            r"into aeif_cond_alpha_multisynapse"):
        net.connect("S", "A", weight=-1.0, receptor=1)
    with pytest.raises(bb.ModelError, match=r"\.receptor: receptor_type 2: ports above 1 take "
                                            r"static synapses and poisson input only"):
        net.connect("S", "I", receptor=2, synapse=bb.STDP())
    dc = net.dc_generator("dc", amplitude=10.0)
    with pytest.raises(bb.ModelError, match=r"dc->I\.receptor: receptor_type must be 0 for "
                                            r"population 'I'"):
        net.connect(dc, "I", receptor=1)
    net.connect(dc, "I")   # currents come on port 0, as in NEST


@pytest.mark.parametrize("model, params, field, message", [
    ("iaf_psc_exp_multisynapse", {"tau_syn": [1.0, -2.0]}, "tau_syn",
     r"must be finite and > 0 ms, got -2.0 \(port 2\)"),
    ("iaf_psc_exp_multisynapse", {"tau_syn": []}, "tau_syn", r"must be a list of numbers"),
    ("iaf_psc_exp_multisynapse", {"tau_syn": [10.0]}, "tau_syn", r"must differ from tau_m"),
    ("aeif_cond_alpha_multisynapse", {"tau_syn": [1.0, 2.0], "E_rev": [0.0]}, "E_rev",
     r"must have one value per port, as tau_syn \(2\), got 1"),
    ("aeif_cond_alpha_multisynapse", {"E_rev": "zero"}, "E_rev", r"must be a list of numbers"),
])
def test_bad_port_parameters_name_the_field(model, params, field, message):
    with pytest.raises(bb.ModelError, match=rf"^population 'P'\.{field}: {message}"):
        bb.Network().population("P", 1, model, **params)


def test_recordables_follow_the_ports():
    net = _ports_network()
    with pytest.raises(bb.ModelError, match=r"^record\.what: 'I' \(iaf_psc_exp_multisynapse\) "
                                            r"has no I_syn_4 to record; its recordables: "
                                            r"spikes, V_m, I_syn, I_syn_1, I_syn_2, I_syn_3"):
        net.record("I", "I_syn_4")
    net.record("A", ["g_3", "w"])


def test_the_gpu_backend_refuses_the_models_at_the_build(host_gpu, monkeypatch):  # noqa: F811
    """The CUDA kernels have no receptor ports: the build stops, naming the model."""
    import bigbrain.simulation
    monkeypatch.setattr(bigbrain.simulation, "select_backend", lambda *args: host_gpu)
    net = _ports_network()
    with pytest.raises(bb.ModelError, match=r"^population 'I'\.model: the .* backend has no "
                                            r"kernel for iaf_psc_exp_multisynapse yet; run it "
                                            r"with backend='numpy'"):
        net.run(1.0)


def test_model_file_round_trip_keeps_the_ports(tmp_path):
    """tau_syn and E_rev (lists) and each connection's port survive a model file."""
    from bigbrain import modelfile
    from bigbrain.description import describe, fingerprint

    def sha(net):
        arrays = {}
        return fingerprint(describe(net, arrays), arrays)

    net = _ports_network()
    net.connect("S", "A", weight=2.0, receptor=3)
    modelfile.write(net, tmp_path / "m.toml", t=10.0)
    back = modelfile.read(tmp_path / "m.toml").network()
    assert sha(back) == sha(net)
    assert back.populations["A"].params["E_rev"] == (0.0, 0.0, -70.0)
    assert back.connections[0].receptor == 3
