"""A network as plain data: ``describe(net) -> dict`` (the way back: :mod:`bigbrain.rebuild`).

The dict is JSON-able and mirrors the Python API, so that a model file (TOML) can say the
same thing::

    {"dt": 0.1, "seed": 1, "partition": "round_robin",
     "populations": [{"name", "size", "model", "params", "first_gid", "positions"}, ...],
     "inputs": [{"name", "kind": "poisson", "rate", "size", ["per_step"]},   # net.poisson
                {"name", "kind": "dc_generator", "size", <parameters>}, ...],  # devices
     "projections": [{"pre", "post", "rule", <rule args>, "weight", "delay",
                      "allow_autapses", "allow_multapses", "synapse"}, ...],
     "recordings": [{"population", "what": "spikes" | "V_m" | [variables], "ids",
                     "interval"}, ...],
     "order": [names of populations and inputs in creation order]}

``pre``/``post`` are selections: lists of ``{"population": name, "ids": "all" | ids}``
(``{"poisson": name}`` for Poisson inputs, ``{"device": name}`` for other devices). Values are constants, distributions
(``{"distribution": "uniform", "low": …, "high": …}``) or arrays. Large arrays (explicit
connectivity, per-synapse weights and delays, spike-source times, id lists) go into
``arrays`` (a dict name -> numpy array, stored by the archive under ``model/<name>``) and
are referenced as ``{"array_ref": name}``; without ``arrays`` they are inlined as
``{"array": [...]}``. ``positions`` (optional) is a layer, ``{"kind": "grid", "shape",
"extent", "center", "edge_wrap"}`` or ``{"kind": "free", "pos": "uniform" | array,
"extent", "center", "edge_wrap"}`` (:mod:`bigbrain.spatial`); a spatial ``p``, weight or
delay is ``{"distribution": "gaussian", "std", "mean", "scale"}`` (or ``exponential``,
``linear``), a mask ``{"shape": "circular", "radius"}`` (or ``rectangular`` …).
Spike-source times are ``{"times_ms": ref, "counts": ref}``: the concatenated times (ms)
and the number of times of each node.
"""
import hashlib
import json

import numpy as np

from .distributions import describe as describe_value
from .population import PoissonGenerators

INLINE_MAX = 64


class _Arrays:
    """Puts arrays into ``store`` (name -> array) and returns references, or inlines them."""

    def __init__(self, store):
        self.store = store

    def put(self, name, values):
        arr = np.asarray(values)
        if self.store is None or arr.size <= INLINE_MAX:
            return {"array": arr.tolist()}
        self.store[name] = np.ascontiguousarray(arr)
        return {"array_ref": name}


def describe(net, arrays=None):
    """The JSON-able description of ``net`` (see the module docstring); large arrays are put
    into the dict ``arrays`` when it is given."""
    put = _Arrays(arrays).put
    desc = {"dt": net.dt, "seed": net.seed, "partition": net.partition,
            "order": list(net.populations), "populations": [], "inputs": [], "projections": [], "recordings": []}
    for pop in net.populations.values():
        if getattr(pop, "is_device", False):
            desc["inputs"].append(pop.describe())
        elif pop.model.name == "spike_source":
            steps = pop.params["spike_times_steps"]
            desc["populations"].append({
                "name": pop.name, "size": pop.size, "model": "spike_source", "first_gid": pop.first_gid,
                "params": {"spike_times": {
                    "times_ms": put(f"{pop.name}/spike_times_ms",
                                    np.concatenate(list(steps) + [np.zeros(0, np.int64)]) * net.dt),
                    "counts": put(f"{pop.name}/spike_counts", np.array([len(s) for s in steps], np.int64))}}})
        else:
            desc["populations"].append({
                "name": pop.name, "size": pop.size, "model": pop.model.name, "first_gid": pop.first_gid,
                "params": {k: _describe_value(v, f"populations/{pop.name}/{k}", put)
                           for k, v in pop.params.items()}})
            if pop.layer is not None:
                desc["populations"][-1]["positions"] = pop.layer.describe(
                    lambda name, values, pop=pop: put(f"{pop.name}/{name}", values))
    for conn in net.connections:
        desc["projections"].append(_describe_connection(conn, put))
    for rec in net.spike_recordings:
        desc["recordings"].append(_describe_recording(rec, "spikes", put))
    for rec in net.vm_recordings:  # "V_m" alone as before multimeters, so fingerprints hold
        what = "V_m" if rec.variables == ("V_m",) else list(rec.variables)
        desc["recordings"].append(_describe_recording(rec, what, put))
    return desc


def _describe_selection(sel, where, put):
    if isinstance(sel, PoissonGenerators):
        return [{"poisson": sel.name}]
    if getattr(sel, "is_device", False):
        return [{"device": sel.name}]
    return [{"population": pop.name,
             "ids": "all" if len(ids) == pop.size and np.array_equal(ids, np.arange(pop.size))
             else put(f"{where}/{k}_{pop.name}_ids", ids)}
            for k, (pop, ids) in enumerate(sel.parts)]


def _describe_value(value, name, put):
    if np.ndim(value) > 0:
        return put(name, np.asarray(value, np.float64))
    return describe_value(value)


def _describe_connection(conn, put):
    where = f"projections/{conn.index}"
    rule = conn.rule.describe()
    if rule["rule"] == "explicit":
        rule["sources"] = put(f"{where}/sources", conn.rule.sources)
        rule["targets"] = put(f"{where}/targets", conn.rule.targets)
    return {"pre": _describe_selection(conn.pre, f"{where}/pre", put),
            "post": _describe_selection(conn.post, f"{where}/post", put), **rule,
            "weight": _describe_value(conn.weight, f"{where}/weight", put),
            "delay": _describe_value(conn.delay, f"{where}/delay", put),
            "allow_autapses": conn.allow_autapses, "allow_multapses": conn.allow_multapses,
            "synapse": None if conn.synapse is None else conn.synapse.describe(),
            "receptor": getattr(conn, "receptor", 0),
            "recorded_weights": None if getattr(conn, "recorded_weights", None) is None else
            [put(f"{where}/recorded_{side}", ids) for side, ids in zip(("pre", "post"), conn.recorded_weights)]}


def _describe_recording(rec, what, put):
    pop = rec.population
    kind = what if isinstance(what, str) else "samples"
    ids = "all" if len(rec.ids) == pop.size else put(f"recordings/{kind}_{pop.name}_ids", rec.ids)
    return {"population": pop.name, "what": what, "ids": ids, "interval": rec.interval}


def fingerprint(desc, arrays):
    """SHA-256 of the model (description without ``partition``, plus its arrays): what a
    checkpoint must match to be loaded into a network."""
    h = hashlib.sha256(json.dumps({k: v for k, v in desc.items() if k != "partition"},
                                  sort_keys=True).encode())
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{arr.dtype.str}:{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()
