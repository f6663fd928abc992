"""Every stimulation device onto neurons and parrots, with changes between runs.

    stimulation_ranks.py OUT_DIR [CASE]

Without CASE: rank 0 writes OUT_DIR/result.npz (V_m of E, spikes of E and P). With a CASE
naming a bad value, each rank writes ``ErrorType: message`` to OUT_DIR/rank<R>.txt.
"""
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import bigbrain as bb

OUT = Path(sys.argv[1])
CASE = sys.argv[2] if len(sys.argv) > 2 else None
BAD = {"unsorted_times": ("step", {"amplitude_times": [30.0, 25.0], "amplitude_values": [1.0, 2.0]}),
       "negative_std": ("noise", {"std": -1.0}),
       "nan_rate": ("p", {"rate": float("nan")}),
       "short_rates": ("pr", {"rate": [1.0] * 8}),
       "bernoulli_rate": ("pb", {"rate": [2e4] * 9})}


def run():
    net = bb.Network(dt=0.1, seed=4)
    exp = net.population("E", 7, "iaf_psc_exp", I_e=200.0)
    delta = net.population("D", 5, "iaf_psc_delta", I_e=150.0)
    parrots = net.population("P", 9, "parrot_neuron")
    dev = {"dc": net.dc_generator("dc", size=2, amplitude=60.0, start=2.0, stop=35.0),
           "step": net.step_current_generator("step", amplitude_times=[3.0, 9.0],
                                              amplitude_values=[200.0, -30.0]),
           "noise": net.noise_generator("noise", size=5, mean=20.0, std=150.0, dt=0.2),
           "ip": net.inhomogeneous_poisson_generator("ip", rate_times=[0.5], rate_values=[900.0]),
           "p": net.poisson("p", 400.0),
           "pr": net.poisson("pr", np.linspace(0.0, 800.0, 9), 9),   # one rate per generator
           "pb": net.poisson("pb", np.linspace(9e3, 0.0, 9), 9, per_step="bernoulli")}
    net.connect(dev["dc"], exp, weight=bb.uniform(0.5, 1.5), delay=bb.uniform(0.1, 2.0))
    net.connect(dev["step"], exp | delta, weight=1.3, delay=0.4)
    net.connect(dev["noise"], delta, rule="one_to_one", weight=0.7, delay=1.1)
    net.connect(dev["noise"], exp[:5], rule="one_to_one", weight=-0.3, delay=0.2)
    net.connect(dev["ip"], parrots, delay=0.3)
    net.connect(dev["p"], parrots, delay=0.6)
    net.connect(dev["pr"], parrots, rule="one_to_one", delay=0.2)
    net.connect(dev["pb"], parrots, rule="one_to_one", delay=0.4)
    net.connect(parrots, exp, weight=30.0, delay=0.5)
    for pop in (exp, delta):
        net.record(pop, "V_m")
    net.record(exp, "spikes")
    net.record(parrots, "spikes")
    net.run(20.0)
    changes = {"dc": {"amplitude": 150.0}, "step": {"amplitude_times": [25.0], "amplitude_values": [90.0]},
               "noise": {"std": 40.0}, "ip": {"rate_times": [22.0], "rate_values": [100.0]},
               "p": {"rate": 50.0}, "pr": {"rate": np.linspace(900.0, 0.0, 9)},
               "pb": {"rate": np.linspace(0.0, 5e3, 9)}}
    if CASE is not None:
        changes[BAD[CASE][0]] = BAD[CASE][1]
    for name, change in changes.items():
        dev[name].set_params(net, **change)
    return net.run(20.0)


if CASE is None:
    result = run()
    if MPI.COMM_WORLD.rank == 0:
        np.savez(OUT / "result.npz", V_E=result.V_m("E")[2], V_D=result.V_m("D")[2],
                 **{f"{k}_{p}": v for p in ("E", "P") for k, v in zip(("t", "i"), result.spikes(p))})
else:
    try:
        run()
        report = "no error"
    except bb.ModelError as err:
        report = f"{type(err).__name__}: {err}"
    (OUT / f"rank{MPI.COMM_WORLD.rank}.txt").write_text(report)
