"""Test networks whose records must be identical across backends (GPU vs NumPy) and rank
counts.

Each ``*_results(**network_args)`` builds a network, runs it and returns its records as a
dict of arrays (spikes, sampled V_m, final and recorded weights), so that two runs can be
compared key by key with :func:`assert_identical`.
"""
import functools
import operator

import numpy as np

import bigbrain as bb
from bigbrain.models import brunel


def brunel_results(N=2000, t=200.0, J_rel_std=0.0, **network_args):
    """Brunel model A (static synapses, Poisson input), spikes of E and I, V_m of 5 E;
    ``J_rel_std`` > 0: normal recurrent weights (per-synapse storage)."""
    net = bb.Network(dt=0.1, seed=3, **network_args)
    exc, inh = brunel(net, N=N, J_rel_std=J_rel_std)
    net.record(exc)
    net.record(inh)
    net.record(exc[:5], "V_m")
    res = net.run(t)
    out = {f"{p}_{k}": v for p in ("E", "I") for k, v in zip(("t", "id"), res.spikes(p))}
    out["V_m"] = res.V_m("E")[2]
    return out


def stdp_results(t=300.0, triplet=False, parrots=True, before_run=None, **network_args):
    """STDP on E→E (distributed weights and delays; triplet STDP if ``triplet``) and onto
    parrot neurons (port 1, with a weight recorder; without ``parrots``: none, and the
    recorder on E→E), iaf_psc_exp inhibitory neurons, Poisson input. ``before_run(net)``
    is called after the build, before the run of ``t`` ms."""
    net = bb.Network(dt=0.1, seed=7, **network_args)
    params = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
    exc = net.population("E", 800, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), tau_minus=25.0,
                         **params)
    inh = net.population("I", 200, "iaf_psc_exp", V_m=bb.uniform(0.0, 20.0), tau_syn_ex=1.0,
                         **{**params, "C_m": 250.0})
    pops = {"E": exc, "I": inh}
    if parrots:
        pops["P"] = net.population("P", 50, "parrot_neuron")
    noise = net.poisson("noise", rate=15000.0)
    net.connect(noise, exc, weight=0.1, delay=1.5)
    net.connect(noise, inh, weight=25.0, delay=1.5)
    ee = net.connect(exc, exc, "fixed_indegree", indegree=100, weight=bb.uniform(0.05, 0.2),
                     delay=bb.uniform(1.0, 3.0),
                     synapse=bb.TripletSTDP(Aplus=0.004, Aminus=0.006, Aplus_triplet=0.003,
                                            Aminus_triplet=0.001, Wmax=0.3) if triplet else
                     bb.STDP(lambda_=0.02, mu_plus=0.0, mu_minus=0.0, Wmax=0.3))
    net.connect(exc, inh, "fixed_indegree", indegree=100, weight=25.0, delay=1.5)
    net.connect(inh, exc | inh, "fixed_indegree", indegree=25, weight=-0.2, delay=1.5)
    recorded = ee
    if parrots:
        net.connect(exc[:50], pops["P"], "one_to_one", delay=1.0)
        recorded = ep = net.connect(exc, pops["P"], "fixed_indegree", indegree=20, weight=5.0,
                                    delay=2.0, synapse=bb.STDP(lambda_=0.05, alpha=1.1),
                                    receptor=1)
    net.record_weights(recorded, post=[0, 1])
    for pop in pops.values():
        net.record(pop)
    w0 = net.run(0.0).weights(ee)[2]
    if before_run is not None:
        before_run(net)
    res = net.run(t)
    out = {f"{p}_{k}": v for p in pops for k, v in zip(("t", "id"), res.spikes(p))}
    out["w0"], out["w"] = w0, res.weights(ee)[2]
    if parrots:
        out["parrot_w"] = res.weights(ep)[2]
    for key, value in zip(("ev_t", "ev_pre", "ev_post", "ev_w"), res.weight_events(recorded)):
        out[key] = value
    return out


def microcircuit_results(scale=0.02, t=25.0, **network_args):
    """The Potjans-Diesmann microcircuit (8 iaf_psc_exp populations, 64 static projections,
    Poisson input, one-step minimum delay) at ``scale``: spikes of every population."""
    from bigbrain.models.microcircuit import POPULATIONS, microcircuit
    net = bb.Network(dt=0.1, seed=1, **network_args)
    microcircuit(net, scale=scale)
    return spikes_of(net.run(t), POPULATIONS)


def spikes_of(result, populations):
    """{"<population>_t", "<population>_id": spike times and ids} of a run's records."""
    return {f"{p}_{k}": v for p in populations for k, v in zip(("t", "id"), result.spikes(p))}


def assert_identical(a, b, first="E"):
    """Every record of two runs equal bit for bit (and non-trivial)."""
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), f"{key} differs"
    assert len(a[f"{first}_t"]) > 100


