"""Reading a large SONATA network against building the same network from the Python API.

    python benchmarks/sonata_scale.py --nodes 1000000 --edges 100000000 --ranks 1 2
    python benchmarks/sonata_scale.py --nodes 100000 --edges 10000000 --ranks 1 2   # 2 cores

The script first writes (h5py, not stored in the repository; kept in ``--dir`` and reused
when present) a SONATA network like Brunel's model A: one node population of N
``nest:iaf_psc_delta`` neurons in two node types (80 % excitatory, 20 % inhibitory), one
edge population with K = edges / N edges onto every neuron (0.8 K from excitatory
sources, 0.2 K from inhibitory ones, drawn uniformly), sorted by target, with the index
``indices/target_to_source``, weight and delay in the two edge types' table (0.1 mV /
-0.5 mV, 1.5 ms). The API network has the same populations and ``fixed_indegree``
connections with the same in-degrees, weights and delays (other random sources).

Each configuration runs in its own ``mpiexec`` job; printed per configuration: time from
the first description call to the end of the build (s; for SONATA this includes reading
the node files, checking the edge files and reading every rank's edges), peak resident
memory of the busiest rank (MiB, ru_maxrss), synapses built; and the ratios SONATA / API
(goal: build time at most 2x, memory within 1.5x).
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EXC_FRACTION = 0.8
PARAMS = {"tau_m": 20.0, "V_th": 20.0, "V_reset": 10.0, "E_L": 0.0, "C_m": 1.0, "t_ref": 2.0}
WEIGHTS = {"exc": 0.1, "inh": -0.5}
DELAY = 1.5
TARGETS_PER_BLOCK = 1 << 14


def sizes(n, edges):
    n_exc = int(round(EXC_FRACTION * n))
    k = edges // n
    k_exc = int(round(EXC_FRACTION * k))
    return n_exc, k_exc, k - k_exc


def generate(folder, n, edges, seed=1):
    """Write the SONATA network (nodes, edges with target index, type tables, configs)."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "circuit_config.json"
    if config.exists():
        return config
    n_exc, k_exc, k_inh = sizes(n, edges)
    k = k_exc + k_inh
    (folder / "exc.json").write_text(json.dumps(PARAMS))
    (folder / "inh.json").write_text(json.dumps(PARAMS))
    (folder / "node_types.csv").write_text(
        "node_type_id model_type model_template dynamics_params\n"
        "1 point_neuron nest:iaf_psc_delta exc.json\n2 point_neuron nest:iaf_psc_delta inh.json\n")
    (folder / "edge_types.csv").write_text(
        "edge_type_id model_template syn_weight delay\n"
        f"1 static_synapse {WEIGHTS['exc']} {DELAY}\n2 static_synapse {WEIGHTS['inh']} {DELAY}\n")
    with h5py.File(folder / "nodes.h5", "w") as f:
        grp = f.create_group("nodes/brunel")
        grp.create_group("0")
        grp["node_type_id"] = np.r_[np.ones(n_exc, np.uint32), np.full(n - n_exc, 2, np.uint32)]
        grp["node_group_id"] = np.zeros(n, np.uint32)
        grp["node_group_index"] = np.arange(n, dtype=np.uint32)
        grp["node_id"] = np.arange(n, dtype=np.uint32)
    rng = np.random.default_rng(seed)
    total = n * k
    with h5py.File(folder / "edges.h5", "w") as f:
        grp = f.create_group("edges/brunel_to_brunel")
        grp.create_group("0")
        src = grp.create_dataset("source_node_id", (total,), np.uint32)  # contiguous, as bmtk's
        trg = grp.create_dataset("target_node_id", (total,), np.uint32)
        typ = grp.create_dataset("edge_type_id", (total,), np.uint32)
        src.attrs["node_population"] = trg.attrs["node_population"] = "brunel"
        grp.create_dataset("edge_group_id", (total,), np.uint16, fillvalue=0)
        grp.create_dataset("edge_group_index", data=np.arange(total, dtype=np.uint32))
        for lo in range(0, n, TARGETS_PER_BLOCK):
            hi = min(n, lo + TARGETS_PER_BLOCK)
            m = hi - lo
            s = np.empty((m, k), np.uint32)
            s[:, :k_exc] = rng.integers(0, n_exc, (m, k_exc))
            s[:, k_exc:] = rng.integers(n_exc, n, (m, k_inh))
            t = np.repeat(np.arange(lo, hi, dtype=np.uint32), k)
            e = np.tile(np.r_[np.ones(k_exc, np.uint32), np.full(k_inh, 2, np.uint32)], m)
            src[lo * k:hi * k], trg[lo * k:hi * k], typ[lo * k:hi * k] = s.ravel(), t, e
        index = grp.create_group("indices/target_to_source")
        index["node_id_to_range"] = np.c_[np.arange(n), np.arange(1, n + 1)].astype(np.uint64)
        index["range_to_edge_id"] = np.c_[np.arange(n) * k, np.arange(1, n + 1) * k].astype(np.uint64)
    config.write_text(json.dumps({
        "components": {"point_neuron_models_dir": str(folder)},
        "networks": {"nodes": [{"nodes_file": str(folder / "nodes.h5"),
                                "node_types_file": str(folder / "node_types.csv")}],
                     "edges": [{"edges_file": str(folder / "edges.h5"),
                                "edge_types_file": str(folder / "edge_types.csv")}]}}))
    return config


