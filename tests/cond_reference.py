"""The conductance-based models in NEST and in bigbrain under identical input: what the
NEST tests (test_cond.py) and benchmarks/cond_accuracy.py compare.

* :func:`single_case`: ``n`` neurons of one model, each driven by its own explicit
  excitatory and inhibitory Poisson spike trains (spike generators, the same weights in
  nS and delays in both simulators) and a constant current; both record spikes and V_m
  every step.
* :func:`coba_case`: the COBA network of Brette et al. (2007), benchmark 1, after Vogels &
  Abbott (2005), as the Brian2 / ANNarchy benchmark scripts run it: 4,000 ``iaf_cond_exp``
  neurons (3,200 excitatory), pairwise connection probability 0.02 (one explicit
  connectivity drawn with NumPy, the same in both), C_m 200 pF, g_L 10 nS, E_L = V_reset =
  −60 mV, V_th −50 mV, t_ref 5 ms, E_ex 0 mV, E_in −80 mV, tau_syn 5 / 10 ms, weights 6 nS
  and −67 nS, a constant 200 pA (Brian's 20 mV · g_L), delay 0.1 ms, V_m ~ N(−55, 5) mV.
"""
import numpy as np

from nest_reference import _import_nest

DT = 0.1


def poisson_trains(rng, n, rate_hz, t_sim, dt=DT):
    """``n`` Poisson spike trains on the dt grid (ms), at most one spike per step."""
    p = rate_hz * dt * 1e-3
    return [np.flatnonzero(rng.random(int(t_sim / dt)) < p)[1:] * dt for _ in range(n)]


def single_case(model, params, seed=1, n=8, t_sim=1000.0, rate_hz=(800.0, 400.0),
                weight=(2.0, -4.0), I_e=(100.0, 300.0)):
    """``n`` neurons of ``model``, neuron i driven by one excitatory and one inhibitory
    source (Poisson, ``rate_hz``; weights ``weight`` nS, delays 1.0 and 1.5 ms) and I_e
    spread over ``I_e`` (pA); V_m starts uniform in [E_L, V_th)."""
    rng = np.random.default_rng(seed)
    E_L, V_th = params.get("E_L", -70.0), params.get("V_th", -55.0)
    return {"model": model, "n": n, "t_sim": t_sim,
            "params": [{**params, "I_e": float(i)} for i in np.linspace(*I_e, n)],
            "V_m": rng.uniform(E_L, V_th, n),
            "trains": [*poisson_trains(rng, n, rate_hz[0], t_sim),
                       *poisson_trains(rng, n, rate_hz[1], t_sim)],
            "weights": np.repeat(weight, n).astype(float),
            "delays": np.repeat([1.0, 1.5], n)}


def run_nest_single(case, **extra):
    """(spikes as a list of step arrays per neuron, V_m (steps × neurons)) in NEST;
    ``extra``: more parameters (e.g. gsl_error_tol)."""
    nest = _nest(case["t_sim"])
    n = case["n"]
    nodes = nest.Create(case["model"], n)
    nodes.set([{**p, **extra} for p in case["params"]])
    nodes.set(V_m=[float(v) for v in case["V_m"]])
    sources = nest.Create("spike_generator", 2 * n)
    sources.set([{"spike_times": list(t)} for t in case["trains"]])
    targets = np.tile(np.asarray(nodes.tolist()), 2)
    nest.Connect(np.asarray(sources.tolist()), targets, "one_to_one",
                 {"weight": case["weights"], "delay": case["delays"]})
    return _simulate(nest, nodes, case["t_sim"])


def _nest(t_sim, threads=1):
    nest = _import_nest()
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = DT
    return nest


def _simulate(nest, nodes, t_sim, V_m=True):
    """Simulate; (spike steps per neuron, V_m (steps × neurons) or None)."""
    sr = nest.Create("spike_recorder")
    nest.Connect(nodes, sr)
    if V_m:
        mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": DT})
        nest.Connect(mm, nodes)
    nest.Simulate(t_sim)
    first = nodes[0].global_id
    ev = sr.get("events")
    spikes = _per_neuron(np.rint(np.asarray(ev["times"]) / DT).astype(np.int64),
                         np.asarray(ev["senders"]) - first, len(nodes))
    if not V_m:
        return spikes, None
    ev = mm.get("events")
    steps = np.rint(np.asarray(ev["times"]) / DT).astype(np.int64)
    v = np.full((steps.max(), len(nodes)), np.nan)
    v[steps - 1, np.asarray(ev["senders"]) - first] = ev["V_m"]
    return spikes, v


def _per_neuron(steps, ids, n):
    order = np.lexsort((steps, ids))
    steps, ids = steps[order], ids[order]
    return np.split(steps, np.searchsorted(ids, np.arange(1, n)))


