"""Model files: a network and its run in TOML, with the meaning of the Python API.

A model file either lists the network (the dict of :mod:`bigbrain.description`, with
shorthands) or names a shipped Python builder (``[builder]``); ``[network]`` and ``[run]``
set what ``bb.Network(...)`` and ``net.run(...)`` would. ``examples/model.toml`` is a
complete file (tested); in short::

    [network]                 # bb.Network(dt=0.1, seed=1, partition="round_robin")
    dt = 0.1                  # ms
    seed = 1
    partition = "round_robin"
    exchange = "alltoall"     # "alltoall", "sparse" or "mesh" (see bigbrain.exchange)

    [run]
    t = 1000.0                # ms of biological time
    output = "brunel.zarr"    # the run archive (relative to the working directory)
    checkpoint_every = 500.0  # ms (optional)
    backend = "cpu"           # "cpu" (numba) or "gpu"

    [[populations]]           # net.population(name, size, model, **params)
    name = "E"
    size = 800
    model = "iaf_psc_delta"
    params.tau_m = 20.0       # NEST's parameter names and units
    params.V_th = 20.0
    params.V_m = { distribution = "uniform", low = 0.0, high = 20.0 }
    # optional; or { kind = "free", extent = [2.0, 1.0] } (random positions in the box)
    positions = { kind = "grid", shape = [40, 20], extent = [2.0, 1.0], edge_wrap = true }

    [[inputs]]                # net.poisson(name, rate, size, per_step)
    name = "noise"
    rate = 20000.0            # Hz
    # per_step = "bernoulli"  # at most one spike per step (Brian2's PoissonGroup)

    [[inputs]]                # a stimulation device: net.<kind>(name, size, **parameters)
    name = "pulse"
    kind = "step_current_generator"
    amplitude_times = [100.0, 200.0]     # ms
    amplitude_values = [300.0, 0.0]      # pA

    [[projections]]           # net.connect(pre, post, rule, weight, delay, **rule args)
    pre = "E"                 # a name, a list of names, or [{population, ids}]
    post = ["E"]
    rule = "fixed_indegree"
    indegree = 80
    weight = 0.1              # a number, a distribution table or { array = [...] }
    delay = 1.5

    [[projections]]           # spatial: p and delay as functions of distance, a mask
    pre = "E"
    post = "E"
    rule = "pairwise_bernoulli"
    p = { distribution = "gaussian", std = 0.1, scale = 0.5 }
    mask = { shape = "circular", radius = 0.3 }
    delay = { distribution = "linear", offset = 1.0, slope = 5.0 }  # ms, ms per unit

    [[recordings]]            # net.record(population[ids], what, interval)
    population = "E"
    what = "spikes"            # or a recordable ("V_m") or a list: ["V_m", "I_syn_ex"]

With a builder, ``[builder]`` holds ``name`` (a key of :data:`bigbrain.models.BUILDERS`)
and the builder's arguments; ``[[recordings]]`` may be added. :func:`read` checks a file
and reports the first problem as a :class:`ModelFileError` naming the file, the key and
what was expected (with the nearest valid name for a misspelt key); :func:`write` saves a
network (``describe`` form, arrays inline) and its run settings.
"""
import inspect
import math
import tomllib
from pathlib import Path

import tomli_w

from . import models
from .backends import RUN_BACKENDS as BACKENDS
from .description import describe
from .generators import KINDS
from .distributions import Distribution
from .errors import ModelError
from .errors import suggest
from .exchange import EXCHANGES
from .network import Network
from .rebuild import build_network, from_description, synapse_model

SHIPPED = Path(__file__).parent / "models"
_NUMBER = (int, float)
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "a list", dict: "a table"}
# key -> (accepted types, required); "value": number, distribution or array table.
NETWORK = {"dt": (_NUMBER, False), "seed": ((int,), False), "partition": ((str,), False),
           "exchange": ((str,), False)}
RUN = {"t": (_NUMBER, False), "output": ((str,), False), "checkpoint_every": (_NUMBER, False),
       "flush_every": (_NUMBER, False), "backend": ((str,), False)}
