"""Recording any state variable (NEST's multimeter): net.record(pop, [variables], interval),
Result.samples, the archive's samples/<population>/<variable> and bigbrain.analysis; NEST's
multimeter as the reference; get / set / recording on 1 and 3 ranks."""
from pathlib import Path

import numpy as np
import pytest
import zarr

import bigbrain as bb
import bigbrain.analysis as ba
from bigbrain.archive import Archive, ArchiveResult
from mpi_helpers import run_mpi

DT = 0.1
SCRIPT = Path(__file__).parent / "scripts" / "state_access.py"


def _driven(archive=None, what=("V_m", "I_syn_ex", "I_syn_in"), interval=0.5):
    """6 iaf_psc_exp neurons driven by spike sources (excitatory and inhibitory weights);
    records ``what`` of neurons 1, 3, 4 every ``interval`` ms."""
    rng = np.random.default_rng(2)
    net = bb.Network(dt=DT, archive=archive)
    times = [sorted(set(np.round(rng.uniform(0.1, 40.0, 12), 1))) for _ in range(5)]
    src = net.spike_source("S", times)
    pop = net.population("N", 6, "iaf_psc_exp", I_e=np.linspace(200.0, 380.0, 6),
                         tau_syn_ex=np.linspace(0.5, 3.0, 6), V_m=-68.0)
    net.connect(src, pop, rule="explicit", sources=rng.integers(0, 5, 40),
                targets=rng.integers(0, 6, 40), weight=rng.uniform(-300.0, 500.0, 40),
                delay=rng.choice([1.0, 1.7], 40))
    net.record(pop[[1, 3, 4]], list(what), interval=interval)
    return net, times


def test_samples_of_every_variable_in_model_order():
    net, _ = _driven(what=("I_syn_in", "V_m"))
    net.record(net.populations["N"][[0]], "I_syn_ex", interval=0.5)   # merged: one recorder
    result = net.run(20.0)
    t, ids, V = result.samples("N", "V_m")
    assert np.array_equal(ids, [0, 1, 3, 4]) and np.allclose(t, np.arange(1, 41) * 0.5)
    assert V.shape == (40, 4) and V[0, 0] > -68.0           # current input charges
    np.testing.assert_array_equal(result.V_m("N")[2], V)
    for name in ("I_syn_ex", "I_syn_in"):
        values = result.samples("N", name)[2]
        assert values.shape == (40, 4) and np.any(values != 0.0), name
    assert np.all(result.samples("N", "I_syn_ex")[2] >= 0)
    assert np.all(result.samples("N", "I_syn_in")[2] <= 0)


def test_unknown_recordable_names_it_and_lists_the_models():
    net = bb.Network(dt=DT)
    pop = net.population("D", 2, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match=r"^record.what: 'D' \(iaf_psc_delta\) has no I_syn_ex "
                                            r"to record; its recordables: spikes, V_m$"):
        net.record(pop, ["V_m", "I_syn_ex"])
    net.record(pop, "V_m")
    result = net.run(1.0)
    with pytest.raises(bb.ModelError, match=r"^samples.I_syn_ex: 'I_syn_ex' of 'D' was not recorded"):
        result.samples("D", "I_syn_ex")


@pytest.mark.nest
def test_multimeter_equals_nest_step_for_step():
    nest = pytest.importorskip("nest")
    net, times = _driven(interval=0.3)
    ours = net.run(40.0)
    rng = np.random.default_rng(2)
    for _ in range(5):   # the same draws as _driven
        rng.uniform(0.1, 40.0, 12)
    src, tgt = rng.integers(0, 5, 40), rng.integers(0, 6, 40)
    w, d = rng.uniform(-300.0, 500.0, 40), rng.choice([1.0, 1.7], 40)
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT})
    gens = nest.Create("spike_generator", 5)
    for g, t in zip(gens, times):
        g.set(spike_times=t)
    cells = nest.Create("iaf_psc_exp", 6)
    cells.set(I_e=np.linspace(200.0, 380.0, 6).tolist(), tau_syn_ex=np.linspace(0.5, 3.0, 6).tolist(),
              V_m=-68.0)
    for s, t, ww, dd in zip(src, tgt, w, d):
        nest.Connect(gens[int(s)], cells[int(t)], syn_spec={"weight": float(ww), "delay": float(dd)})
    mm = nest.Create("multimeter", params={"interval": 0.3, "record_from": ["V_m", "I_syn_ex", "I_syn_in"]})
    nest.Connect(mm, cells[[1, 3, 4]])
    nest.Simulate(40.0)
    ev = mm.get("events")
    for k, cell in enumerate((1, 3, 4)):
        mine = ev["senders"] == cells[cell].global_id
        n = mine.sum()   # NEST hands the last min-delay slice's samples over at the next Simulate
        assert n > 120
        for name in ("V_m", "I_syn_ex", "I_syn_in"):
            t, ids, values = ours.samples("N", name)
            np.testing.assert_allclose(t[:n], ev["times"][mine], rtol=0, atol=1e-9)
            # weights differ, so each is stored in fixed point to ~2**-31 of the largest
            # (500 pA): ~1e-7 pA per spike, which is all that may differ
            np.testing.assert_allclose(values[:n, k], ev[name][mine], rtol=0, atol=1e-6,
                                       err_msg=f"{name} of neuron {cell}")


