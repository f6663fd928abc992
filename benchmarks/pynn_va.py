"""PyNN's Vogels–Abbott benchmark example (examples/VAbenchmarks.py of the PyNN sdist, run
unchanged: ``bigbrain.pynn`` is registered as ``pyNN.bigbrain`` for its get_simulator)
on bigbrain and on pyNN.nest, one process each; prints their rates.

    python benchmarks/pynn_va.py [--benchmarks CUBA COBA]

The sdist is fetched as the tests fetch it (tests/pynn_sources.py).
"""
import argparse
import pathlib
import re
import runpy
import subprocess
import sys


def child(simulator, benchmark, script):
    import bigbrain.pynn
    sys.modules["pyNN.bigbrain"] = bigbrain.pynn
    sys.argv = [script, simulator, benchmark]
    runpy.run_path(script, run_name="__main__")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", nargs="+", default=["CUBA", "COBA"])
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
    from pynn_sources import pynn_source
    script = str(pynn_source() / "examples" / "VAbenchmarks.py")
    for benchmark in args.benchmarks:
        for simulator in ("bigbrain", "nest"):
            out = subprocess.run([sys.executable, __file__, "--child", simulator, benchmark, script],
                                 capture_output=True, text=True, check=True).stdout
            rates = re.findall(r"(Excitatory|Inhibitory) rate\s*:\s*([\d.]+)", out)
            times = re.findall(r"(Simulation) time\s*:\s*([\d.]+)", out)
            print(benchmark, simulator, *(f"{k} {v}" for k, v in rates + times))


if __name__ == "__main__":
    main()
