"""PyNN's Vogels–Abbott benchmark example (examples/VAbenchmarks.py of the PyNN sdist, run
unchanged: ``bigbrain.pynn`` is registered as ``pyNN.bigbrain`` for its get_simulator)
on bigbrain and on pyNN.nest, one process each; prints their rates.

    python benchmarks/pynn_va.py [--benchmarks CUBA COBA]
    python benchmarks/pynn_va.py --seeds 1 2 3 4 5 [--nest-precision on_grid]

``--seeds``: run each seed instead of the example's own (its ``rngseed``, which draws the
initial V_m and pyNN.nest's connectivity, is replaced; bigbrain draws connectivity from
``setup(seed=...)``, given the same seed), and print each run, the mean and the standard
deviation across seeds of the mean of the E and I rates. ``--nest-precision``: pyNN.nest's
``spike_precision`` (its default, ``off_grid``, picks NEST's precise-timing models where
they exist: ``iaf_psc_exp_ps``, ``parrot_neuron_ps``).

The sdist is fetched as the tests fetch it (tests/pynn_sources.py).
"""
import argparse
import pathlib
import re
import runpy
import statistics
import subprocess
import sys
import tempfile


def child(simulator, benchmark, script, seed=None, precision=None):
    """Run the example in this process; a seed or precision patches setup and rngseed."""
    import bigbrain.pynn
    sys.modules["pyNN.bigbrain"] = bigbrain.pynn
    if seed is not None:
        source = pathlib.Path(script).read_text()
        source = re.sub(r"^rngseed\s*=.*$", f"rngseed = {seed}", source, flags=re.M)
        script = str(pathlib.Path(tempfile.mkdtemp()) / "VAbenchmarks.py")
        pathlib.Path(script).write_text(source)
        _extra_setup(bigbrain.pynn, seed=int(seed))
    if precision is not None:
        import pyNN.nest
        _extra_setup(pyNN.nest, spike_precision=precision)
    sys.argv = [script, simulator, benchmark]
    runpy.run_path(script, run_name="__main__")


def _extra_setup(module, **extra):
    """Make ``module.setup`` add the keywords ``extra``."""
    setup = module.setup
    module.setup = lambda *args, **kwargs: setup(*args, **{**kwargs, **extra})


def rates(simulator, benchmark, script, seed, precision):
    cmd = [sys.executable, __file__, "--child", simulator, benchmark, script]
    if seed is not None or precision is not None:
        cmd += [str(seed) if seed is not None else "None", precision or "None"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = dict(re.findall(r"(Excitatory|Inhibitory) rate\s*:\s*([\d.]+)", out))
    time = re.findall(r"Simulation time\s*:\s*([\d.]+)", out)
    return float(found["Excitatory"]), float(found["Inhibitory"]), time[0] if time else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", nargs="+", default=["CUBA", "COBA"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[None])
    ap.add_argument("--nest-precision", choices=["on_grid", "off_grid"])
    ap.add_argument("--simulators", nargs="+", default=["bigbrain", "nest"])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        extra = [None if a == "None" else a for a in args.child[3:]]
        return child(*args.child[:3], *extra)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
    from pynn_sources import pynn_source
    script = str(pynn_source() / "examples" / "VAbenchmarks.py")
    for benchmark in args.benchmarks:
        for simulator in args.simulators:
            precision = args.nest_precision if simulator == "nest" else None
            means = []
            for seed in args.seeds:
                e, i, t = rates(simulator, benchmark, script, seed, precision)
                means.append((e + i) / 2)
                print(benchmark, simulator, f"seed {seed}", f"Excitatory {e}", f"Inhibitory {i}",
                      f"Simulation {t}", flush=True)
            if len(means) > 1:
                print(benchmark, simulator, f"mean {statistics.mean(means):.3f} Hz, sd "
                      f"{statistics.stdev(means):.3f} Hz over {len(means)} seeds", flush=True)


if __name__ == "__main__":
    main()
