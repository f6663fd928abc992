"""Stiff conductance substeps (kernels/stiff.py: STIFF, halvings; kernels/cond.py, hh.py,
multisynapse.py): large synchronous conductances against independent references — the bounds
of the membrane equation and an implicit solver."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import bigbrain as bb
from bigbrain.kernels import cond, stiff
from bigbrain.neurons.hh_cond import HH_COND_EXP_TRAUB
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
    assert h * abs(weight) / MEMBRANE["C_m"] > 10 * stiff.STIFF  # the refined substeps act
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


# ------------------------------------------------- hh_cond_exp_traub, aeif_cond_alpha_multisynapse
#: NEST's hh_cond_exp_traub defaults (V_m −60 mV, gating variables at their steady state
#: there: the neuron fires on its own at 11.2 ms).
HH = {name: value for name, (value, *_) in HH_COND_EXP_TRAUB.items()}
#: aeif_cond_alpha_multisynapse as MEMBRANE's aeif_cond_exp (h 0.01 ms): port 1 excitatory,
#: port 2 inhibitory.
PORTS = dict(C_m=100.0, g_L=1.0, E_L=-65.0, V_m=-65.0, V_reset=-65.0, t_ref=5.0, a=0.0, b=0.0,
             Delta_T=2.0, V_th=-50.4, V_peak=0.0, E_rev=[0.0, -100.0], tau_syn=[1.0, 2.0])
#: The largest difference (mV) to the implicit solver in the tests below: the fixed
#: substeps' error where nothing is stiff — a spike of the HH neuron (2.1e-3 mV, h = 0.01 ms,
#: at 11 ms), the rise of a large alpha conductance through substeps of h·λ up to STIFF
#: (2.95e-3 mV, excitatory 2e4 nS, as aeif_cond_alpha's) — with a margin; the refined
#: substeps themselves come closer (inhibitory events: HH 1.4e-5 mV, ports 2.4e-4 mV).
TOLERANCE_H001 = 5e-3


def _hh_rates(u):
    """NEST's hh_cond_exp_traub rates (α_m, β_m, α_h, β_h, α_n, β_n; 1/ms) at u = V − V_T."""
    return (0.32 * (13.0 - u) / (np.exp((13.0 - u) / 4.0) - 1.0),
            0.28 * (u - 40.0) / (np.exp((u - 40.0) / 5.0) - 1.0),
            0.128 * np.exp((17.0 - u) / 18.0), 4.0 / (1.0 + np.exp((40.0 - u) / 5.0)),
            0.032 * (15.0 - u) / (np.exp((15.0 - u) / 5.0) - 1.0),
            0.5 * np.exp((10.0 - u) / 40.0))


def _hh_reference(t, events, E_syn, tau):
    """V (mV) at times ``t`` of an HH neuron at NEST's defaults (from t = 0) that receives
    conductance jumps ``events`` ((time ms, nS), ascending; exponential decay with tau ms
    towards E_syn mV): scipy's Radau at rtol 1e-10 between jumps."""
    p = HH

    def rhs(s, y, g0, s0):
        V, m, h, n = y
        a_m, b_m, a_h, b_h, a_n, b_n = _hh_rates(V - p["V_T"])
        g = g0 * np.exp(-(s - s0) / tau)
        I = -p["g_Na"] * m ** 3 * h * (V - p["E_Na"]) - p["g_K"] * n ** 4 * (V - p["E_K"]) \
            - p["g_L"] * (V - p["E_L"]) - g * (V - E_syn) + p["I_e"]
        return [I / p["C_m"], a_m * (1 - m) - b_m * m, a_h * (1 - h) - b_h * h,
                a_n * (1 - n) - b_n * n]

    y, s0, g, out = [p["V_m"], p["Act_m"], p["Inact_h"], p["Act_n"]], 0.0, 0.0, []
    for end in [*(time for time, _ in events), np.inf]:
        inside = t[(t > s0) & (t <= end)]
        if len(inside):
            sol = solve_ivp(rhs, (s0, inside[-1]), y, method="Radau", t_eval=inside,
                            rtol=1e-10, atol=1e-12, args=(g, s0))
            out.append(sol.y[0])
        if end == np.inf:
            break
        sol = solve_ivp(rhs, (s0, end), y, method="Radau", rtol=1e-10, atol=1e-12, args=(g, s0))
        y, g, s0 = sol.y[:, -1], g * np.exp(-(end - s0) / tau) + dict(events)[end], end
    return np.concatenate(out)


def _volleys(model, weight, dt, receptor=None, **params):
    """21 synchronous volleys of ``weight`` (one per 0.5 ms, 10 … 20 ms, delay 1 ms) into one
    neuron; (record times, V_m, spike count) of 40 ms."""
    net = bb.Network(dt=dt, seed=1)
    source = net.spike_source("G", spike_times=[list(np.arange(10.0, 20.01, 0.5))])
    pop = net.population("E", 1, model, **params)
    net.connect(source, pop, weight=weight, delay=1.0,
                **({} if receptor is None else dict(receptor=receptor)))
    net.record(pop, "V_m")
    net.record(pop, "spikes")
    r = net.run(40.0)
    t, _, v = r.samples("E", "V_m")
    return t, v[:, 0], len(r.spikes("E")[0])