def bigbrain_single(case, **network_args):
    """The bigbrain network of :func:`single_case` (its population is "N")."""
    import bigbrain as bb
    n = case["n"]
    net = bb.Network(dt=DT, seed=1, **network_args)
    net.spike_source("S", [list(t) for t in case["trains"]])
    p = {k: [q[k] for q in case["params"]] for k in case["params"][0]}
    for i in range(n):  # one population per neuron: parameters are per population
        net.population(f"N{i}", 1, case["model"], **{k: v[i] for k, v in p.items()},
                       V_m=float(case["V_m"][i]))
    for i in range(n):
        net.connect("S", f"N{i}", rule="explicit", sources=[i, n + i], targets=[0, 0],
                    weight=case["weights"][[i, n + i]], delay=case["delays"][[i, n + i]])
        net.record(f"N{i}", "spikes")
        net.record(f"N{i}", "V_m")
    return net


def run_bigbrain_single(case, **network_args):
    """(spike steps per neuron, V_m (steps × neurons)) of :func:`single_case` in bigbrain."""
    result = bigbrain_single(case, **network_args).run(case["t_sim"])
    spikes = [np.rint(result.spikes(f"N{i}")[0] / DT).astype(np.int64) for i in range(case["n"])]
    v = np.column_stack([result.V_m(f"N{i}")[2][:, 0] for i in range(case["n"])])
    return spikes, v


def compare(a, b, window=2):
    """How two runs (spikes, V_m) of one case differ: the number of spikes of each, the
    largest shift (steps) between the k-th spikes of a neuron (None when the counts differ),
    and the largest |ΔV_m| (mV) outside ``window`` steps around any spike of either run."""
    shifts, counts = [], [0, 0]
    keep = np.ones(a[1].shape, bool)
    for i, (sa, sb) in enumerate(zip(a[0], b[0])):
        counts[0] += len(sa)
        counts[1] += len(sb)
        if shifts is not None and len(sa) == len(sb):
            shifts.append(np.abs(sa - sb).max() if len(sa) else 0)
        else:
            shifts = None
        for s in np.concatenate([sa, sb]):
            keep[max(0, s - 1 - window):s + window, i] = False
    m = min(len(a[1]), len(b[1]))  # NEST's multimeter misses the last min-delay slice
    dv = np.abs(a[1][:m] - b[1][:m])[keep[:m]]
    return {"spikes": counts, "max_shift": None if shifts is None else int(max(shifts)),
            "max_dV": float(dv.max()), "mean_dV": float(dv.mean())}


COBA = {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_reset": -60.0, "V_th": -50.0, "t_ref": 5.0,
        "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 200.0}
COBA_N, COBA_NE, COBA_P, COBA_W, COBA_DELAY = 4000, 3200, 0.02, (6.0, -67.0), 0.1


def coba_case(seed, model="iaf_cond_exp"):
    """Connectivity (sources, targets: gids 0 … 3,999, excitatory first) and initial V_m."""
    rng = np.random.default_rng(seed)
    pairs = rng.random((COBA_N, COBA_N), dtype=np.float32) < COBA_P  # [source, target]
    sources, targets = np.nonzero(pairs)
    return {"model": model, "sources": sources, "targets": targets,
            "V_m": rng.normal(-55.0, 5.0, COBA_N)}


def run_nest_coba(case, t_sim, threads=1, **extra):
    """Spike steps per neuron of the COBA network in NEST."""
    nest = _nest(t_sim, threads)
    nodes = nest.Create(case["model"], COBA_N, params={**COBA, **extra})
    nodes.set(V_m=[float(v) for v in case["V_m"]])
    src, tgt = case["sources"], case["targets"]
    w = np.where(src < COBA_NE, *COBA_W)
    gids = np.asarray(nodes.tolist())
    nest.Connect(gids[src], gids[tgt], "one_to_one",
                 {"weight": w, "delay": np.full(len(w), COBA_DELAY)})
    return _simulate(nest, nodes, t_sim, V_m=False)[0]


def run_bigbrain_coba(case, t_sim, **network_args):
    """Spike steps per neuron of the COBA network in bigbrain."""
    import bigbrain as bb
    net = bb.Network(dt=DT, seed=1, **network_args)
    net.population("N", COBA_N, case["model"], **COBA, V_m=case["V_m"])
    src, tgt = case["sources"], case["targets"]
    for lo, hi, w in ((0, COBA_NE, COBA_W[0]), (COBA_NE, COBA_N, COBA_W[1])):
        sel = (src >= lo) & (src < hi)
        net.connect("N", "N", rule="explicit", sources=src[sel], targets=tgt[sel], weight=w,
                    delay=COBA_DELAY)
    net.record("N", "spikes")
    times, ids = net.run(t_sim).spikes("N")
    return _per_neuron(np.rint(times / DT).astype(np.int64), ids, COBA_N)


def rate_and_cv(spikes, t_sim, skip=0.0):
    """Mean rate (spikes/s) over neurons and mean CV of the ISIs (neurons with >= 3 spikes
    after ``skip`` ms)."""
    after = [s[s * DT > skip] for s in spikes]
    rate = sum(len(s) for s in after) / len(after) / ((t_sim - skip) * 1e-3)
    cvs = [np.std(np.diff(s)) / np.mean(np.diff(s)) for s in after if len(s) >= 3]
    return rate, float(np.mean(cvs))
