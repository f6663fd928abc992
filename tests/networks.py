"""Test networks whose records must be identical across backends (GPU vs NumPy) and rank
counts.

Each ``*_results(**network_args)`` builds a network, runs it and returns its records as a
dict of arrays (spikes, sampled V_m, final and recorded weights), so that two runs can be
compared key by key with :func:`assert_identical`.
"""
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


def stdp_results(t=300.0, triplet=False, **network_args):
    """STDP on E→E (distributed weights and delays; triplet STDP if ``triplet``) and onto
    parrot neurons (port 1, with a weight recorder), iaf_psc_exp inhibitory neurons,
    Poisson input."""
    net = bb.Network(dt=0.1, seed=7, **network_args)
    params = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
    exc = net.population("E", 800, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), tau_minus=25.0,
                         **params)
    inh = net.population("I", 200, "iaf_psc_exp", V_m=bb.uniform(0.0, 20.0), tau_syn_ex=1.0,
                         **{**params, "C_m": 250.0})
    parrots = net.population("P", 50, "parrot_neuron")
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
    net.connect(exc[:50], parrots, "one_to_one", delay=1.0)
    ep = net.connect(exc, parrots, "fixed_indegree", indegree=20, weight=5.0, delay=2.0,
                     synapse=bb.STDP(lambda_=0.05, alpha=1.1), receptor=1)
    net.record_weights(ep, post=[0, 1])
    for pop in (exc, inh, parrots):
        net.record(pop)
    w0 = net.run(0.0).weights(ee)[2]
    res = net.run(t)
    out = {f"{p}_{k}": v for p in ("E", "I", "P") for k, v in zip(("t", "id"), res.spikes(p))}
    out["w0"], out["w"] = w0, res.weights(ee)[2]
    out["parrot_w"] = res.weights(ep)[2]
    for key, value in zip(("ev_t", "ev_pre", "ev_post", "ev_w"), res.weight_events(ep)):
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
