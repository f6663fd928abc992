"""GPU measurements on one CUDA device: the CuPy path against NumPy, speed and memory.

    python benchmarks/gpu.py                       # all steps, about 10 minutes on one H200
    python benchmarks/gpu.py --only check          # only the bit-identity checks
    python benchmarks/gpu.py --json results.json   # default: $OUT/gpu_benchmark.json

Steps, each in a fresh process (one rank, one GPU; the CPU runs under ``mpiexec`` with one
rank per core), in this order so that a step that runs out of time loses only itself:

1. ``check``: Brunel N = 5,000 (200 ms) and the same network with STDP on E→E: spikes and
   final weights of backend ``cupy`` identical to ``numpy``.
2. ``brunel``: Brunel model A, CE = 1000, CI = 250 (NEST's ``brunel_delta_nest`` scaling),
   N = 125,000 on the GPU, then on the CPU for comparison.
3. ``microcircuit``: Potjans & Diesmann (2014) at full scale (77,169 neurons, ≈0.3·10⁹
   synapses) on the GPU and on the CPU (if ``bigbrain.models.microcircuit`` exists).
4. ``brunel_1M``: Brunel N = 10⁶ on the GPU (≈1.25·10⁹ synapses).

For each run: build time, simulation time, the real-time factor RTF = wall time /
biological time (after a 20 ms warm-up that compiles the kernels), spike count, synapses,
bytes of synapse storage per synapse (the projections' arrays) and, on the GPU, the
device memory held after the build per synapse. Reference points: NEST GPU runs the
microcircuit at RTF ≈ 0.4 on an RTX 4090, GeNN at ≈ 2 on a V100. Results are written
after every step.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
WARMUP_MS = 20.0
STEPS = [  # (step, name, backend, model, args, biological ms, ranks or None: one per core)
    ("check", "brunel_5000", "check", "brunel", {"N": 5000}, 200.0, 1),
    ("check", "brunel_5000_stdp", "check", "brunel_stdp", {"N": 5000}, 200.0, 1),
    ("brunel", "brunel_125k_gpu", "cupy", "brunel", {"N": 125_000}, 1000.0, 1),
    ("brunel", "brunel_125k_cpu", "numpy", "brunel", {"N": 125_000}, 200.0, None),
    ("microcircuit", "microcircuit_gpu", "cupy", "microcircuit", {}, 1000.0, 1),
    ("microcircuit", "microcircuit_cpu", "numpy", "microcircuit", {}, 100.0, None),
    ("brunel_1M", "brunel_1M_gpu", "cupy", "brunel", {"N": 1_000_000}, 200.0, 1),
]


def build(model, backend, args):
    """A described network (not built) of ``model`` on ``backend``."""
    import bigbrain as bb
    from bigbrain.models import brunel
    net = bb.Network(dt=0.1, seed=1, backend=backend)
    if model.startswith("brunel"):
        stdp = (bb.STDP(lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=0.2)
                if model == "brunel_stdp" else None)
        exc, inh = brunel(net, CE=min(1000, args["N"] // 10), CI=min(250, args["N"] // 40),
                          synapse=stdp, **args)
        net.record(exc)
        net.record(inh)
    else:
        from bigbrain.models.microcircuit import microcircuit
        microcircuit(net, scale=1.0, record=True)
    return net


def spikes_and_weights(net, t):
    """All recorded spikes (and plastic weights) of a run of ``t`` ms."""
    res = net.run(t)
    sim = net.build()
    out = {name: res.spikes(name) for name in (r.population.name for r in sim.spike_recorders)}
    for conn in net.connections:
        if conn.synapse is not None:
            out[f"w{conn.index}"] = res.weights(conn)[2]
    return out


def check(model, args, t):
    """Run on NumPy and on CuPy; are the spikes (and weights) identical?"""
    import numpy as np
    ref, gpu = (spikes_and_weights(build(model, b, args), t) for b in ("numpy", "cupy"))
    same = {k: all(np.array_equal(x, y) for x, y in zip(_parts(ref[k]), _parts(gpu[k])))
            for k in ref}
    n_spikes = sum(len(v[0]) for v in ref.values() if isinstance(v, tuple))
    return {"identical": all(same.values()), "per_record": same, "n_spikes": n_spikes}


def _parts(record):
    return record if isinstance(record, tuple) else (record,)


def timed(model, backend, args, t):
    """Build, warm up, run ``t`` ms; timings, RTF and memory of this rank's part."""
    net = build(model, backend, args)
    comm = net.comm.mpi
    t0 = time.perf_counter()
    sim = net.build()
    comm.Barrier()
    t1 = time.perf_counter()
    pool = _device_bytes(sim)
    net.run(WARMUP_MS)
    _synchronize(sim)
    comm.Barrier()
    t2 = time.perf_counter()
    spikes0 = sim.n_spikes
    net.run(t)
    _synchronize(sim)
    comm.Barrier()
    t3 = time.perf_counter()
    stats = comm.allgather((sim.n_spikes - spikes0, sim.n_synapses(), _synapse_bytes(sim), pool))
    n_syn = sum(s[1] for s in stats)
    from bigbrain.devices import cuda_aware_mpi
    return {"backend": sim.backend.name, "device": sim.backend.label, "ranks": comm.size,
            "cuda_aware_mpi": cuda_aware_mpi(),
            "build_s": t1 - t0, "sim_s": t3 - t2, "bio_ms": t, "rtf": (t3 - t2) / (t / 1000.0),
            "n_spikes": sum(s[0] for s in stats), "n_synapses": n_syn,
            "synapse_bytes_per_synapse": sum(s[2] for s in stats) / max(n_syn, 1),
            "device_bytes_after_build": sum(s[3] for s in stats),
            "device_bytes_per_synapse": sum(s[3] for s in stats) / max(n_syn, 1)}