POPULATION = {"name": ((str,), True), "size": ((int,), True), "model": ((str,), True),
              "params": ((dict,), False), "first_gid": ((int,), False), "positions": ((dict,), False)}
INPUT = {"name": ((str,), True), "kind": ((str,), False), "rate": (_NUMBER, True), "size": ((int,), False),
         "per_step": ((str,), False)}
PROJECTION = {"pre": ((str, list), True), "post": ((str, list), True), "rule": ((str,), False),
              "weight": ("value", False), "delay": ("value", False),
              "allow_autapses": ((bool,), False), "allow_multapses": ((bool,), False),
              "synapse": ((dict,), False), "receptor": ((int,), False),
              "recorded_weights": ((list,), False)}
RULE_ARGS = {"indegree": ((int,), True), "outdegree": ((int,), True), "p": ("value", True),
             "mask": ((dict,), False), "N": ((int,), True),
             "sources": ((dict, list), True), "targets": ((dict, list), True)}
RECORDING = {"population": ((str,), True), "what": ((str, list), False), "ids": ((str, list, dict), False),
             "interval": (_NUMBER, False)}
TOP = {"network": ((dict,), False), "run": ((dict,), False), "builder": ((dict,), False),
       "populations": ((list,), False), "inputs": ((list,), False), "projections": ((list,), False),
       "recordings": ((list,), False), "order": ((list,), False)}
DEFAULTS = {"allow_autapses": True, "allow_multapses": True, "receptor": 0}


class ModelFileError(ModelError):
    """A model file that cannot be read or built: ``path: key: what was expected``."""

    def __init__(self, path, key, message):
        super().__init__(f"{path}: {key}", message)
        self.path, self.key = str(path), key


class Model:
    """A checked model file: the network description (or builder) and the run settings.

    ``network(comm=None, archive=None)`` builds a fresh :class:`bigbrain.Network`; ``run``
    holds ``t`` (ms), ``output``, ``checkpoint_every`` (ms), ``flush_every`` (ms),
    ``backend``.
    """

    def __init__(self, path, doc):
        self.path, self.doc = str(path), doc
        self.run = {"t": 1000.0, "output": None, "checkpoint_every": None, "flush_every": None,
                    "backend": "cpu", **doc.get("run", {})}

    def network(self, comm=None, archive=None, partition=None, backend="cpu"):
        """A new Network of this model (raises ModelFileError naming this file). backend:
        ``cpu`` or ``gpu`` (= ``numpy``, ``cupy``; or ``auto``, see :mod:`bigbrain.backends`)."""
        try:
            return self._network(comm, archive, partition, BACKENDS.get(backend, backend))
        except ModelFileError:
            raise
        except ModelError as exc:
            raise ModelFileError(self.path, exc.field, str(exc)[len(exc.field) + 2:]) from None

    def _network(self, comm, archive, partition, backend):
        settings = {"dt": 0.1, "seed": 1, "partition": "round_robin", **self.doc.get("network", {})}
        if partition:
            settings["partition"] = partition
        settings["backend"] = backend
        if "builder" in self.doc:
            args = dict(self.doc["builder"])
            builder = models.BUILDERS[args.pop("name")]
            if "synapse" in args:
                args["synapse"] = synapse_model(args["synapse"])
            net = Network(comm=comm, archive=archive, **settings)
            builder(net, **args)
        else:
            desc = {**settings, **_expanded(self.doc), "recordings": []}
            net = build_network(desc, comm=comm, archive=archive, backend=backend,
                                exchange=settings.get("exchange", "alltoall"))
        for i, r in enumerate(self.doc.get("recordings", [])):
            pop = net._selection(r["population"], "recordings.population")
            ids = r.get("ids", "all")
            try:
                target = pop if ids == "all" else pop[from_description(_as_value(ids))]
            except ModelError as exc:
                raise ModelFileError(self.path, f"recordings[{i}].ids", str(exc)) from None
            net.record(target, r.get("what", "spikes"), r.get("interval"))
        return net


