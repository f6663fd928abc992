"""GPU measurements on one CUDA device: the CuPy path against NumPy, speed and memory.

    python benchmarks/gpu.py                       # all steps, about 10 minutes on one H200
    python benchmarks/gpu.py --only check          # only the bit-identity checks
    python benchmarks/gpu.py --json results.json   # default: $OUT/gpu_benchmark.json
    python benchmarks/gpu.py --only preflight microcircuit_check   # benchmarks/gpu_check.sh

``$BIGBRAIN_GPU_STANDIN=host``: the CUDA sources compiled for the CPU (tests/cuda_host.py)
stand in for the device, and ``$BIGBRAIN_GPU_CHECK_TINY=1`` shrinks the microcircuit, so
that benchmarks/gpu_check.sh is tested without a GPU.

Steps, each in a fresh process (one rank, one GPU; the CPU runs under ``mpiexec`` with one
rank per core), in this order so that a step that runs out of time loses only itself
(``preflight`` and ``microcircuit_check`` run only when named with ``--only``):

0. ``preflight``: CuPy, the driver and runtime versions, NVRTC, every kernel of
   ``kernels/cuda`` compiled. ``microcircuit_check``: the full-scale microcircuit on the
   GPU (real-time factor over 1 s), then on the CPU (one rank) for its first 100 ms:
   spikes identical.

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
TINY = os.environ.get("BIGBRAIN_GPU_CHECK_TINY") == "1"
STANDIN = os.environ.get("BIGBRAIN_GPU_STANDIN") == "host"
MICROCIRCUIT = ({"scale": 0.02}, 40.0, 20.0) if TINY else ({"scale": 1.0}, 1000.0, 100.0)
STEPS = [  # (step, name, backend, model, args, biological ms, ranks or None: one per core)
    ("preflight", "preflight", "preflight", None, {}, 0.0, 1),
    ("microcircuit_check", "microcircuit_check", "compare", "microcircuit", MICROCIRCUIT[0],
     MICROCIRCUIT[1], 1),
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
        microcircuit(net, scale=args.get("scale", 1.0), record=True)
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


def timed(model, backend, args, t, spikes=False):
    """Build, warm up, run ``t`` ms; timings, RTF and memory of this rank's part (and with
    ``spikes`` the recorded spikes of the first ``t`` ms, warm-up included, as "spikes")."""
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
    out = {"spikes": _spikes(net, sim)} if spikes else {}
    return {**out, "backend": sim.backend.name, "device": sim.backend.label, "ranks": comm.size,
            "cuda_aware_mpi": cuda_aware_mpi(),
            "build_s": t1 - t0, "sim_s": t3 - t2, "bio_ms": t, "rtf": (t3 - t2) / (t / 1000.0),
            "n_spikes": sum(s[0] for s in stats), "n_synapses": n_syn,
            "synapse_bytes_per_synapse": sum(s[2] for s in stats) / max(n_syn, 1),
            "device_bytes_after_build": sum(s[3] for s in stats),
            "device_bytes_per_synapse": sum(s[3] for s in stats) / max(n_syn, 1)}


def _spikes(net, sim):
    """{population: (times, ids)} of the run so far."""
    res = net.run(0.0)
    return {r.population.name: res.spikes(r.population.name) for r in sim.spike_recorders}


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


def preflight():
    """CuPy, driver, NVRTC and every kernel compiled (on the stand-in: the host build and
    its entry points)."""
    from bigbrain.kernels.gpu import kernel_names
    if STANDIN:
        import cuda_host
        import tempfile
        lib = cuda_host.build(tempfile.mkdtemp())
        missing = [k for names in kernel_names().values() for k in names
                   if not hasattr(lib, cuda_host.host_name(k))]
        return {"device": "CUDA on the host (stand-in)", "kernels": kernel_names(),
                "missing": missing, "ok": not missing}
    import cupy

    from bigbrain import devices
    from bigbrain.kernels.gpu import module
    count, why = devices.cuda_devices()
    out = {"cupy": cupy.__version__, "devices": count, "why_none": why,
           "driver": cupy.cuda.runtime.driverGetVersion(),
           "runtime": cupy.cuda.runtime.runtimeGetVersion()}
    if count:
        out["device"] = devices.device_name(0)
        out["nvrtc_problem"] = devices.compile_problem(0)
        out["nvrtc"] = cupy.cuda.nvrtc.getVersion() if out["nvrtc_problem"] is None else None
        failed = {}
        for source, names in kernel_names().items():
            for kernel in names:
                try:
                    module(source).get_function(kernel)
                except Exception as exc:  # noqa: BLE001 - reported, the check goes on
                    failed[kernel] = f"{type(exc).__name__}: {exc}"[:500]
        out.update(kernels=kernel_names(), failed=failed)
    out["ok"] = bool(count) and out.get("nvrtc_problem") is None and not out.get("failed")
    return out


def compare(model, args, t, t_cpu, partial):
    """``model`` timed on the GPU over ``t`` ms, then on the CPU over its first ``t_cpu`` ms:
    the spikes of every population identical there. ``partial(result)`` is called with the
    GPU's result before the CPU runs."""
    import numpy as np
    result = timed(model, "cupy", args, t, spikes=True)
    gpu_spikes = result.pop("spikes")
    partial(result)
    net = build(model, "numpy", args)
    res = net.run(t_cpu)
    same = {}
    for pop, (times, ids) in gpu_spikes.items():
        early = times < t_cpu
        ref = res.spikes(pop)
        same[pop] = bool(np.array_equal(ref[0], times[early]) and np.array_equal(ref[1], ids[early]))
    return {**result, "compared_ms": t_cpu, "identical": all(same.values()),
            "per_population": same}


