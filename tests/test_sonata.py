"""SONATA networks in (bigbrain.sonata): networks built with the Brain Modeling Toolkit's
NetworkBuilder, run by the BMTK's PointNet (NEST 3), by NEST driven from the same files by
a reader written here, and by bigbrain on 1, 2, 3 and 4 ranks."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from mpi_helpers import run_mpi

pytest.importorskip("bmtk", reason="the test extra installs bmtk (pip install '.[test]')")
h5py = pytest.importorskip("h5py")
import sonata_networks as sn  # noqa: E402 - needs bmtk and h5py
from bigbrain import sonata  # noqa: E402

SCRIPTS = Path(__file__).parent / "scripts"
TSTOP = 200.0
NEURONS = {"cortex_100": "cortex@0", "cortex_101": "cortex@12", "cortex_102": "cortex@18"}


@pytest.fixture(scope="module")
def circuit(tmp_path_factory):
    return sn.build(tmp_path_factory.mktemp("sonata"), tstop=TSTOP)


def run_bigbrain(config, **network_args):
    net, loaded = sonata.network(config, seed=1, **network_args)
    result = net.run(loaded.tstop)
    return {part.name: result.spikes(part.name) for pop in loaded.populations.values()
            if not pop.virtual for part in pop.parts}


def test_populations_follow_the_node_types(circuit):
    net, loaded = sonata.network(circuit, seed=1)
    parts = {k: [(p.name, p.size, p.model.name) for p in v.parts] for k, v in loaded.populations.items()}
    assert parts == {"cortex": [("cortex@0", 12, "iaf_psc_exp"), ("cortex@12", 6, "iaf_psc_exp"),
                                ("cortex@18", 5, "iaf_psc_delta")],
                     "ext": [("ext", 4, "spike_source")]}
    assert net.populations["cortex@12"].params["tau_syn_in"] == sn.INH["tau_syn_in"]
    assert loaded.tstop == TSTOP and net.dt == sn.DT


@pytest.mark.nest
def test_spikes_equal_nest_driven_from_the_same_files(circuit):
    from nest_reference import run_nest

    desc, _ = sn.nest_description(circuit.parent, TSTOP)
    nest = run_nest(desc)["spikes"]
    ours = run_bigbrain(circuit)
    for nest_name, name in NEURONS.items():
        t_nest, i_nest = nest[nest_name]
        t, i = ours[name]
        assert len(t_nest) > 20, "the test network must spike"
        np.testing.assert_array_equal(np.rint(t / sn.DT), np.rint(t_nest / sn.DT), err_msg=name)
        np.testing.assert_array_equal(i, i_nest, err_msg=name)


@pytest.mark.nest
def test_spikes_equal_bmtk_pointnet_on_the_same_config(circuit, tmp_path):
    """The BMTK's own simulator (PointNet, NEST underneath) runs the config itself."""
    import subprocess
    import sys

    from bmtk.utils.reports.spike_trains import SpikeTrains

    out = tmp_path / "pointnet" / "spikes.h5"
    proc = subprocess.run([sys.executable, str(SCRIPTS / "pointnet_run.py"), str(circuit), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = SpikeTrains.load(str(out)).to_dataframe(population="cortex")
    theirs = theirs.sort_values(["timestamps", "node_ids"], kind="stable")
    first = {"cortex@0": 0, "cortex@12": 12, "cortex@18": 18}
    ours = run_bigbrain(circuit)
    t = np.concatenate([ours[n][0] for n in first])
    i = np.concatenate([ours[n][1] + first[n] for n in first])
    order = np.lexsort((i, t))
    assert len(theirs) == t.size > 100
    np.testing.assert_array_equal(np.rint(theirs["timestamps"].to_numpy() / sn.DT), np.rint(t[order] / sn.DT))
    np.testing.assert_array_equal(theirs["node_ids"].to_numpy(), i[order])


def without_index(circuit, tmp_path):
    """A copy of the circuit whose edge files lack indices/ (read by scanning)."""
    root = tmp_path / "noindex"
    shutil.copytree(circuit.parent, root)
    for path in (root / "network").glob("*_edges.h5"):
        with h5py.File(path, "a") as f:
            for grp in f["edges"].values():
                del grp["indices"]
    return root / circuit.name


def per_type_values(circuit, tmp_path):
    """A copy of the circuit whose edges take weight and delay from their edge type only
    (no per-edge columns): bigbrain then makes one connection per edge type."""
    root = tmp_path / "pertype"
    shutil.copytree(circuit.parent, root)
    for path in (root / "network").glob("*_edges.h5"):
        with h5py.File(path, "a") as f:
            for grp in f["edges"].values():
                for g in [k for k in grp if k.isdigit()]:
                    for key in list(grp[g]):
                        del grp[g][key]
        table = path.with_name(path.name.replace("_edges.h5", "_edge_types.csv"))
        with open(table, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=" "))
        for row in rows:
            for key, value in (("syn_weight", "-45.0"), ("delay", "1.1")):
                if row[key] == "NULL":
                    edit_csv(table, key, row["edge_type_id"], value)
    return root / circuit.name


@pytest.mark.nest
def test_per_type_weights_make_one_connection_per_type_and_equal_nest(circuit, tmp_path):
    from nest_reference import run_nest

    config = per_type_values(circuit, tmp_path)
    net, _ = sonata.network(config, seed=1)
    assert [c.rule.edge_type for c in net.connections] == [100, 101, 102, 103, 100, 101]
    assert all(np.ndim(c.weight) == 0 and np.ndim(c.delay) == 0 for c in net.connections)
    nest = run_nest(sn.nest_description(config.parent, TSTOP)[0])["spikes"]
    ours = run_bigbrain(config)
    for nest_name, name in NEURONS.items():
        assert len(nest[nest_name][0]) > 20
        np.testing.assert_array_equal(np.rint(ours[name][0] / sn.DT), np.rint(nest[nest_name][0] / sn.DT))
        np.testing.assert_array_equal(ours[name][1], nest[nest_name][1])


@pytest.mark.mpi
def test_same_spikes_on_1_2_and_4_ranks_with_and_without_the_index(circuit, tmp_path):
    expected = run_bigbrain(circuit)
    per_type = per_type_values(circuit, tmp_path)
    by_type = run_bigbrain(per_type)
    cases = [(circuit, 2, "round_robin", expected), (circuit, 4, "blocks", expected),
             (without_index(circuit, tmp_path), 2, "round_robin", expected),
             (without_index(per_type, tmp_path / "b"), 3, "blocks", by_type)]
    for k, (config, n, partition, spikes) in enumerate(cases):
        out = tmp_path / f"run{k}.npz"
        run_mpi(SCRIPTS / "sonata_run.py", n, config, out, partition, timeout=240)
        got = np.load(out)
        for name, (t, i) in spikes.items():
            np.testing.assert_array_equal(got[f"{name}/t"], t, err_msg=f"{name} on {n} ranks")
            np.testing.assert_array_equal(got[f"{name}/i"], i, err_msg=f"{name} on {n} ranks")


def test_description_refers_to_the_edge_files(circuit):
    from bigbrain.description import describe

    net, _ = sonata.network(circuit, seed=1)
    arrays = {}
    desc = describe(net, arrays)
    edges = [p for p in desc["projections"] if p["rule"] == "sonata_edges"]
    assert [Path(p["edges"]["file"]).name for p in edges] == ["cortex_cortex_edges.h5", "ext_cortex_edges.h5"]
    assert edges[0]["edges"]["population"] == "cortex_to_cortex"
    assert Path(edges[0]["edges"]["types_file"]).name == "cortex_cortex_edge_types.csv"
    assert edges[0]["weight"] == {"distribution": "sonata_edges", "edges": edges[0]["edges"],
                                  "column": "syn_weight"}
    assert not any(k.startswith("projections/") for k in arrays)


# ---------------------------------------------------------------- networks bigbrain cannot run
def edit_csv(path, column, type_id, value):
    """Set ``column`` of type ``type_id`` in a SONATA type table (adding the column)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=" "))
    for row in rows:
        row.setdefault(column, "NULL")
        if row[next(iter(row))] == str(type_id):
            row[column] = value
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), delimiter=" ")
        writer.writeheader()
        writer.writerows(rows)


def break_model(root):
    edit_csv(root / "network" / "cortex_node_types.csv", "model_template", 101, "nest:hh_psc_alpha")
    return "cortex_node_types.csv: population 'cortex' node_type_id 101.model_template: " \
           "bigbrain has no model 'nest:hh_psc_alpha'"


def break_weight_function(root):
    edit_csv(root / "network" / "cortex_cortex_edge_types.csv", "weight_function", 101, "gaussian_lgn")
    return "cortex_cortex_edge_types.csv: edge_type_id 101.weight_function: bigbrain cannot " \
           "evaluate 'gaussian_lgn'"


def break_file(root):
    (root / "network" / "ext_cortex_edges.h5").unlink()
    return "simulation_config.json: networks.edges.edges_file: file not found: " \
           f"{root / 'network' / 'ext_cortex_edges.h5'}"


def break_column_type(root):
    with h5py.File(root / "network" / "cortex_cortex_edges.h5", "a") as f:
        grp = f["edges/cortex_to_cortex"]
        g = next(k for k in grp if k.isdigit() and "syn_weight" in grp[k])
        n = grp[g]["syn_weight"].shape[0]
        del grp[g]["syn_weight"]
        grp[g].create_dataset("syn_weight", data=np.array(["x"] * n, dtype="S1"))
    return f"cortex_cortex_edges.h5: population 'cortex_to_cortex' group {g}.syn_weight: must be numbers"


def break_missing_weight(root):
    edit_csv(root / "network" / "cortex_cortex_edge_types.csv", "syn_weight", 100, "NULL")
    return "cortex_cortex_edges.h5: population 'cortex_to_cortex'.syn_weight: edge"


def break_node_ids(root):
    with h5py.File(root / "network" / "cortex_cortex_edges.h5", "a") as f:
        f["edges/cortex_to_cortex/target_node_id"][-1] = 999
    return "cortex_cortex_edges.h5: population 'cortex_to_cortex'.target_node_id: node ids must be < 23"


BREAKS = [break_node_ids, break_model, break_weight_function, break_file, break_column_type,
          break_missing_weight]


@pytest.mark.parametrize("damage", BREAKS, ids=lambda f: f.__name__[6:])
def test_a_network_bigbrain_cannot_run_is_refused_naming_file_population_and_field(
        circuit, tmp_path, damage):
    root = tmp_path / "bad"
    shutil.copytree(circuit.parent, root)
    expected = damage(root)
    net = bb.Network(dt=sn.DT, seed=1)
    with pytest.raises(bb.ModelError) as err:
        sonata.load(root / circuit.name, net)
    assert expected in str(err.value)
    assert net._simulation is None


def test_per_node_parameters_may_differ_within_a_node_type(circuit, tmp_path):
    """A per-node column (tau_m, 23 values) becomes one value per neuron, in node order."""
    root = tmp_path / "per_node"
    shutil.copytree(circuit.parent, root)
    tau_m = np.linspace(5.0, 20.0, 23)
    with h5py.File(root / "network" / "cortex_nodes.h5", "a") as f:
        f["nodes/cortex/0"].create_dataset("tau_m", data=tau_m)
        assert not f["nodes/cortex/node_group_id"][...].any()
        index = f["nodes/cortex/node_group_index"][...]
    net = bb.Network(dt=sn.DT, seed=1)
    sonata.load(root / circuit.name, net)
    cortex = [p for p in net.node_populations() if p.name.split("@")[0] == "cortex"]
    got = np.concatenate([net.get(p, "tau_m") for p in cortex])
    np.testing.assert_array_equal(got, tau_m[index])
    net.run(10.0)
    np.testing.assert_array_equal(np.concatenate([net.get(p, "tau_m") for p in cortex]), tau_m[index])


@pytest.mark.mpi
def test_refusal_is_identical_on_every_rank(circuit, tmp_path):
    root = tmp_path / "bad"
    shutil.copytree(circuit.parent, root)
    expected = break_column_type(root)
    run_mpi(SCRIPTS / "sonata_run.py", 2, root / circuit.name, tmp_path / "err.npz", timeout=120)
    errors = np.load(tmp_path / "err.npz")["error"]
    assert len(errors) == 2 and errors[0] == errors[1] and expected in errors[0]


def test_dt_of_the_network_must_match_the_run_block(circuit):
    with pytest.raises(bb.ModelError, match=r"simulation_config.json: run.dt: is 0.1 ms"):
        sonata.load(circuit, bb.Network(dt=0.05))


def test_spike_inputs_off_the_grid_are_refused(circuit, tmp_path):
    root = tmp_path / "offgrid"
    shutil.copytree(circuit.parent, root)
    sn.write_spikes(root / "inputs" / "ext_spikes.h5", "ext", [0, 1], [5.0, 7.25])
    with pytest.raises(bb.ModelError, match=r"ext_spikes.h5: /spikes/ext.timestamps: spike times"):
        sonata.network(root / circuit.name)


@pytest.mark.parametrize("values", ["per_edge", "per_type"])
def test_resumed_sonata_run_equals_the_uninterrupted_one(circuit, tmp_path, values):
    config = circuit if values == "per_edge" else per_type_values(circuit, tmp_path)
    expected = run_bigbrain(config)
    net = bb.Network(dt=sn.DT, seed=1, archive=bb.Archive(tmp_path / "run.zarr"))
    sonata.load(config, net)
    net.run(TSTOP / 2)
    resumed = bb.resume(tmp_path / "run.zarr")  # rebuilt from the archive's description
    result = resumed.run(TSTOP / 2)
    for name, (t, i) in expected.items():
        np.testing.assert_array_equal(result.spikes(name)[0], t)
        np.testing.assert_array_equal(result.spikes(name)[1], i)


def test_bigbrain_run_takes_a_simulation_config(circuit, tmp_path):
    import subprocess
    import sys

    from bigbrain.archive import ArchiveResult

    out = tmp_path / "cli.zarr"  # run outside the checkout: its bigbrain/ would shadow the package
    proc = subprocess.run([sys.executable, "-m", "bigbrain.cli", "run", str(circuit), "--out", str(out),
                           "--progress-every", "0"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{out}: {TSTOP} ms on 1 rank(s)" in proc.stdout
    reader = ArchiveResult(out)
    for name, (t, i) in run_bigbrain(circuit).items():
        np.testing.assert_array_equal(reader.spikes(name)[0], t)
        np.testing.assert_array_equal(reader.spikes(name)[1], i)
    bad = subprocess.run([sys.executable, "-m", "bigbrain.cli", "run", str(circuit), "--set", "a=1"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "--set: SONATA configs take no --set values" in bad.stderr


def test_nodes_beyond_the_target_index_receive_no_edges(tmp_path):
    """The BMTK's index lists target nodes up to the last one with edges."""
    from bmtk.builder import NetworkBuilder

    models = tmp_path / "models"
    models.mkdir()
    (models / "exp.json").write_text(json.dumps(sn.EXC | {"I_e": 0.0}))
    cells = NetworkBuilder("cells")
    cells.add_nodes(N=3, model_type="point_neuron", model_template="nest:iaf_psc_exp",
                    dynamics_params="exp.json", fed=True)
    cells.add_nodes(N=3, model_type="point_neuron", model_template="nest:iaf_psc_exp",
                    dynamics_params="exp.json", fed=False)
    cells.build()
    cells.save(output_dir=str(tmp_path))
    ext = NetworkBuilder("drive")
    ext.add_nodes(N=1, model_type="virtual")
    ext.add_edges(target=cells.nodes(fed=True), connection_rule=1, syn_weight=6000.0, delay=1.0,
                  model_template="static_synapse")
    ext.build()
    ext.save(output_dir=str(tmp_path))
    with h5py.File(tmp_path / "drive_cells_edges.h5") as f:
        assert f["edges/drive_to_cells/indices/target_to_source/node_id_to_range"].shape[0] == 3
    sn.write_spikes(tmp_path / "in.h5", "drive", [0, 0], [5.0, 20.0])
    files = lambda p: {"nodes_file": str(tmp_path / f"{p}_nodes.h5"),  # noqa: E731
                       "node_types_file": str(tmp_path / f"{p}_node_types.csv")}
    (tmp_path / "config.json").write_text(json.dumps({
        "run": {"tstop": 40.0, "dt": sn.DT}, "components": {"point_neuron_models_dir": str(models)},
        "networks": {"nodes": [files("cells"), files("drive")],
                     "edges": [{"edges_file": str(tmp_path / "drive_cells_edges.h5"),
                                "edge_types_file": str(tmp_path / "drive_cells_edge_types.csv")}]},
        "inputs": {"drive": {"input_type": "spikes", "module": "sonata", "node_set": "drive",
                             "input_file": str(tmp_path / "in.h5")}}}))
    for partition in ("round_robin", "blocks"):
        spikes = run_bigbrain(tmp_path / "config.json", partition=partition)
        assert sorted(set(spikes["cells@0"][1].tolist())) == [0, 1, 2]
        assert spikes["cells@3"][0].size == 0