def worker(kind, config, n, edges, partition):
    """Run in each rank: describe and build; rank 0 prints one JSON line."""
    import bigbrain as bb

    net = bb.Network(dt=0.1, seed=1, partition=partition)
    net.comm.mpi.Barrier()
    t0 = time.perf_counter()
    if kind == "sonata":
        from bigbrain import sonata
        sonata.load(config, net, record=False)
    else:
        n_exc, k_exc, k_inh = sizes(n, edges)
        exc = net.population("E", n_exc, "iaf_psc_delta", **PARAMS)
        inh = net.population("I", n - n_exc, "iaf_psc_delta", **PARAMS)
        net.connect(exc, exc | inh, rule="fixed_indegree", indegree=k_exc,
                    weight=WEIGHTS["exc"], delay=DELAY)
        net.connect(inh, exc | inh, rule="fixed_indegree", indegree=k_inh,
                    weight=WEIGHTS["inh"], delay=DELAY)
    sim = net.build()
    net.comm.mpi.Barrier()
    build_s = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = net.comm.allgather((sim.n_synapses(), rss))
    if net.rank == 0:
        print(json.dumps({"build_s": build_s, "peak_rss_mb": max(s[1] for s in stats),
                          "n_synapses": sum(s[0] for s in stats)}))


def run(kind, config, n, edges, ranks, partition):
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", kind,
           "--config", str(config), "--nodes", str(n), "--edges", str(edges),
           "--partition", partition]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--edges", type=int, default=100_000_000)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--partition", default="round_robin", help="round_robin (reads about P "
                   "times its share per chunk of targets) or blocks (reads exactly its share)")
    p.add_argument("--dir", type=Path, default=None, help="where the SONATA files go "
                   "(default /tmp/bigbrain_sonata_N_E; reused when present)")
    p.add_argument("--worker", choices=("sonata", "api"), help=argparse.SUPPRESS)
    p.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a.worker, a.config, a.nodes, a.edges, a.partition)
    folder = a.dir or Path(f"/tmp/bigbrain_sonata_{a.nodes}_{a.edges}")
    t0 = time.perf_counter()
    config = generate(folder, a.nodes, a.edges)
    print(f"SONATA network in {folder} ({time.perf_counter() - t0:.1f} s to write or find): "
          f"{a.nodes} nodes, {a.nodes * (a.edges // a.nodes)} edges")
    print(f"{'ranks':>5} {'':>7} {'build s':>8} {'peak MiB/rank':>14} {'synapses':>12}")
    for ranks in a.ranks:
        got = {kind: run(kind, config, a.nodes, a.edges, ranks, a.partition) for kind in ("api", "sonata")}
        for kind, r in got.items():
            print(f"{ranks:>5} {kind:>7} {r['build_s']:>8.2f} {r['peak_rss_mb']:>14.0f} "
                  f"{r['n_synapses']:>12}")
        s, api = got["sonata"], got["api"]
        print(f"{ranks:>5} {'ratio':>7} {s['build_s'] / api['build_s']:>8.2f} "
              f"{s['peak_rss_mb'] / api['peak_rss_mb']:>14.2f}")


if __name__ == "__main__":
    main()
