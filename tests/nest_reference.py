"""Run NEST 3.x on a neutral network description and return spike trains.

This module is the reference side of bigbrain's NEST-comparison tests.  It holds
no tests itself.  A network is described by a plain ``dict``::

    {
      "dt": 0.1, "t_sim": 200.0,              # ms
      "seed": 1,                              # NEST rng_seed (optional, default 1)
      "populations": [                        # created in this order
         {"name": "A", "model": "iaf_psc_exp", "n": 10,
          "params": {"tau_m": 10.0, ...},     # NEST parameter names and units
          "V_m": 1-D array or float},         # optional initial membrane potential (mV)
         {"name": "P", "model": "parrot_neuron", "n": 2},
         {"name": "S", "model": "spike_generator", "n": 3,
          "spike_times": [[1.0, 5.2], [], [3.3]]},   # ms, on the dt grid, > 0
      ],
      "connections": [                        # explicit arrays, population-local ids
         {"pre": "S", "post": "A", "sources": [...], "targets": [...],
          "weights": [...], "delays": [...],  # weight: mV (delta) or pA (psc_exp); delay: ms
          "synapse": "static_synapse",        # or a dict, see below
          "receptor_type": 0,                 # optional scalar or array (parrot: 1)
          "weight_recorder": False},          # optional, record weight_recorder events
      ],
      "record": ["A", "S"],                   # populations whose spikes are returned
      "multimeter": {"A": ["V_m"]},           # optional: recordables sampled every dt
    }

``"synapse"`` may be a model name or a dict ``{"model": "stdp_synapse",
"tau_plus": ..., "lambda": ..., "alpha": ..., "mu_plus": ..., "mu_minus": ...,
"Wmax": ..., "tau_minus": ...}`` (or ``stdp_triplet_synapse`` with its parameters and
``tau_minus_triplet``).  ``tau_minus`` and ``tau_minus_triplet`` are *neuron* parameters in NEST;
given here they are set on every neuron of the post-synaptic population (it may also
be given directly in that population's ``params``).

Multapses are allowed.  Final weights are returned in the order of the given
arrays: each connection entry is built from private copies of its synapse model,
one copy per multapse rank (the k-th repetition of a (source, target) pair uses
copy k), so every (copy, source, target) triple names exactly one synapse.  NEST
reorders connections (an unstable sort by source), so order on read-back cannot
be relied upon.
"""

from __future__ import annotations

import os

import numpy as np

#: Keys of a connection's ``"synapse"`` dict that NEST keeps on the post-synaptic
#: neuron rather than on the synapse.
_NEURON_SIDE_SYN_PARAMS = ("tau_minus", "tau_minus_triplet")


def _import_nest():
    """Import NEST quietly (no banner, errors only) and return the module."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # noqa: PLC0415 - deliberately lazy: tests skip without NEST

    try:
        nest.verbosity = nest.VerbosityLevel.ERROR  # NEST >= 3.9
    except AttributeError:  # pragma: no cover - older NEST 3.x
        nest.set_verbosity("M_ERROR")
    return nest


def _on_grid(times_ms: np.ndarray, dt: float) -> np.ndarray:
    """Return ``times_ms`` snapped to the dt grid; raise if any is off-grid or <= 0."""
    steps = np.rint(times_ms / dt)
    if times_ms.size and np.max(np.abs(steps * dt - times_ms)) > 1e-9 * max(1.0, float(times_ms.max())):
        raise ValueError(f"spike times must lie on the dt={dt} ms grid: {times_ms}")
    if np.any(steps < 1):
        raise ValueError("spike_generator times must be >= dt (NEST refuses t=0)")
    return np.sort(steps) * dt


def _create_population(nest, pop: dict, dt: float):
    """Create one population and set its parameters; return its NodeCollection."""
    model, n = pop["model"], int(pop["n"])
    nodes = nest.Create(model, n)
    params = dict(pop.get("params", {}))
    if params:
        nodes.set(params)
    if "V_m" in pop:
        v = np.broadcast_to(np.asarray(pop["V_m"], dtype=float), (n,))
        nodes.set(V_m=[float(x) for x in v])
    if model == "spike_generator":
        trains = pop.get("spike_times", [[] for _ in range(n)])
        if len(trains) != n:
            raise ValueError(f"population {pop['name']}: {len(trains)} spike trains for n={n}")
        nodes.set([{"spike_times": list(_on_grid(np.asarray(t, dtype=float), dt))} for t in trains])
    return nodes


def _synapse_spec(entry: dict) -> tuple[str, dict, dict]:
    """Split an entry's ``"synapse"`` into (model, synapse params, post-neuron params)."""
    syn = entry.get("synapse", "static_synapse")
    if isinstance(syn, str):
        return syn, {}, {}
    syn = dict(syn)
    model = syn.pop("model", "static_synapse")
    neuron_side = {k: syn.pop(k) for k in _NEURON_SIDE_SYN_PARAMS if k in syn}
    return model, syn, neuron_side


