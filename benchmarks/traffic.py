"""Spike traffic of the microcircuit for each exchange strategy and partition, 1 to 16 ranks,
and its extrapolation to 1,024 ranks.

    python benchmarks/traffic.py                                  # scale 0.026, 100 ms, 1 2 4 9 16 ranks
    python benchmarks/traffic.py --scale 0.05 --t 200 --ranks 1 4 16

Network: Potjans & Diesmann microcircuit (bigbrain.models.microcircuit) at ``--scale`` of the
neurons and ``--K-scale`` of the in-degrees; dt 0.1 ms. One ``mpiexec -n K`` job per rank
count runs every (partition, strategy) in sequence (the graph partition gets the
full-scale rates). Per run, per rank and per second of biological time: packets and bytes
delivered to other ranks (AER words of 8 bytes; for ``mesh`` also the words forwarded), MPI
messages per rank per interval, exchange time per interval (wall clock, max over ranks;
on an oversubscribed machine it is mostly waiting for the slowest rank).

Extrapolation to 1,024 ranks (same network, round-robin-like spreading): from the measured
rank-pair matrix at the largest rank count, the mean number of destination ranks per spike
d(P) is fitted to P·(1 − (1 − 1/P)^K), K the effective number of targets per neuron (when
every spike already reaches every rank, K is the model's synapses per neuron); d(1024)
then gives packets per rank, and the strategies' message counts follow from their
patterns (alltoall 1023 count messages per interval, sparse one per peer, mesh 31 + 31).
``--load results.json`` prints the tables of a saved run (``--json``) again.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STRATEGIES = ("alltoall", "sparse", "mesh")
PARTITIONS = ("round_robin", "population", "graph")


def worker(scale, K_scale, t):
    """Inside each rank: every partition × strategy; rank 0 prints one JSON line per run."""
    import bigbrain as bb
    from bigbrain.models.microcircuit import POPULATIONS, RATES, microcircuit

    rates = dict(zip(POPULATIONS, RATES.tolist()))
    for partition in PARTITIONS:
        for strategy in STRATEGIES:
            spec = {"name": "graph", "rates": rates} if partition == "graph" else partition
            net = bb.Network(dt=0.1, seed=1, partition=spec, exchange=strategy)
            microcircuit(net, scale=scale, K_scale=K_scale, record=False)
            sim = net.build()
            exchange_s = _timed(sim.exchange)
            net.comm.mpi.Barrier()
            t0 = time.perf_counter()
            net.run(t)
            wall = time.perf_counter() - t0
            tr = sim.exchange.traffic
            rows = net.comm.allgather((tr.pairs, tr.messages, tr.words_sent, exchange_s[0], sim.n_spikes))
            if net.rank == 0:
                print(json.dumps({
                    "ranks": net.n_ranks, "partition": partition, "strategy": strategy, "t_ms": t,
                    "intervals": int(round(t / 0.1)) // sim.interval, "neurons": net.n_nodes,
                    "pairs": np.array([r[0] for r in rows]).T.tolist(),   # [origin, destination]
                    "messages": [r[1] for r in rows], "words_sent": [r[2] for r in rows],
                    "exchange_s": max(r[3] for r in rows), "spikes": sum(r[4] for r in rows),
                    "wall_s": wall}), flush=True)


def _timed(exchange):
    """Accumulate the wall time of ``exchange.exchange`` calls in the returned list."""
    total, call = [0.0], exchange.exchange

    def timed(*args):
        t0 = time.perf_counter()
        out = call(*args)
        total[0] += time.perf_counter() - t0
        return out

    exchange.exchange = timed
    return total


def run_jobs(args):
    results = []
    for n in args.ranks:
        cmd = ["mpiexec", "-n", str(n), sys.executable, __file__, "--worker", "--scale", str(args.scale),
               "--K-scale", str(args.K_scale), "--t", str(args.t)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return results


def table(results):
    print(f"{'ranks':>5} {'partition':>11} {'strategy':>8} {'pkt/rank/s':>11} {'kB/rank/s':>10} "
          f"{'words/rank/s':>12} {'msg/rank/int':>12} {'exch ms/int':>11} {'mean hops':>9}")
    for r in results:
        P, seconds = r["ranks"], r["t_ms"] / 1000
        pairs = np.array(r["pairs"])
        packets = (pairs.sum() - np.trace(pairs)) / P / seconds
        hops = _mean_hops(pairs)
        print(f"{P:>5} {r['partition']:>11} {r['strategy']:>8} {packets:>11.0f} {packets * 8 / 1e3:>10.2f} "
              f"{np.mean(r['words_sent']) / seconds:>12.0f} {np.mean(r['messages']) / r['intervals']:>12.2f} "
              f"{1e3 * r['exchange_s'] / r['intervals']:>11.3f} {hops:>9.2f}")


def _mean_hops(pairs):
    """Mean Manhattan distance of the deliveries to other ranks on the rank mesh."""
    from bigbrain.partition.mesh import Mesh

    P = len(pairs)
    mesh = Mesh(P)
    ranks = np.arange(P)
    hops = mesh.hops(ranks[:, None], ranks[None, :])
    off = pairs.sum() - np.trace(pairs)
    return float((pairs * hops).sum() / off) if off else 0.0


def _targets_per_neuron(scale, K_scale):
    """Expected synapses per neuron from neuron sources in the model description."""
    import bigbrain as bb
    from bigbrain.models.microcircuit import microcircuit

    net = bb.Network()
    microcircuit(net, scale=scale, K_scale=K_scale, record=False)
    return sum(c.rule.expected_per_target * len(c.post) for c in net.connections if not c.is_poisson) / net.n_nodes


def extrapolate(results, K_model, target=1024):
    """Per-rank figures at ``target`` ranks from the round-robin run at the most ranks."""
    from bigbrain.partition.mesh import Mesh

    runs = [r for r in results if r["partition"] == "round_robin" and r["strategy"] == "alltoall"]
    r = max(runs, key=lambda r: r["ranks"])
    P, pairs, seconds = r["ranks"], np.array(r["pairs"]), r["t_ms"] / 1000
    if P < 2 or r["spikes"] == 0:
        return
    d = pairs.sum() / r["spikes"]                        # destination ranks per spike (incl. own)
    K = np.log(1 - d / P) / np.log(1 - 1 / P) if d < P - 1e-9 else K_model
    d_target = target * -np.expm1(K * np.log1p(-1 / target))
    spikes_per_s = r["spikes"] / seconds
    packets = spikes_per_s * d_target / target          # per rank per second (same network)
    mesh = Mesh(target)
    with np.errstate(divide="ignore"):   # every rank a destination: log(0)
        peers = (target - 1) * -np.expm1(np.log1p(-d_target / target) * r["neurons"] / target)
    print(f"\nextrapolated to {target} ranks from {P} (round-robin, effective targets per neuron "
          f"K = {K:.0f}, destination ranks per spike {d:.2f} -> {d_target:.1f}):")
    print(f"  packets per rank per second {packets:.0f} ({packets * 8 / 1e3:.1f} kB/s); "
          f"mean unicast hops on a {mesh.rows} x {mesh.cols} mesh {2 * (mesh.rows ** 2 - 1) / (3 * mesh.rows):.1f}")
    print(f"  count messages per rank per interval: alltoall {target - 1}, sparse ≈ {peers:.0f} peers, "
          f"mesh {mesh.rows - 1 + mesh.cols - 1}; data messages at most as many")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.026)
    parser.add_argument("--K-scale", type=float, default=0.1)
    parser.add_argument("--t", type=float, default=100.0, help="biological time per run (ms)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 9, 16])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also save the raw results here")
    parser.add_argument("--load", help="print the tables of results saved with --json")
    args = parser.parse_args()
    if args.worker:
        worker(args.scale, args.K_scale, args.t)
        return
    results = json.loads(Path(args.load).read_text()) if args.load else run_jobs(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    table(results)
    extrapolate(results, _targets_per_neuron(args.scale, args.K_scale))


if __name__ == "__main__":
    main()
