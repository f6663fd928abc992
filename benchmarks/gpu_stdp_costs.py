"""What an interval of an STDP network costs the GPU code path in device operations, with
the CUDA sources compiled for the CPU standing in for the device (needs nvcc).

    python benchmarks/gpu_stdp_costs.py            # stdp_synapse
    python benchmarks/gpu_stdp_costs.py --triplet  # stdp_triplet_synapse

The network is tests/networks.py::stdp_results without parrot neurons (800 E + 200 I, STDP
on E→E with a weight recorder, Poisson input; one rank, 1 ms intervals). After 5 ms (the
first spikes upload the kernels' tables) it counts launches, waits and copies over 25 ms
and prints them per interval (CudaKernels.counts)."""
import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import cuda_host  # noqa: E402
import networks  # noqa: E402

import bigbrain.simulation  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triplet", action="store_true")
    args = parser.parse_args()
    host = cuda_host.host_backend(tempfile.mkdtemp())
    bigbrain.simulation.select_backend = lambda *_: host
    held = {}

    def after_the_first_spikes(net):
        net.run(5.0)
        held.update(counts=dict(host.kernels.counts), sim=net.build(), step=net.build().step)

    networks.stdp_results(t=25.0, triplet=args.triplet, parrots=False,
                          before_run=after_the_first_spikes)
    sim = held["sim"]
    intervals = (sim.step - held["step"]) // sim.interval
    per_interval = {k: round((v - held["counts"][k]) / intervals, 2)
                    for k, v in host.kernels.counts.items()}
    print(f"{intervals} intervals of {sim.interval} steps, per interval: {per_interval}")


if __name__ == "__main__":
    main()