@pytest.mark.parametrize("weight", [1.7e3, 1.7e4, 1.7e5])
def test_hh_under_inhibitory_volleys_follows_an_implicit_solver(weight):
    """hh_cond_exp_traub at NEST's defaults, 21 inhibitory volleys of −weight nS (dt 0.5 ms):
    V at the end of every step within TOLERANCE_H001 of scipy's Radau solution of the same
    equations and input (before the stiff substeps: NaN from 13 ms at 1.7e4 nS, from 11.5 ms
    at 1.7e5 nS). At 1.7e3 nS V falls to −80.8 mV, below E_in: the potassium
    after-hyperpolarization (E_K −90 mV) of the spike at 11 ms, which the implicit solver has
    too."""
    t, v, _ = _volleys("hh_cond_exp_traub", -weight, 0.5)
    arrivals = [(time, weight) for time in np.arange(11.0, 21.01, 0.5)]  # spike + delay
    want = _hh_reference(t, arrivals, HH["E_in"], HH["tau_syn_in"])
    assert np.isfinite(v).all()
    np.testing.assert_allclose(v, want, rtol=0, atol=TOLERANCE_H001)
    assert v[t > 12.0].min() < HH["E_in"] + 0.1


@pytest.mark.parametrize("weight", [17.0, 1.7e3, 1.7e4, 1.7e5])
def test_ports_under_pure_inhibition_keep_V_between_E_rev_and_rest(weight):
    """aeif_cond_alpha_multisynapse, 21 volleys of weight nS into its inhibitory port (E_rev
    −100 mV): V between E_rev and the rest (E_L + 0.01 mV, the exponential term's shift),
    no spike (before the stiff substeps: 3 spikes at 1.7e4 nS, 5 at 1.7e5 nS)."""
    t, v, spikes = _volleys("aeif_cond_alpha_multisynapse", weight, 0.5, receptor=2, **PORTS)
    assert spikes == 0
    assert v.min() >= PORTS["E_rev"][1]
    assert v.max() <= PORTS["E_L"] + 0.01
    if weight > 1e3:
        assert v.min() < -90.0


def _one_event(model, weight, receptor=None, **params):
    """One spike of ``weight`` at 1 ms (delay 1 ms: it acts from 2 ms) into one neuron, dt
    0.1 ms; (record times, V_m) of 13 ms."""
    net = bb.Network(dt=DT, seed=1)
    source = net.spike_source("G", spike_times=[[1.0]])
    pop = net.population("E", 1, model, **params)
    net.connect(source, pop, weight=weight, delay=1.0,
                **({} if receptor is None else dict(receptor=receptor)))
    net.record(pop, "V_m")
    t, _, v = net.run(13.0).samples("E", "V_m")
    return t, v[:, 0]


@pytest.mark.parametrize("weight", [-1.7e4, -1.7e5, 2e4])
def test_one_large_event_into_hh_follows_an_implicit_solver(weight):
    """hh_cond_exp_traub at NEST's defaults, one spike of ``weight`` nS at 2 ms (h·λ of the
    next substep above STIFF): V at the end of every step within TOLERANCE_H001 of scipy's
    Radau solution of the same equations."""
    assert 0.01 * abs(weight) / HH["C_m"] > stiff.STIFF  # h = 0.01 ms: the refined substeps act
    t, v = _one_event("hh_cond_exp_traub", weight)
    E_syn, tau = (HH["E_in"], HH["tau_syn_in"]) if weight < 0 else \
        (HH["E_ex"], HH["tau_syn_ex"])
    want = _hh_reference(t, [(2.0, abs(weight))], E_syn, tau)
    np.testing.assert_allclose(v, want, rtol=0, atol=TOLERANCE_H001)


@pytest.mark.parametrize("weight,receptor", [(1.7e4, 2), (1.7e5, 2), (2e4, 1)])
def test_one_large_event_into_a_port_follows_an_implicit_solver(weight, receptor):
    """aeif_cond_alpha_multisynapse (PORTS; excitatory: V_th 10 mV, V_peak 20 mV, so that
    it does not spike), one spike of ``weight`` nS into port ``receptor`` at 2 ms: V at the
    end of every step from then on within TOLERANCE_H001 of scipy's Radau solution of the
    same equation (w stays 0: a = b = 0)."""
    params = {**PORTS, **(dict(V_th=10.0, V_peak=20.0) if receptor == 1 else {})}
    assert 0.01 * weight / params["C_m"] > stiff.STIFF  # at the conductance's peak
    t, v = _one_event("aeif_cond_alpha_multisynapse", weight, receptor, **params)
    after = t >= 2.0 - 1e-9
    port = receptor - 1
    want = _reference(params, True, weight, params["E_rev"][port], params["tau_syn"][port],
                      t[after] - 2.0, v[after][0])
    np.testing.assert_allclose(v[after], want, rtol=0, atol=TOLERANCE_H001)


def test_hh_gating_rates_are_not_stiff_at_h_max():
    """kernels/hh.py leaves the gating variables' rates α + β out of λ: at H_MAX = 0.01 ms,
    h·(α + β) of m, h and n stays within STIFF for V − V_T from −90 to +169 mV (V from
    −153 to +106 mV at V_T −63 mV), beyond the reversal potentials at NEST's defaults, where
    the fastest, m's, is 0.32 at most."""
    from bigbrain.neurons.hh_cond import H_MAX
    u = np.linspace(-90.0, 169.0, 25901) + 1e-6  # off the removable 0/0 at 13 and 15 mV
    a_m, b_m, a_h, b_h, a_n, b_n = _hh_rates(u)
    fastest = H_MAX * np.max([a_m + b_m, a_h + b_h, a_n + b_n], axis=0)
    assert fastest.max() <= stiff.STIFF
    between = (u >= HH["E_K"] - HH["V_T"]) & (u <= HH["E_Na"] - HH["V_T"])
    assert fastest[between].max() < 0.33