def worker(spec):
    """One step in this process; rank 0 prints its result as the last JSON line."""
    from mpi4py import MPI
    step, name, backend, model, args, t, _ = spec
    if STANDIN:
        _stand_in()
    head = {"step": step, "name": name, "model": model, **args}
    if backend == "preflight":
        result = preflight()
    elif backend == "compare":
        result = compare(model, args, t, MICROCIRCUIT[2],
                         lambda r: print(json.dumps({**head, **r, "partial": True}), flush=True))
    else:
        result = check(model, args, t) if backend == "check" else timed(model, backend, args, t)
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps({**head, **result}))


def _stand_in():
    """backend 'cupy' on the CUDA sources compiled for the CPU (tests/cuda_host.py)."""
    import tempfile
    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    import cuda_host

    import bigbrain.simulation
    host = cuda_host.host_backend(tempfile.mkdtemp())
    bigbrain.simulation.select_backend = cuda_host.select_standing_in(host)


def run_step(spec, timeout):
    ranks = spec[-1] or os.cpu_count()
    cmd = [sys.executable, str(HERE), "--worker", json.dumps(spec)]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks)] + cmd
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return {**_last_json(exc.stdout), "step": spec[0], "name": spec[1],
                "error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {**_last_json(proc.stdout), "step": spec[0], "name": spec[1],
                "error": proc.stderr[-3000:]}
    return _last_json(proc.stdout)


def _last_json(stdout):
    """The last JSON line a worker printed (a partial result where it did not finish)."""
    if isinstance(stdout, bytes):
        stdout = stdout.decode(errors="replace")
    lines = [line for line in (stdout or "").splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


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
    parser.add_argument("--timeout", type=float,
                        default=float(os.environ.get("STAGE_LIMIT_S", 250)) - 10,
                        help="seconds per run (default: 240, or 10 s less than $STAGE_LIMIT_S, "
                        "the time benchmarks/gpu_check.sh gives the stage)")
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    results = []
    for spec in STEPS:
        if (args.only and spec[0] not in args.only) or (
                not args.only and spec[0] in ("preflight", "microcircuit_check")):
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
    return 0 if all("error" not in r and r.get("identical", True) and r.get("ok", True)
                    for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
