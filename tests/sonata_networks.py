"""SONATA networks built with the Brain Modeling Toolkit's NetworkBuilder (bmtk), and the
NEST side of the SONATA tests: NEST driven from the same SONATA files, read with h5py and
csv here (not with bigbrain.sonata). Holds no tests."""
import csv
import json
from pathlib import Path

import h5py
import numpy as np

DT = 0.1
EXC = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -65.0, "V_th": -50.0,
       "V_reset": -65.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "I_e": 300.0, "V_m": -60.0}
INH = {"C_m": 200.0, "tau_m": 8.0, "t_ref": 1.0, "E_L": -70.0, "V_th": -55.0,
       "V_reset": -70.0, "tau_syn_ex": 1.0, "tau_syn_in": 3.0, "I_e": 320.0}
DELTA = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -65.0, "V_th": -50.0,
         "V_reset": -65.0, "I_e": 180.0, "V_m": -55.0}


def build(root, n_exc=12, n_inh=6, n_delta=5, n_ext=4, seed=3, tstop=200.0):
    """Write a SONATA network (bmtk) with configs under ``root``; return the simulation
    config path. Three node types (iaf_psc_exp twice, iaf_psc_delta), per-type and
    per-edge weights, several delays, nsyns > 1, virtual inputs with spike trains."""
    from bmtk.builder import NetworkBuilder

    root = Path(root)
    rng = np.random.default_rng(seed)
    models = root / "components" / "point_neuron_models"
    models.mkdir(parents=True, exist_ok=True)
    for name, params in (("exc.json", EXC), ("inh.json", INH), ("delta.json", DELTA)):
        (models / name).write_text(json.dumps(params))
    syn = root / "components" / "synaptic_models"
    syn.mkdir(parents=True, exist_ok=True)
    (syn / "static.json").write_text("{}")

    net = NetworkBuilder("cortex")
    net.add_nodes(N=n_exc, model_type="point_neuron", model_template="nest:iaf_psc_exp",
                  dynamics_params="exc.json", ei="e")
    net.add_nodes(N=n_inh, model_type="point_neuron", model_template="nest:iaf_psc_exp",
                  dynamics_params="inh.json", ei="i")
    net.add_nodes(N=n_delta, model_type="point_neuron", model_template="nest:iaf_psc_delta",
                  dynamics_params="delta.json", ei="d")

    def rule(p, multapses):
        """A bmtk connection rule: an edge with probability p; with ``multapses`` nsyns is
        1 or (30 %) 2."""
        def connect(src, trg):
            return int(rng.random() < p) * (1 + int(multapses and rng.random() < 0.3))
        return connect

    static = dict(dynamics_params="static.json", model_template="static_synapse")
    net.add_edges(source={"ei": "e"}, target={"ei": ["e", "i"]}, connection_rule=rule(0.4, 1),
                  syn_weight=60.0, delay=1.5, **static)
    cm = net.add_edges(source={"ei": "i"}, target={"ei": ["e", "i"]},
                       connection_rule=rule(0.5, 0), delay=0.8, **static)
    cm.add_properties("syn_weight", rule=lambda s, t: -40.0 - (s.node_id * 7 + t.node_id) % 11,
                      dtypes=float)
    net.add_edges(source={"ei": "e"}, target={"ei": "d"}, connection_rule=rule(0.5, 0),
                  syn_weight=1.2, delay=2.3, **static)
    cm = net.add_edges(source={"ei": "d"}, target={"ei": "e"}, connection_rule=rule(0.6, 0),
                       syn_weight=25.0, **static)
    cm.add_properties("delay", rule=lambda s, t: 0.5 + 0.1 * ((s.node_id + t.node_id) % 9),
                      dtypes=float)
    net.build()
    net.save(output_dir=str(root / "network"))

    ext = NetworkBuilder("ext")
    ext.add_nodes(N=n_ext, model_type="virtual")
    ext.add_edges(target=net.nodes(ei=["e", "i"]), connection_rule=rule(0.7, 0),
                  syn_weight=180.0, delay=1.0, **static)
    ext.add_edges(target=net.nodes(ei="d"), connection_rule=rule(0.7, 0),
                  syn_weight=3.0, delay=1.2, **static)
    ext.build()
    ext.save(output_dir=str(root / "network"))

    ids, times = [], []
    for i in range(n_ext):
        t = np.unique(np.round(rng.uniform(1.0, tstop - 1.0, 25), 1))
        ids.append(np.full(t.size, i)), times.append(t)
    write_spikes(root / "inputs" / "ext_spikes.h5", "ext", np.concatenate(ids), np.concatenate(times))

    circuit = {"manifest": {"$BASE_DIR": "${configdir}", "$NETWORK_DIR": "$BASE_DIR/network",
                            "$COMPONENTS_DIR": "$BASE_DIR/components"},
               "components": {"point_neuron_models_dir": "$COMPONENTS_DIR/point_neuron_models",
                              "synaptic_models_dir": "$COMPONENTS_DIR/synaptic_models"},
               "networks": {"nodes": [{"nodes_file": f"$NETWORK_DIR/{p}_nodes.h5",
                                       "node_types_file": f"$NETWORK_DIR/{p}_node_types.csv"}
                                      for p in ("cortex", "ext")],
                            "edges": [{"edges_file": f"$NETWORK_DIR/{p}_cortex_edges.h5",
                                       "edge_types_file": f"$NETWORK_DIR/{p}_cortex_edge_types.csv"}
                                      for p in ("cortex", "ext")]}}
    (root / "circuit_config.json").write_text(json.dumps(circuit, indent=2))
    simulation = {"manifest": {"$BASE_DIR": "${configdir}"},
                  "network": "$BASE_DIR/circuit_config.json",
                  "run": {"tstop": tstop, "dt": DT},
                  "inputs": {"ext_spikes": {"input_type": "spikes", "module": "sonata",
                                            "input_file": "$BASE_DIR/inputs/ext_spikes.h5",
                                            "node_set": "ext"}},
                  "output": {"output_dir": "$BASE_DIR/output"}}
    (root / "simulation_config.json").write_text(json.dumps(simulation, indent=2))
    return root / "simulation_config.json"