def resolve(name):
    """The path of a model: a file, or the name of a shipped model (``brunel-ai``)."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return path
    shipped = SHIPPED / f"{name}.toml"
    if not shipped.exists():
        names = [p.stem for p in SHIPPED.glob("*.toml")]
        raise ModelFileError(name, "model", "no such file and no shipped model of that name"
                             + suggest(name, names) + f"; shipped: {', '.join(sorted(names))}")
    return shipped


def shipped_models():
    """Names of the models shipped with bigbrain."""
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def read(name, overrides=()):
    """A checked :class:`Model` from a file or shipped model name. ``overrides``: pairs
    (dotted key, TOML value text), e.g. ``("builder.g", "4.5")``, applied before checking."""
    path = resolve(name)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(path, "file", "not found") from None
    except IsADirectoryError:
        raise ModelFileError(path, "file", "is a directory, not a model file") from None
    except UnicodeDecodeError as exc:
        raise ModelFileError(path, "file", f"not UTF-8 text (byte {exc.start}); TOML files "
                             "are UTF-8") from None
    except OSError as exc:
        raise ModelFileError(path, "file", f"cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelFileError(path, "syntax", f"not valid TOML ({exc})") from None
    for key, text in overrides:
        _override(path, doc, key, text)
    _check(path, doc)
    return Model(path, doc)


def write(net, path, **run):
    """Write ``net`` and run settings (``t``, ``output``, …, as in ``[run]``) to ``path``."""
    desc = describe(net)
    doc = {"network": {**{k: desc[k] for k in ("dt", "seed", "partition")}, "exchange": net.exchange}}
    if run:
        doc["run"] = {k: v for k, v in run.items() if v is not None}
    doc.update(_compact(desc))
    Path(path).write_text(tomli_w.dumps(doc))


# ------------------------------------------------------------------ overrides
def _override(path, doc, key, text):
    """Set ``doc[a][b]`` for the key ``a.b`` to the TOML value ``text``."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text                                    # a bare word: a string
    *tables, last = key.split(".")
    node = doc
    for t in tables:
        node = node.setdefault(t, {})
        if not isinstance(node, dict):
            raise ModelFileError(path, key, f"{t!r} is not a table")
    node[last] = value


# ------------------------------------------------------------------ checking
def _check(path, doc):
    _keys(path, "", doc, TOP)
    _keys(path, "network.", doc.get("network", {}), NETWORK)
    exchange = doc.get("network", {}).get("exchange", "alltoall")
    if exchange not in EXCHANGES:
        raise ModelFileError(path, "network.exchange", f"expected one of {', '.join(EXCHANGES)}, got "
                             f"{exchange!r}" + suggest(exchange, EXCHANGES))
    run = doc.get("run", {})
    _keys(path, "run.", run, RUN)
    for key in ("t", "checkpoint_every", "flush_every"):
        lower = 0 if key == "t" else 0.0
        if key in run and not (math.isfinite(run[key]) and run[key] >= lower and (key == "t" or run[key] > 0)):
            raise ModelFileError(path, f"run.{key}", f"expected a duration {'>= 0' if key == 't' else '> 0'} "
                                 f"ms, got {run[key]!r}")
    if run.get("backend", "cpu") not in BACKENDS:
        raise ModelFileError(path, "run.backend", f"expected one of {', '.join(BACKENDS)}, got "
                             f"{run['backend']!r}" + suggest(run["backend"], BACKENDS))
    if "builder" in doc:
        _check_builder(path, doc)
    else:
        _check_network(path, doc)
    names = _names(doc)
    for i, r in enumerate(doc.get("recordings", [])):
        where = f"recordings[{i}]."
        _keys(path, where, r, RECORDING)
        if names is not None and r["population"] not in names:
            raise ModelFileError(path, where + "population", f"unknown population {r['population']!r}"
                                 + suggest(r["population"], names))