def wide_results(t=40.0, n_wide=70_000, **network_args):
    """More than 65,536 neurons on one rank, so that synapses hold 32-bit target columns:
    static (per-synapse weights and delays) and multiplicative STDP projections onto the
    last columns, Poisson-driven sources."""
    net = bb.Network(dt=0.1, seed=11, **network_args)
    params = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
    wide = net.population("W", n_wide, "iaf_psc_delta", **params)
    exc = net.population("E", 200, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), **params)
    net.connect(net.poisson("noise", rate=20000.0), exc, weight=0.1, delay=1.5)
    last = wide[n_wide - 300:]
    net.connect(exc, last, "fixed_indegree", indegree=40, weight=bb.uniform(0.5, 1.5),
                delay=bb.uniform(1.0, 3.0))
    plastic = net.connect(exc, last, "fixed_indegree", indegree=40, weight=bb.uniform(0.5, 1.0),
                          delay=bb.uniform(1.0, 3.0),
                          synapse=bb.STDP(lambda_=0.05, mu_plus=1.0, mu_minus=1.0, Wmax=2.0))
    net.record(exc)
    net.record(last)
    res = net.run(t)
    out = {f"{p}_{k}": v for p, pop in (("E", "E"), ("W", "W")) for k, v in
           zip(("t", "id"), res.spikes(pop))}
    out["w"] = res.weights(plastic)[2]
    out["post_dtypes"] = np.array([str(p.post.dtype) for p in net.build().static])
    return out


#: Populations of :func:`cond_results`: model, size, per-neuron parameters, recordables.
COND_POPULATIONS = {
    "E": ("iaf_cond_exp", 4, {"I_e": (150.0, 300.0), "tau_syn_ex": (0.5, 3.0)}),
    "A": ("iaf_cond_alpha", 2, {"I_e": (280.0, 450.0), "t_ref": (1.0, 3.0)}),
    "T": ("iaf_cond_exp_adaptive", 2, {"I_e": (300.0, 450.0), "theta_plus": (0.5, 2.0),
                                       "t_lockout": (1.0, 6.0)}),
    "W": ("aeif_cond_exp", 1, {"I_e": (500.0, 900.0), "a": (0.0, 4.0), "b": (20.0, 80.0)}),
    "V": ("aeif_cond_alpha", 1, {"I_e": (500.0, 900.0), "tau_syn_ex": (0.2, 1.0)}),
    "H": ("hh_cond_exp_traub", 1, {"I_e": (100.0, 300.0), "V_T": (-64.0, -61.0)}),
    "P": ("iaf_psc_exp", 1, {"I_e": (350.0, 450.0), "tau_m": (8.0, 15.0)}),
}


def cond_results(N=400, t=100.0, names=tuple(COND_POPULATIONS), **network_args):
    """The populations ``names`` of ``COND_POPULATIONS`` (every conductance-based model and
    iaf_psc_exp; sizes in N/10), each with parameters drawn per neuron, Poisson input,
    excitatory (E, A) and inhibitory (P) static synapses (nS; pA onto P); halfway a
    per-neuron ``set`` (W's b, V_th of 5 E). Spikes of every population and every
    recordable of its first three neurons."""
    net = bb.Network(dt=0.1, seed=5, **network_args)
    pops = {name: net.population(name, share * N // 10, model, V_m=bb.uniform(-70.0, -56.0),
                                 **{k: bb.uniform(*r) for k, r in params.items()})
            for name, (model, share, params) in COND_POPULATIONS.items() if name in names}

    def union(group):
        present = [pops[name] for name in group if name in pops]
        return functools.reduce(operator.or_, present) if present else None

    cond, exc, inh = union("EATWVH"), union("EA"), pops.get("P")
    noise = net.poisson("noise", rate=2000.0)
    net.connect(noise, cond, weight=2.0, delay=1.0)
    if inh is not None:
        net.connect(noise, inh, weight=40.0, delay=1.0)
        net.connect(union("TW"), inh, "fixed_indegree", indegree=10, weight=20.0, delay=1.5)
        net.connect(inh, cond, "fixed_indegree", indegree=10, weight=-3.0, delay=1.0)
    if exc is not None:
        net.connect(exc, cond, "fixed_indegree", indegree=10, weight=0.5,
                    delay=bb.uniform(1.0, 2.0))
    for pop in pops.values():
        net.record(pop)
        net.record(pop[:3], list(pop.model.recordables))
    first = net.run(t / 2)
    if "W" in pops:
        net.set(pops["W"], b=np.linspace(10.0, 60.0, pops["W"].size))
    if "E" in pops:
        net.set(pops["E"][:5], V_th=-57.0)
    second = net.run(t / 2)
    out = {}
    for name, pop in pops.items():
        for half, res in (("a", first), ("b", second)):
            out[f"{name}_t_{half}"], out[f"{name}_id_{half}"] = res.spikes(name)
            for var in pop.model.recordables:
                out[f"{name}_{var}_{half}"] = res.samples(name, var)[2]
    first_name = next(iter(pops))  # assert_identical's check of a non-trivial run
    out["E_t"] = np.concatenate([out[f"{first_name}_t_a"], out[f"{first_name}_t_b"]])
    return out