def test_archive_streams_every_variable_and_analysis_reads_it(tmp_path):
    net, _ = _driven(archive=Archive(tmp_path / "run.zarr", flush_every=5.0))
    plain_net, _ = _driven()
    archived, plain = net.run(20.0), plain_net.run(20.0)
    run = ba.open(tmp_path / "run.zarr")
    for name in ("V_m", "I_syn_ex", "I_syn_in"):
        want = plain.samples("N", name)
        for got in (archived.samples("N", name), ArchiveResult(str(tmp_path / "run.zarr")).samples("N", name)):
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
        t, ids, values = run.samples("N", name)
        np.testing.assert_array_equal(values.compute(), want[2])
        np.testing.assert_array_equal(ids, want[1])
    with pytest.raises(KeyError, match="'g_ex' of 'N' was not recorded; recorded: V_m, I_syn_ex"):
        run.samples("N", "g_ex")


def test_archives_without_the_variables_attribute_read_as_before(tmp_path):
    """Archives written before multimeters: samples/<population>/{times,node_ids,V_m} and
    no attrs["variables"]."""
    net, _ = _driven(archive=Archive(tmp_path / "old.zarr"), what=("V_m",))
    want = net.run(10.0).V_m("N")
    group = zarr.open_group(str(tmp_path / "old.zarr"), mode="r+")["samples/N"]
    attrs = dict(group.attrs)
    del attrs["variables"]
    group.attrs.clear()
    group.attrs.update(attrs)
    for got in (ArchiveResult(str(tmp_path / "old.zarr")).V_m("N"),
                [np.asarray(x) for x in ba.open(tmp_path / "old.zarr").samples("N")]):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.mpi
def test_get_set_and_samples_are_the_same_on_one_and_three_ranks(tmp_path):
    outputs = {}
    for n in (1, 3):
        run_mpi(SCRIPT, n, tmp_path / f"n{n}", timeout=300)
        outputs[n] = [dict(np.load(tmp_path / f"n{n}.rank{r}.npz")) for r in range(n)]
    reference = outputs[1][0]
    assert len(reference["spikes_E"]) > 20 and reference["samples_V_m"].shape[1] == 6
    assert not np.array_equal(reference["static_30"], reference["static_after"])
    assert len(reference["errors"]) == 5
    for rank, out in enumerate(outputs[3]):
        assert set(out) == set(reference)
        for key, value in reference.items():
            np.testing.assert_array_equal(out[key], value, err_msg=f"{key} on rank {rank} of 3")


ONE_NEURON = """
import sys
import numpy as np
import bigbrain as bb
net = bb.Network(dt=0.1, partition="round_robin")
pop = net.population("N", 4, "iaf_psc_exp", I_e=400.0)
net.record(pop[[0]], ["V_m", "I_syn_in"], interval=0.2)
t, ids, v = net.run(3.0).samples("N", "V_m")
np.save(sys.argv[1] + f".rank{net.rank}.npy", v)
"""


@pytest.mark.mpi
def test_ranks_without_recorded_neurons_record_nothing_and_do_not_fail(tmp_path):
    script = tmp_path / "one_neuron.py"
    script.write_text(ONE_NEURON)
    run_mpi(script, 2, tmp_path / "v", timeout=120)
    for rank in range(2):
        v = np.load(tmp_path / f"v.rank{rank}.npy")
        assert v.shape == (15, 1) and v[-1, 0] > -70.0


def test_resumed_run_samples_every_variable_as_the_uninterrupted_one(tmp_path):
    whole, _ = _driven(archive=Archive(tmp_path / "whole.zarr", checkpoint_every=10.0))
    want = whole.run(30.0)
    cut, _ = _driven(archive=Archive(tmp_path / "cut.zarr", checkpoint_every=10.0,
                                     checkpoint_at_end=False))
    cut.run(25.0)                       # checkpoints at 10 and 20 ms; 20 … 25 ms is lost
    net = bb.resume(tmp_path / "cut.zarr")
    assert net.time == 20.0
    got = net.run(10.0)
    for name in ("V_m", "I_syn_ex", "I_syn_in"):
        for a, b in zip(got.samples("N", name), want.samples("N", name)):
            np.testing.assert_array_equal(a, b, err_msg=name)
