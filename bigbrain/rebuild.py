"""A network from its description (:mod:`bigbrain.description`): ``build_network(desc)``.

Model files (:mod:`bigbrain.modelfile`) and resumed runs (:mod:`bigbrain.resumption`) build
their networks with it; ``build_network(describe(net))`` has the same populations, gids,
projections, random streams and recordings as ``net``.
"""
import inspect

import numpy as np

from .distributions import clipped_normal, normal, uniform
from .errors import ModelError, suggest
from .network import Network
from .population import Selection
from .sonata import EdgeColumn
from .spatial import FUNCTIONS, layer_from_description
from .bernoulli import Bernoulli
from .stdp import STDP, TripletSTDP
from .tsodyks import TsodyksSynapse
from .generators import KINDS

#: Distributions and spatial functions by the name their descriptions give.
DISTRIBUTIONS = {**{c.__name__: c for c in (uniform, normal, clipped_normal)}, **FUNCTIONS}

_CONNECTION_KEYS = ("pre", "post", "rule", "weight", "delay", "allow_autapses", "allow_multapses",
                    "synapse", "receptor", "recorded_weights")


def from_description(d):
    """A constant, array or distribution from its description
    (:func:`bigbrain.distributions.describe`): the distributions of
    :mod:`bigbrain.distributions`, the spatial functions of :mod:`bigbrain.spatial` and a
    SONATA edge file's columns (:class:`bigbrain.sonata.EdgeColumn`)."""
    if isinstance(d, dict) and d.get("distribution") == "sonata_edges":
        return EdgeColumn.from_description(d)
    if isinstance(d, dict) and "distribution" in d:
        return DISTRIBUTIONS[d["distribution"]](**{k: v for k, v in d.items() if k != "distribution"})
    if isinstance(d, dict) and "array" in d:
        return np.asarray(d["array"])
    return d


def build_network(desc, arrays=None, comm=None, partition=None, **network_args):
    """A :class:`~bigbrain.network.Network` from a description; ``arrays`` resolves
    ``array_ref`` entries (name -> array-like). ``partition`` overrides the described one."""
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
                           synapse=synapse_model(p["synapse"]), **extra, **rule_args)
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
    kind = d.get("kind", "poisson")
    if kind == "poisson":
        return net.poisson(d["name"], d["rate"], d.get("size", 1), d.get("per_step", "poisson"))
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


def synapse_model(d):
    """The synapse model object of a description (None: static)."""
    if d is None:
        return None
    models = {"stdp_synapse": STDP, "stdp_triplet_synapse": TripletSTDP,
              "bernoulli_synapse": Bernoulli, "tsodyks_synapse": TsodyksSynapse}
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