def _keys(path, where, table, spec):
    """Check that ``table`` has the required keys of ``spec``, only known keys, right types."""
    if not isinstance(table, dict):
        raise ModelFileError(path, where.rstrip(".") or "file", f"expected a table, got {table!r}")
    for key, value in table.items():
        if key not in spec:
            raise ModelFileError(path, where + key, "unknown key" + suggest(key, spec)
                                 + f"; expected one of {', '.join(spec)}")
        _type(path, where + key, value, spec[key][0])
    for key, (_, required) in spec.items():
        if required and key not in table:
            raise ModelFileError(path, where + key, "missing")


def _type(path, key, value, types):
    if types == "value":
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            raise ModelFileError(path, key, f"expected a number, a distribution table or an "
                                 f"{{array = [...]}} table, got {value!r}")
        if isinstance(value, dict):
            _distribution(path, key, value)
        return
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        expected = " or ".join(_TYPE_NAMES[t] for t in dict.fromkeys(
            float if t is int and float in types else t for t in types))
        raise ModelFileError(path, key, f"expected {expected}, got {value!r}")


def _distribution(path, key, table):
    if "array" in table or "array_ref" in table:
        return
    try:
        if not isinstance(from_description(table), Distribution):
            raise TypeError("not a distribution")
    except KeyError:
        kinds = ["uniform", "normal", "clipped_normal", "gaussian", "exponential", "linear"]
        raise ModelFileError(path, f"{key}.distribution", f"unknown distribution "
                             f"{table.get('distribution')!r}" + suggest(table.get("distribution"), kinds)
                             + f"; expected one of {', '.join(kinds)}") from None
    except (TypeError, ModelError) as exc:
        raise ModelFileError(path, key, f"expected a distribution table ({{distribution = "
                             f"\"normal\", mean = …, std = …}} or uniform/clipped_normal): {exc}") from None


def _check_builder(path, doc):
    builder = doc["builder"]
    for key in ("populations", "inputs", "projections", "order"):
        if key in doc:
            raise ModelFileError(path, key, "a model file with [builder] cannot also list " + key)
    name = builder.get("name")
    if name not in models.BUILDERS:
        raise ModelFileError(path, "builder.name", f"unknown builder {name!r}" + suggest(name, models.BUILDERS)
                             + f"; expected one of {', '.join(models.BUILDERS)}")
    params = list(inspect.signature(models.BUILDERS[name]).parameters)[1:]
    for key, value in builder.items():
        if key != "name" and key not in params:
            raise ModelFileError(path, f"builder.{key}", f"not an argument of {name}"
                                 + suggest(key, params) + f"; expected one of {', '.join(params)}")
        if key not in ("name", "synapse") and (isinstance(value, bool) or not isinstance(value, _NUMBER)):
            raise ModelFileError(path, f"builder.{key}", f"expected a number, got {value!r}")


def _check_network(path, doc):
    if not doc.get("populations"):
        raise ModelFileError(path, "populations", "missing: a model needs [[populations]] "
                             "(or a [builder])")
    for i, p in enumerate(doc["populations"]):
        _keys(path, f"populations[{i}].", p, POPULATION)
        for key, value in p.get("params", {}).items():
            if key != "spike_times":          # spike_source: {times_ms, counts} arrays
                _type(path, f"populations[{i}].params.{key}", value,
                      "value" if not isinstance(value, bool) else (bool,))
    for i, d in enumerate(doc.get("inputs", [])):
        _keys(path, f"inputs[{i}].", d, _input_keys(path, f"inputs[{i}].kind", d.get("kind", "poisson")))
    names = _names(doc)
    seen = set()
    for name in names:
        if name in seen:
            raise ModelFileError(path, "populations", f"the name {name!r} is used twice")
        seen.add(name)
    if "order" in doc and sorted(map(str, doc["order"])) != sorted(names):
        unknown = [n for n in doc["order"] if n not in names]
        raise ModelFileError(path, "order", f"unknown population {unknown[0]!r}" + suggest(unknown[0], names)
                             if unknown else f"must name each population and input once: {', '.join(names)}")
    for i, p in enumerate(doc.get("projections", [])):
        where = f"projections[{i}]."
        _keys(path, where, p, {**PROJECTION, **{k: v for k, v in RULE_ARGS.items() if k in p}})
        for side in ("pre", "post"):
            for name in _selection_names(p[side]):
                if name not in names:
                    raise ModelFileError(path, where + side, f"unknown population {name!r}"
                                         + suggest(name, names))