def _synapse_bytes(sim):
    return sum(p.nbytes() for p in sim.static + sim.plasticity.projections)


def _device_bytes(sim):
    if sim.backend.device is None:
        return 0
    import cupy
    return cupy.get_default_memory_pool().used_bytes()


def _synchronize(sim):
    if sim.backend.device is not None:
        import cupy
        cupy.cuda.Device().synchronize()


def worker(spec):
    """One step in this process; rank 0 prints its result as the last JSON line."""
    from mpi4py import MPI
    step, name, backend, model, args, t, _ = spec
    result = check(model, args, t) if backend == "check" else timed(model, backend, args, t)
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps({"step": step, "name": name, "model": model, **args, **result}))


def run_step(spec, timeout):
    ranks = spec[-1] or os.cpu_count()
    cmd = [sys.executable, str(HERE), "--worker", json.dumps(spec)]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks)] + cmd
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"step": spec[0], "name": spec[1], "error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"step": spec[0], "name": spec[1], "error": proc.stderr[-3000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def microcircuit_available():
    try:
        import bigbrain.models.microcircuit  # noqa: F401
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", default=None, help="steps to run (default: all)")
    parser.add_argument("--json", default=str(Path(os.environ.get("OUT", ".")) /
                                              "gpu_benchmark.json"))
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per run")
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    results = []
    for spec in STEPS:
        if args.only and spec[0] not in args.only:
            continue
        if spec[3] == "microcircuit" and not microcircuit_available():
            results.append({"step": spec[0], "name": spec[1],
                            "error": "no bigbrain.models.microcircuit"})
            continue
        started = time.perf_counter()
        results.append(run_step(spec, args.timeout))
        print(f"{spec[1]}: {json.dumps(results[-1])} ({time.perf_counter() - started:.0f} s)",
              flush=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"results: {args.json}")
    return 0 if all("error" not in r and r.get("identical", True) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