def _multapse_rank(src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """For each connection, how many earlier connections have the same (src, tgt)."""
    key = src.astype(np.int64) * (int(tgt.max(initial=0)) + 1) + tgt
    order = np.argsort(key, kind="stable")
    sk = key[order]
    start = np.r_[True, sk[1:] != sk[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(sk.size), 0))
    rank = np.empty(sk.size, dtype=np.int64)
    rank[order] = np.arange(sk.size) - group_start
    return rank


def _set_tau_minus(nodes, name: str, param: str, value: float, seen: dict) -> None:
    """Set a post-synaptic STDP trace time constant (ms; ``param``: tau_minus or
    tau_minus_triplet) on a population."""
    if (name, param) in seen and seen[name, param] != value:
        raise ValueError(f"conflicting {param} for population {name}: {seen[name, param]} vs {value}")
    seen[name, param] = value
    nodes.set({param: float(value)})


def _is_device(nest, nodes) -> bool:
    """True if ``nodes`` are stimulation devices (e.g. spike_generator), not neurons."""
    return nodes[0].get("element_type") != "neuron"


def _connect_from_device(nest, ci, entry, model, syn_params, src, tgt, w, d, rec, pre0, post0) -> dict:
    """Connect a device population (e.g. spike_generator) with the plain synapse model.

    NEST requires all outgoing connections of a device to use one synapse type and
    refuses plastic synapses from devices, so no private model copies are made; the
    weights returned for such an entry are the (unchanging) input weights.
    """
    if syn_params or entry.get("weight_recorder"):
        raise ValueError(f"connection {ci}: devices only support plain static synapses in NEST")
    if src.size:
        nest.Connect(src + pre0, tgt + post0, "one_to_one",
                     {"synapse_model": model, "weight": np.ascontiguousarray(w),
                      "delay": np.ascontiguousarray(d), "receptor_type": np.ascontiguousarray(rec)})
    return {"src": src, "tgt": tgt, "pre0": pre0, "post0": post0, "copies": [],
            "recorders": [], "n_post": 0, "static_weights": np.array(w, dtype=float)}


def _connect_entry(nest, ci: int, entry: dict, pops: dict, tau_minus_seen: dict) -> dict:
    """Create the synapses of one connection entry; return bookkeeping for read-back."""
    pre, post = pops[entry["pre"]], pops[entry["post"]]
    src = np.asarray(entry["sources"], dtype=np.int64)
    tgt = np.asarray(entry["targets"], dtype=np.int64)
    m = src.size
    w = np.broadcast_to(np.asarray(entry["weights"], dtype=float), (m,))
    d = np.broadcast_to(np.asarray(entry["delays"], dtype=float), (m,))
    if tgt.size != m:
        raise ValueError(f"connection {ci}: {m} sources but {tgt.size} targets")
    if m and (src.min() < 0 or src.max() >= len(pre) or tgt.min() < 0 or tgt.max() >= len(post)):
        raise ValueError(f"connection {ci}: index out of range")
    model, syn_params, neuron_side = _synapse_spec(entry)
    for param, value in neuron_side.items():
        _set_tau_minus(post, entry["post"], param, value, tau_minus_seen)
    rec = entry.get("receptor_type", 0)
    rec = np.broadcast_to(np.asarray(rec, dtype=np.int64), (m,))
    rank = _multapse_rank(src, tgt) if m else np.zeros(0, dtype=np.int64)
    pre0, post0 = pre[0].global_id, post[0].global_id
    if _is_device(nest, pre):
        return _connect_from_device(nest, ci, entry, model, syn_params, src, tgt, w, d, rec, pre0, post0)
    copies, recorders = [], []
    for k in range(int(rank.max(initial=-1)) + 1):
        name = f"bb_ref_c{ci}_k{k}"
        params = dict(syn_params)
        if params.get("Wmax", 1.0) < 0:  # NEST checks the model's default weight 1.0 against Wmax
            params["weight"] = -1.0
        if entry.get("weight_recorder"):
            wr = nest.Create("weight_recorder")
            params["weight_recorder"] = wr
            recorders.append(wr)
        nest.CopyModel(model, name, params)
        sel = np.flatnonzero(rank == k)
        nest.Connect(
            src[sel] + pre0, tgt[sel] + post0, "one_to_one",
            {"synapse_model": name, "weight": np.ascontiguousarray(w[sel]),
             "delay": np.ascontiguousarray(d[sel]), "receptor_type": np.ascontiguousarray(rec[sel])},
        )
        copies.append((name, sel))
    return {"src": src, "tgt": tgt, "pre0": pre0, "post0": post0,
            "copies": copies, "recorders": recorders, "n_post": len(post)}


def _read_weights(nest, book: dict) -> np.ndarray:
    """Read final weights of one entry back from NEST, in the entry's input order."""
    if "static_weights" in book:
        return book["static_weights"].copy()
    out = np.full(book["src"].size, np.nan)
    base = book["n_post"]
    for name, sel in book["copies"]:
        st = nest.GetConnections(synapse_model=name).get(["source", "target", "weight"])
        s = np.atleast_1d(np.asarray(st["source"], dtype=np.int64)) - book["pre0"]
        t = np.atleast_1d(np.asarray(st["target"], dtype=np.int64)) - book["post0"]
        got = np.atleast_1d(np.asarray(st["weight"], dtype=float))
        key_nest = s * base + t
        order = np.argsort(key_nest)
        want = book["src"][sel] * base + book["tgt"][sel]
        pos = np.searchsorted(key_nest[order], want)
        if got.size != sel.size or np.any(key_nest[order][np.minimum(pos, got.size - 1)] != want):
            raise RuntimeError(f"could not map NEST connections of {name} back to input order")
        out[sel] = got[order][pos]
    return out


def _read_weight_recorders(book: dict) -> dict | None:
    """Collect an entry's weight_recorder events (times ms, local ids, weights, index)."""
    if not book["recorders"]:
        return None
    base = book["n_post"]
    parts = {"times": [], "senders": [], "targets": [], "weights": [], "index": []}
    for (name, sel), wr in zip(book["copies"], book["recorders"]):
        ev = wr.get("events")
        s = np.asarray(ev["senders"], dtype=np.int64) - book["pre0"]
        t = np.asarray(ev["targets"], dtype=np.int64) - book["post0"]
        want = book["src"][sel] * base + book["tgt"][sel]
        order = np.argsort(want)
        idx = sel[order][np.searchsorted(want[order], s * base + t)]
        parts["times"].append(np.asarray(ev["times"], dtype=float))
        parts["senders"].append(s)
        parts["targets"].append(t)
        parts["weights"].append(np.asarray(ev["weights"], dtype=float))
        parts["index"].append(idx)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    o = np.lexsort((out["index"], out["times"]))
    return {k: v[o] for k, v in out.items()}


def _flush_pending_spikes(nest, pops: dict) -> None:
    """Deliver the spikes NEST still holds at the end of Simulate, creating no new ones.

    NEST delivers the spikes of one min-delay slice at the start of the next slice,
    and an STDP synapse updates its weight only on delivery.  So right after
    Simulate(t_sim) the weights miss the pre-synaptic spikes of the last slice, and
    which spikes those are depends on the network's min_delay.  Freezing every neuron
    and simulating one more min_delay delivers them all (weight updates use only
    post-synaptic spikes up to t - delay <= t_sim), so the weights read afterwards
    are "every spike stamped <= t_sim delivered", independent of min_delay.
    """
    for nodes in pops.values():
        if nodes[0].get("element_type") == "neuron":
            nodes.set(frozen=True)
    nest.Simulate(float(nest.min_delay))


def _samples(meter, nodes, variables, t_sim: float, dt: float):
    """A multimeter's events as (times ms, local ids, {variable: values[time, id]}), the
    times up to ``t_sim``."""
    ev = meter.get("events")
    t = np.asarray(ev["times"], dtype=np.float64)
    i = np.asarray(ev["senders"], dtype=np.int64) - nodes[0].global_id
    keep = t <= t_sim + 0.5 * dt
    times, ids = np.unique(t[keep]), np.unique(i[keep])
    out = {}
    for var in variables:
        values = np.full((times.size, ids.size), np.nan)
        values[np.searchsorted(times, t[keep]), np.searchsorted(ids, i[keep])] = \
            np.asarray(ev[var], dtype=np.float64)[keep]
        out[var] = values
    return times, ids, out


def run_nest(desc: dict) -> dict:
    """Simulate ``desc`` in NEST (1 thread) and return spikes and final weights.

    Returns ``{"spikes": {name: (times_ms float64, ids int64)}, "weights": [...],
    "weight_recorders": [...]}``.  Spikes are sorted by (time, id), ids are local to
    the population, and every spike with time stamp <= t_sim is included.
    ``weights[i]`` holds the final weights of connection entry i in input order,
    after every spike stamped <= t_sim has been delivered (see
    ``_flush_pending_spikes``);
    ``weight_recorders[i]`` is None unless that entry asked for ``"weight_recorder"``,
    else a dict of arrays ``times`` (ms, the pre-synaptic spike stamp), ``senders``,
    ``targets`` (local ids), ``weights`` (after the update at that spike) and
    ``index`` (position of the synapse in the entry's arrays), sorted by (time, index);
    ``samples[name]`` (for each population of ``"multimeter"``) is ``(times ms, ids,
    {variable: values[time, id]})``.
    """
    nest = _import_nest()
    dt = float(desc.get("dt", 0.1))
    nest.ResetKernel()
    nest.local_num_threads = 1
    nest.resolution = dt
    nest.rng_seed = int(desc.get("seed", 1))
    pops = {}
    for pop in desc["populations"]:
        if pop["name"] in pops:
            raise ValueError(f"duplicate population name {pop['name']}")
        pops[pop["name"]] = _create_population(nest, pop, dt)
    tau_minus_seen: dict = {}
    books = [_connect_entry(nest, ci, e, pops, tau_minus_seen)
             for ci, e in enumerate(desc.get("connections", []))]
    recorders = {}
    for name in desc.get("record", []):
        recorders[name] = nest.Create("spike_recorder")
        nest.Connect(pops[name], recorders[name])
    meters = {}
    for name, variables in desc.get("multimeter", {}).items():
        meters[name] = nest.Create("multimeter", params={"record_from": list(variables),
                                                         "interval": dt})
        nest.Connect(meters[name], pops[name])
    t_sim = float(desc["t_sim"])
    nest.Simulate(t_sim)
    if books:
        _flush_pending_spikes(nest, pops)
    spikes = {}
    for name, sr in recorders.items():
        ev = sr.get("events")
        t = np.asarray(ev["times"], dtype=np.float64)
        i = np.asarray(ev["senders"], dtype=np.int64) - pops[name][0].global_id
        keep = t <= t_sim + 0.5 * dt
        t, i = t[keep], i[keep]
        o = np.lexsort((i, t))
        spikes[name] = (t[o], i[o])
    return {
        "spikes": spikes,
        "samples": {name: _samples(m, pops[name], desc["multimeter"][name], t_sim, dt)
                    for name, m in meters.items()},
        "weights": [_read_weights(nest, b) for b in books],
        "weight_recorders": [_read_weight_recorders(b) for b in books],
    }
