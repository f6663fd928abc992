"""Build and run a bigbrain network from the neutral description of tests/nest_reference.py.

This is the bigbrain side of the NEST comparisons: the same dict runs in NEST
(``nest_reference.run_nest``) and here (:func:`run_bigbrain`).
"""
import numpy as np

import bigbrain as bb


def build_bigbrain(desc, **network_args):
    """A :class:`bigbrain.Network` for ``desc`` (populations, explicit connections, record)."""
    net = bb.Network(dt=desc.get("dt", 0.1), seed=desc.get("seed", 1), **network_args)
    for pop in desc["populations"]:
        if pop["model"] == "spike_generator":
            net.spike_source(pop["name"], pop["spike_times"])
            continue
        params = dict(pop.get("params", {}))
        if "V_m" in pop:
            params["V_m"] = pop["V_m"]
        net.population(pop["name"], pop["n"], pop["model"], **params)
    for c in desc.get("connections", []):
        net.connect(c["pre"], c["post"], rule="explicit", sources=c["sources"],
                    targets=c["targets"], weight=np.asarray(c["weights"], float),
                    delay=np.asarray(c["delays"], float))
    for name in desc.get("record", []):
        net.record(name, "spikes")
    return net


def run_bigbrain(desc, **network_args):
    """{name: (times ms, ids)} of the recorded populations after ``desc["t_sim"]`` ms."""
    net = build_bigbrain(desc, **network_args)
    result = net.run(desc["t_sim"])
    return {name: result.spikes(name) for name in desc.get("record", [])}