def write_spikes(path, population, node_ids, timestamps):
    """A SONATA spike file (/spikes/<population>/node_ids, timestamps in ms)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        grp = f.create_group(f"spikes/{population}")
        grp.attrs["sorting"] = "by_time"
        order = np.lexsort((node_ids, timestamps))
        grp.create_dataset("node_ids", data=np.asarray(node_ids, np.uint64)[order])
        ts = grp.create_dataset("timestamps", data=np.asarray(timestamps, np.float64)[order])
        ts.attrs["units"] = "ms"


def _table(path, key):
    with open(path, newline="") as f:
        return {int(r[key]): r for r in csv.DictReader(f, delimiter=" ")}


def _maybe(value):
    return None if value in (None, "", "NULL") else float(value)


def nest_description(root, tstop):
    """tests/nest_reference.py's neutral description of the SONATA network under ``root``:
    one NEST population per node type (in node-id order), edges as explicit arrays with
    weight = syn_weight · nsyns (group column or type value) and delay."""
    root = Path(root)
    net_dir, models = root / "network", root / "components" / "point_neuron_models"
    pops, where = [], {}  # where[(pop, node_id)] = (NEST population name, local id)
    for p in ("cortex", "ext"):
        types = _table(net_dir / f"{p}_node_types.csv", "node_type_id")
        with h5py.File(net_dir / f"{p}_nodes.h5", "r") as f:
            type_ids = f[f"nodes/{p}/node_type_id"][...]
        for t in np.unique(type_ids):
            members = np.flatnonzero(type_ids == t)
            name = f"{p}_{t}"
            for k, node in enumerate(members):
                where[(p, int(node))] = (name, k)
            row = types[int(t)]
            if row["model_type"] == "virtual":
                with h5py.File(root / "inputs" / "ext_spikes.h5", "r") as f:
                    ids, ts = f[f"spikes/{p}/node_ids"][...], f[f"spikes/{p}/timestamps"][...]
                pops.append({"name": name, "model": "spike_generator", "n": members.size,
                             "spike_times": [np.sort(ts[ids == n]) for n in members]})
            else:
                params = json.loads((models / row["dynamics_params"]).read_text())
                v_m = params.pop("V_m", None)
                pops.append({"name": name, "model": row["model_template"].split(":")[1],
                             "n": members.size, "params": params,
                             **({} if v_m is None else {"V_m": v_m})})
    conns = {}
    for p in ("cortex", "ext"):
        types = _table(net_dir / f"{p}_cortex_edge_types.csv", "edge_type_id")
        with h5py.File(net_dir / f"{p}_cortex_edges.h5", "r") as f:
            g = f[f"edges/{p}_to_cortex"]
            src, trg = g["source_node_id"][...], g["target_node_id"][...]
            etype, gid, gidx = g["edge_type_id"][...], g["edge_group_id"][...], g["edge_group_index"][...]
            for e in range(src.size):
                row, grp = types[int(etype[e])], g[str(gid[e])]
                col = lambda k, default: grp[k][gidx[e]] if k in grp else default  # noqa: E731
                w = col("syn_weight", _maybe(row.get("syn_weight"))) * col("nsyns", 1)
                d = col("delay", _maybe(row.get("delay")))
                (a, i), (b, j) = where[(p, int(src[e]))], where[("cortex", int(trg[e]))]
                c = conns.setdefault((a, b), {"pre": a, "post": b, "sources": [], "targets": [],
                                              "weights": [], "delays": [], "synapse": "static_synapse"})
                c["sources"].append(i), c["targets"].append(j)
                c["weights"].append(float(w)), c["delays"].append(float(d))
    neurons = [p["name"] for p in pops if p["model"] != "spike_generator"]
    return {"dt": DT, "t_sim": tstop, "populations": pops, "connections": list(conns.values()),
            "record": neurons}, where
