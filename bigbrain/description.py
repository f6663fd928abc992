"""A network as plain data: ``describe(net) -> dict`` and ``build_network(desc) -> Network``.

The dict is JSON-able and mirrors the Python API, so that a model file (TOML) can say the
same thing::

    {"dt": 0.1, "seed": 1, "partition": "round_robin",
     "populations": [{"name", "size", "model", "params", "first_gid", "positions"}, ...],
     "inputs": [{"name", "kind": "poisson", "rate", "size"},            # net.poisson
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
import inspect
import json

import numpy as np

from .distributions import describe as describe_value
from .distributions import from_description
from .errors import ModelError, suggest
from .population import PoissonGenerators, Selection
from .spatial import layer_from_description

INLINE_MAX = 64
_CONNECTION_KEYS = ("pre", "post", "rule", "weight", "delay", "allow_autapses", "allow_multapses",
                    "synapse", "receptor", "recorded_weights")


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


def build_network(desc, arrays=None, comm=None, partition=None, **network_args):
    """A :class:`~bigbrain.network.Network` from a description; ``arrays`` resolves
    ``array_ref`` entries (name -> array-like). ``partition`` overrides the described one."""
    from .network import Network

    def value(v):
        if isinstance(v, dict) and "array_ref" in v:
            if arrays is None or v["array_ref"] not in arrays:
                raise ModelError("model", f"the array {v['array_ref']!r} that the description "
                                 "references is missing")
            return np.asarray(arrays[v["array_ref"]][...])
        return from_description(v)

    net = Network(dt=desc["dt"], seed=desc["seed"], partition=partition or desc["partition"],
                  comm=comm, **network_args)
    inputs = {d["name"]: d for d in desc["inputs"]}
    pops = {d["name"]: d for d in desc["populations"]}
    order = _creation_order(desc)
    for name in order:
        if name in inputs:
            _add_input(net, inputs[name])
            continue
        d = pops[name]
        if d["model"] == "spike_source":
            st = d["params"]["spike_times"]
            times, counts = value(st["times_ms"]), _spike_counts(name, d["size"], st, value)
            net.spike_source(name, np.split(times, np.cumsum(counts)[:-1]) if len(counts) else [])
        else:
            layer = d.get("positions")
            net.population(name, d["size"], d["model"],
                           positions=None if layer is None else layer_from_description(
                               f"population {name!r}.positions", layer, value),
                           **{k: value(v) if isinstance(v, dict) else v for k, v in d["params"].items()})

    def selection(parts):
        if len(parts) == 1 and ("poisson" in parts[0] or "device" in parts[0]):
            return net.populations[parts[0].get("poisson", parts[0].get("device"))]
        return Selection([(net.populations[p["population"]],
                           np.arange(net.populations[p["population"]].size) if p["ids"] == "all"
                           else value(p["ids"])) for p in parts])

    for p in desc["projections"]:
        rule_args = {k: (value(v) if isinstance(v, dict) else v) for k, v in p.items()
                     if k not in _CONNECTION_KEYS}
        extra = {"receptor": p["receptor"]} if p.get("receptor", 0) else {}
        conn = net.connect(selection(p["pre"]), selection(p["post"]), rule=p["rule"],
                           weight=value(p["weight"]), delay=value(p["delay"]),
                           allow_autapses=p["allow_autapses"], allow_multapses=p["allow_multapses"],
                           synapse=_synapse(p["synapse"]), **extra, **rule_args)
        if p.get("recorded_weights") is not None:
            net.record_weights(conn, *(value(ids) for ids in p["recorded_weights"]))
    for r in desc["recordings"]:
        pop = net.populations[r["population"]]
        target = pop if r["ids"] == "all" else pop[value(r["ids"])]
        net.record(target, r["what"], None if r["what"] == "spikes" else r["interval"])
    return net


def _spike_counts(name, size, spike_times, value):
    """The number of spike times of each node of spike source ``name``: whole numbers,
    one per node, adding up to the times given."""
    field = f"population {name!r}.params.spike_times"
    counts, times = np.asarray(value(spike_times["counts"])), np.ravel(value(spike_times["times_ms"]))
    if counts.size and (counts.dtype.kind not in "iu" or counts.min() < 0):
        raise ModelError(f"{field}.counts", "must be whole numbers >= 0")
    if counts.size != size:
        raise ModelError(f"{field}.counts", f"has {counts.size} entries for {size} nodes")
    if counts.sum() != times.size:
        raise ModelError(f"{field}.counts", f"add up to {counts.sum()}, times_ms has {times.size}")
    return counts.astype(np.int64)


def _add_input(net, d):
    """A Poisson generator (kind ``poisson``) or a stimulation device (NEST's name)."""
    from .stimulation import KINDS

    kind = d.get("kind", "poisson")
    if kind == "poisson":
        return net.poisson(d["name"], d["rate"], d.get("size", 1))
    if kind not in KINDS:
        raise ModelError(f"input {d['name']!r}.kind", f"unknown input kind {kind!r}"
                         + suggest(kind, ["poisson", *KINDS]))
    params = {k: v for k, v in d.items() if k not in ("name", "kind", "size")}
    return getattr(net, kind)(d["name"], d.get("size", 1), **params)


def _creation_order(desc):
    """Population and input names in creation order (``order``; without it, node
    populations by first gid, then inputs). The order fixes gids and random streams."""
    if "order" in desc:
        return desc["order"]
    nodes = [d["name"] for d in sorted(desc["populations"], key=lambda d: d["first_gid"])]
    return nodes + [d["name"] for d in desc["inputs"]]


def _synapse(d):
    """The synapse model object of a description (None: static)."""
    if d is None:
        return None
    from .stdp import STDP, TripletSTDP
    from .tsodyks import TsodyksSynapse

    models = {"stdp_synapse": STDP, "stdp_triplet_synapse": TripletSTDP,
              "tsodyks_synapse": TsodyksSynapse}
    model = d.get("model")
    if model not in models:
        raise ModelError("synapse", f"unknown synapse model {model!r}"
                         + suggest(str(model), list(models)))
    args = {("lambda_" if k == "lambda" else k): v for k, v in d.items() if k != "model"}
    known = list(inspect.signature(models[model]).parameters)
    for key in args:
        if key not in known:
            raise ModelError(f"synapse.{key}", f"not a parameter of {model}"
                             + suggest(key, known) + f"; expected one of {', '.join(known)}")
    return models[model](**args)