def _input_keys(path, key, kind):
    """The keys of an input of ``kind``: ``poisson`` (rate) or a stimulation device's
    parameters (numbers, or lists of numbers for times and values)."""
    if kind == "poisson":
        return INPUT
    if kind not in KINDS:
        raise ModelFileError(path, key, f"unknown input kind {kind!r}" + suggest(kind, ["poisson", *KINDS])
                             + f"; expected one of poisson, {', '.join(KINDS)}")
    return {**{k: v for k, v in INPUT.items() if k not in ("rate", "per_step")},
            **{k: ((list,) if isinstance(d, list) else _NUMBER, False) for k, d in KINDS[kind].PARAMS.items()}}


def _names(doc):
    """Names of populations and inputs (None for a builder: known only once built)."""
    if "builder" in doc:
        return None
    return [p["name"] for p in doc.get("populations", [])] + [d["name"] for d in doc.get("inputs", [])]


def _selection_names(sel):
    parts = [sel] if isinstance(sel, str) else sel
    return [p if isinstance(p, str) else p.get("population", p.get("poisson", p.get("device")))
            for p in parts]


# ------------------------------------------------------------------ file <-> description
def _as_value(v):
    """A list in a file stands for an array."""
    return {"array": v} if isinstance(v, list) else v


def _expanded(doc):
    """The description dict (:mod:`bigbrain.description`) of a file's explicit network."""
    inputs = {d["name"] for d in doc.get("inputs", [])}

    def selection(sel):
        parts = [sel] if isinstance(sel, str) else sel
        out = []
        for p in parts:
            if isinstance(p, str):
                p = {"poisson": p} if p in inputs else {"population": p}
            if "population" in p:
                p = {"population": p["population"], "ids": _as_value(p.get("ids", "all"))}
            out.append(p)
        return out

    desc = {"populations": [{"params": {}, **p} for p in doc["populations"]],
            "inputs": [{"kind": "poisson", "size": 1, **d} for d in doc.get("inputs", [])],
            "projections": [{"rule": "all_to_all", "weight": 1.0, "delay": 1.0, **DEFAULTS,
                             "synapse": None, **p, "pre": selection(p["pre"]),
                             "post": selection(p["post"])} for p in doc.get("projections", [])]}
    for p in desc["projections"]:
        for key in ("sources", "targets"):
            if key in p:
                p[key] = from_description(_as_value(p[key]))
    desc["order"] = doc.get("order") or _file_order(desc)
    return desc


def _file_order(desc):
    """The creation order a file implies without ``order``: populations, then inputs."""
    return [p["name"] for p in desc["populations"]] + [d["name"] for d in desc["inputs"]]


def _compact(desc):
    """A description without what the file's defaults imply (for :func:`write`)."""
    out = {"populations": [{k: v for k, v in p.items() if k != "first_gid"} for p in desc["populations"]]}
    if desc["inputs"]:
        out["inputs"] = [{k: v for k, v in d.items() if not (k, v) in (("kind", "poisson"), ("size", 1))}
                         for d in desc["inputs"]]
    if desc["projections"]:
        out["projections"] = [{k: _short_selection(v) if k in ("pre", "post") else v
                               for k, v in p.items() if v is not None and DEFAULTS.get(k, object()) != v}
                              for p in desc["projections"]]
    if desc["recordings"]:
        out["recordings"] = [{k: v for k, v in r.items() if v is not None and (k, v) != ("ids", "all")}
                             for r in desc["recordings"]]
    if desc["order"] != _file_order(desc):
        out["order"] = desc["order"]
    return out


def _short_selection(parts):
    names = [p.get("poisson") or p.get("device") or p["population"] for p in parts
             if p.get("ids", "all") == "all"]
    return (names[0] if len(names) == 1 else names) if len(names) == len(parts) else parts
