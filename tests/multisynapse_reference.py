"""The receptor-port models (iaf_psc_exp_multisynapse, aeif_cond_alpha_multisynapse) in NEST
and in bigbrain under identical input: what tests/test_multisynapse.py and
``benchmarks/cond_accuracy.py multisynapse`` compare. :func:`case`: two neurons of a model,
each of three ports driven by its own Poisson train (spike generators) with the port's
weight; both simulators record spikes and every recordable every step."""
import numpy as np

import bigbrain as bb
import cond_reference as cr
from nest_reference import _import_nest

DT = 0.1
TAU_SYN = [1.0, 20.0, 1.5]
#: model -> (parameters, I_e of the two neurons (pA), weight of each port, rate of each
#: port's Poisson train (Hz)).
CASES = {
    "iaf_psc_exp_multisynapse": ({"tau_syn": TAU_SYN}, (360.0, 380.0),
                                 (300.0, 40.0, -400.0), (400.0, 200.0, 300.0)),
    "aeif_cond_alpha_multisynapse": ({"tau_syn": TAU_SYN, "E_rev": [0.0, 0.0, -70.0]},
                                     (700.0, 900.0), (6.0, 1.0, 8.0), (400.0, 200.0, 300.0)),
}


def case(model, t_sim=300.0, seed=3):
    """Two neurons of ``model`` (different I_e, V_m from E_L), each port p of each neuron
    driven by its own Poisson train (spike generator) with the port's weight, delay
    1.0 + 0.5·p ms."""
    params, I_e, weights, rates = CASES[model]
    rng = np.random.default_rng(seed)
    trains = [[cr.poisson_trains(rng, 1, rate, t_sim)[0] for rate in rates] for _ in I_e]
    return {"model": model, "params": params, "I_e": I_e, "weights": weights,
            "trains": trains, "t_sim": t_sim}


def recordables(model):
    first = ("V_m", "I_syn") if model.startswith("iaf") else ("V_m", "w")
    port = "I_syn" if model.startswith("iaf") else "g"
    return first + tuple(f"{port}_{k}" for k in range(1, len(TAU_SYN) + 1))


def run_nest(c):
    """(spike steps per neuron, {recordable: steps × neurons}) in NEST."""
    nest = _import_nest()
    nest.ResetKernel()
    nest.resolution = DT
    nodes = nest.Create(c["model"], len(c["I_e"]), params=c["params"])
    for node, I_e in zip(nodes, c["I_e"]):
        node.set(I_e=I_e, V_m=node.get("E_L"))
    for node, trains in zip(nodes, c["trains"]):
        for port, (train, w) in enumerate(zip(trains, c["weights"]), 1):
            gen = nest.Create("spike_generator", params={"spike_times": list(train)})
            nest.Connect(gen, node, syn_spec={"weight": w, "delay": 1.0 + 0.5 * port,
                                              "receptor_type": port})
    sr = nest.Create("spike_recorder")
    nest.Connect(nodes, sr)
    names = recordables(c["model"])
    mm = nest.Create("multimeter", params={"record_from": list(names), "interval": DT})
    nest.Connect(mm, nodes)
    nest.Simulate(c["t_sim"] + 2.0)   # the multimeter's last min-delay slice comes later
    ev, first = sr.get("events"), nodes[0].global_id
    spikes = [np.rint(ev["times"][ev["senders"] == first + i] / DT).astype(np.int64)
              for i in range(len(nodes))]
    ev = mm.get("events")
    steps = np.rint(np.asarray(ev["times"]) / DT).astype(np.int64)
    out = {}
    for name in names:
        values = np.full((steps.max(), len(nodes)), np.nan)
        values[steps - 1, np.asarray(ev["senders"]) - first] = ev[name]
        out[name] = values[:int(round(c["t_sim"] / DT))]
    return spikes, out


def network(c, **network_args):
    """The bigbrain network of case ``c``: population "N" (I_e per neuron), spike sources
    "S" (neuron-major, port-minor)."""
    net = bb.Network(dt=DT, **network_args)
    ports = len(c["weights"])
    net.spike_source("S", [t for trains in c["trains"] for t in trains])
    E_L = bb.neurons.MODELS[c["model"]].params["E_L"][0]
    pop = net.population("N", len(c["I_e"]), c["model"], I_e=np.array(c["I_e"]), V_m=E_L,
                         **c["params"])
    for i in range(len(c["I_e"])):
        for port, w in enumerate(c["weights"], 1):
            net.connect(net.populations["S"][[i * ports + port - 1]], pop[[i]], weight=w,
                        delay=1.0 + 0.5 * port, receptor=port)
    net.record(pop, "spikes")
    net.record(pop, list(recordables(c["model"])))
    return net


def run_bigbrain(c, **network_args):
    result = network(c, **network_args).run(c["t_sim"])
    t, ids = result.spikes("N")
    steps = np.rint(t / DT).astype(np.int64)
    spikes = [steps[ids == i] for i in range(len(c["I_e"]))]
    return spikes, {name: result.samples("N", name)[2] for name in recordables(c["model"])}
