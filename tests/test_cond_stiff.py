"""Stiff conductance substeps (kernels/cond.py: STIFF, _level): large synchronous conductances
against independent references — the bounds of the membrane equation and an implicit solver."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import bigbrain as bb
from bigbrain.kernels import cond
from test_cond import DT, block_of

#: A Diehl & Cook excitatory neuron (bigbrain.models.diehl_cook), spike-free where it stays
#: below V_th: C_m 100 pF, g_L 1 nS, E_in −100 mV, tau_syn_in 2 ms.
MEMBRANE = dict(C_m=100.0, g_L=1.0, E_L=-65.0, V_m=-65.0, V_reset=-65.0, V_th=-52.0,
                E_ex=0.0, E_in=-100.0, tau_syn_ex=1.0, tau_syn_in=2.0, t_ref=5.0)
#: Per model what it adds: the Diehl & Cook step (h_max 0.25 ms); aeif without adaptation,
#: its exponential term shifting the rest above E_L by 1e-3 mV (g_L·Delta_T·e^(−7.3)/g_L).
EXTRA = {"iaf_cond_exp": dict(h_max=0.25), "iaf_cond_alpha": dict(h_max=0.25),
         "iaf_cond_exp_adaptive": dict(h_max=0.25, theta_plus=0.05),
         "aeif_cond_exp": dict(a=0.0, b=0.0, Delta_T=2.0, V_th=-50.4, V_peak=0.0)}


@pytest.mark.parametrize("weight", [17.0, 1.7e3, 1.7e4, 1.7e5])
@pytest.mark.parametrize("model", list(EXTRA))
def test_pure_inhibition_keeps_V_between_E_in_and_rest_and_never_spikes(model, weight):
    """21 synchronous inhibitory volleys of −weight nS, one per 0.5 ms step: V falls towards
    E_in and relaxes back, never below E_in, never above the rest (E_L; aeif E_L + 0.01 mV),
    and no spike (before the stiff substeps: 3 spikes at 1.7e3 nS, V oscillating)."""
    net = bb.Network(dt=0.5, seed=1)
    source = net.spike_source("G", spike_times=[list(np.arange(10.0, 20.01, 0.5))])
    pop = net.population("E", 1, model, **{**MEMBRANE, **EXTRA[model]})
    net.connect(source, pop, weight=-weight, delay=1.0)
    net.record(pop, "V_m")
    net.record(pop, "spikes")
    r = net.run(40.0)
    _, _, v = r.samples("E", "V_m")
    assert len(r.spikes("E")[0]) == 0
    assert v.min() >= MEMBRANE["E_in"]
    assert v.max() <= MEMBRANE["E_L"] + (0.01 if model.startswith("aeif") else 0.0)
    if weight > 1e3:
        assert v.min() < -90.0


def _reference(p, alpha, g0, E_syn, tau, t, V0):
    """V(t) (mV) from V0 under one conductance of weight g0 (nS) given at t = 0 (exponential:
    g0·e^(−t/τ); alpha: g0·(t/τ)·e^(1 − t/τ)) for parameters p, by scipy's Radau (implicit)
    at rtol 1e-10."""
    Delta_T = p.get("Delta_T", 0.0)

    def conductance(s):
        return g0 * np.e / tau * s * np.exp(-s / tau) if alpha else \
            g0 * np.exp(-s / tau)

    def rhs(s, v):
        spike = p["g_L"] * Delta_T * np.exp((v - p["V_th"]) / Delta_T) if Delta_T else 0.0
        return (-p["g_L"] * (v - p["E_L"]) + spike - conductance(s) * (v - E_syn)) / p["C_m"]

    sol = solve_ivp(rhs, (0.0, t[-1]), [V0], method="Radau", t_eval=t, rtol=1e-10,
                    atol=1e-12)
    return sol.y[0]


@pytest.mark.parametrize("model,weight", [
    ("iaf_cond_exp", -1.7e4), ("iaf_cond_exp", 2e4), ("iaf_cond_alpha", -1.7e4),
    ("iaf_cond_alpha", 2e4), ("iaf_cond_exp_adaptive", -1.7e4), ("aeif_cond_exp", -1.7e5)])
def test_one_large_conductance_event_follows_an_implicit_solver(model, weight):
    """One spike of ``weight`` nS into a resting neuron (h·λ of the first substep above
    10·STIFF: iaf 0.1 ms substeps, aeif its 0.01 ms): V at the end of every step within
    TOLERANCE of scipy's Radau solution of the same equation (excitatory: V_th 10 mV, above
    E_ex, so that the bound at V_th never acts)."""
    params = {**MEMBRANE, **EXTRA[model], **(dict(V_th=10.0) if weight > 0 else {})}
    if "h_max" in params:
        params["h_max"] = DT
    block, step = block_of(model, **params)
    h = block.args[cond.PARAMS.index("h")]
    assert h * abs(weight) / MEMBRANE["C_m"] > 10 * cond.STIFF  # the refined substeps act
    ex, inh = (weight, 0.0) if weight > 0 else (0.0, weight)
    _, rec = step(ex=ex, inh=inh, n_steps=100)  # the input acts from the end of step 0
    E_syn, tau = (params["E_ex"], params["tau_syn_ex"]) if weight > 0 else \
        (params["E_in"], params["tau_syn_in"])
    want = _reference(params, "alpha" in model, abs(weight), E_syn, tau, DT * np.arange(100),
                      rec[0, 0, 0])
    np.testing.assert_allclose(rec[:, 0, 0], want, rtol=0, atol=TOLERANCE)


#: The largest difference (mV) to the implicit solver (at STIFF = 0.5: 4.0e-4 mV, alpha; 1.0:
#: 7.7e-3 mV; 0.25: 2.3e-5 mV — RK4's fourth order).
TOLERANCE = 1e-3
