"""SONATA networks in: ``load(config_path, net)`` describes a SONATA circuit in ``net``.

SONATA (the Allen Institute / Blue Brain format, the Brain Modeling Toolkit's) stores
nodes and edges in HDF5 files with CSV type tables; a circuit config names the files, a
simulation config adds the ``run`` block (``tstop``, ``dt`` in ms) and ``inputs``.

What is read, and how it maps onto bigbrain:

* Node populations. Nodes of ``model_type`` ``point_neuron`` / ``point_process`` with
  ``model_template`` ``nest:<model>`` (a model bigbrain has: ``iaf_psc_delta``,
  ``iaf_psc_exp``) become bigbrain populations; parameters (NEST names and units) come
  from the node type's ``dynamics_params`` JSON file and from per-node HDF5 columns named
  as parameters (in the node group or its ``dynamics_params`` subgroup). Per-node values
  must be equal within a node type (per-neuron parameter arrays are not supported yet),
  except the initial ``V_m``. A SONATA population becomes one bigbrain population per run
  of consecutive node ids of one node type: named like the SONATA population when it is
  one run, else ``<population>@<first node id>``; SONATA node id = first node id + the
  bigbrain id, which is how :mod:`bigbrain.export` maps spikes back.
* ``model_type`` ``virtual`` nodes become ``net.spike_source`` populations whose trains
  come from the simulation config's ``inputs`` (``input_type: spikes``, ``module``
  ``sonata``/``h5``, ``input_file``, ``node_set`` = the population name); times (ms) must lie
  on the dt grid and be >= dt.
* Edge populations become one connection each (rule ``sonata_edges``) from the source
  population to the target population. Weight = ``syn_weight`` × ``nsyns`` (as the BMTK's
  PointNet), ``delay`` (ms); each from the edge's group column, else its edge type's CSV
  value. Edge ``model_template`` must be ``static_synapse``; ``weight_function`` must be
  absent, NULL or ``default_weight_fnc`` (that plain product).
* Each rank reads only the edges onto its own neurons: through the index
  ``indices/target_to_source`` where present (HDF5 hyperslabs of the needed edge ranges),
  else by scanning ``target_node_id`` block by block. The archive's description refers to
  the edge files (path and population); it does not copy the edges.

Everything is checked before the build; a network bigbrain cannot run raises
:class:`~bigbrain.errors.ModelError` naming the file, the population and the field, the
same on every rank (every rank reads the same node files and edge metadata). h5py is used
(not libsonata): pynwb needs it anyway, and reading by hyperslab and in blocks needs only
HDF5 itself.
"""
import csv
import json
import math
import re
from pathlib import Path

import numpy as np

from .arrays import ranges
from .connectivity import Rule, register_rule
from .distributions import Distribution
from .backends import RUN_BACKENDS as BACKENDS
from .errors import ModelError
from .network import Network
from .neurons import MODELS
from .population import Selection
from .errors import number

BLOCK = 1 << 22
NEURON_TYPES = ("point_neuron", "point_process")
PLAIN_WEIGHT_FUNCTIONS = ("", "NULL", "default_weight_fnc")
MAX_TYPE_CONNECTIONS = 16
CHUNK_CACHE_BYTES = 1 << 26


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - the optional extra
        raise ModelError("sonata", "reading SONATA needs h5py: pip install 'bigbrain[sonata]'") from None
    return h5py


# ------------------------------------------------------------------ configs
class Config:
    """A SONATA simulation or circuit config, with manifest variables resolved and paths
    made absolute. ``nodes``/``edges``: lists of dicts of files; ``run``: {tstop, dt};
    ``inputs``: the inputs block; ``path``: the file read."""

    def __init__(self, path):
        self.path = Path(path).resolve()
        doc = self._resolve(_json(self.path, "config"), self.path.parent)
        if isinstance(doc.get("network"), str):  # a simulation config naming its circuit config
            circuit_path = Path(doc.pop("network"))
            circuit = self._resolve(_json(circuit_path, "network"), circuit_path.parent)
            doc["networks"] = doc.get("networks") or circuit.get("networks", {})
            doc["components"] = {**circuit.get("components", {}), **doc.get("components", {})}
        self.doc = doc
        nets = self.doc.get("networks", {})
        self.nodes, self.edges = nets.get("nodes", []), nets.get("edges", [])
        self.components = self.doc.get("components", {})
        self.run = self.doc.get("run", {})
        self.inputs = self.doc.get("inputs", {})
        self.output = self.doc.get("output", {})

    @staticmethod
    def _resolve(doc, folder):
        """``doc`` with ``$NAME``/``${NAME}`` of its manifest substituted and relative file
        paths made absolute (relative to ``folder``, the config's)."""
        manifest = {"configdir": str(folder)}
        for key, value in doc.get("manifest", {}).items():
            manifest[key.lstrip("$").strip("{}")] = value

        def sub(text):
            for _ in range(10):
                new = re.sub(r"\$\{?(\w+)\}?", lambda m: str(manifest.get(m.group(1), m.group(0))), text)
                if new == text:
                    break
                text = new
            return text

        def walk(value):
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items() if k != "manifest"}
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, str):
                text = sub(value)
                if text.startswith(("./", "../")) or text.endswith((".h5", ".csv", ".json", ".hdf5")):
                    path = Path(text)
                    return str(path if path.is_absolute() else (Path(folder) / path).resolve())
                return text
            return value

        return walk(doc)

    def file(self, entry, key, what):
        """The path ``entry[key]`` (``what`` names the config entry), refused if missing."""
        if key not in entry:
            raise ModelError(f"{self.path}: {what}.{key}", "missing")
        path = Path(entry[key])
        if not path.is_file():
            raise ModelError(f"{self.path}: {what}.{key}", f"file not found: {path}")
        return path


def _json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}", f"{what} file not found") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}", f"not JSON: {exc}") from None


def _types(path, key):
    """A SONATA type table (space-separated CSV): type id -> {column: value or None}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=" ", skipinitialspace=True))
    if rows and key not in rows[0]:
        raise ModelError(f"{path}: {key}", "column missing")
    out = {}
    for row in rows:
        try:
            out[int(row[key])] = {k: (None if v in (None, "", "NULL") else v) for k, v in row.items()}
        except ValueError:
            raise ModelError(f"{path}: {key}", f"must be an integer, got {row[key]!r}") from None
    return out


def _numeral(text):
    """A table entry as a float where it reads as one (else as it is, for the check)."""
    try:
        return float(text)
    except ValueError:
        return text


# ------------------------------------------------------------------ nodes
class NodePopulation:
    """One SONATA node population as bigbrain populations (``parts``: runs of node ids)."""

    def __init__(self, name, size, parts, virtual):
        self.name, self.size, self.parts, self.virtual = name, size, parts, virtual

    def selection(self):
        """All nodes, in node-id order: position = SONATA node id."""
        return Selection([(pop, np.arange(pop.size)) for pop in self.parts])


def _read_nodes(cfg, entry, net, spike_trains):
    h5py = _h5py()
    nodes_file = cfg.file(entry, "nodes_file", "networks.nodes")
    types_file = cfg.file(entry, "node_types_file", "networks.nodes")
    types = _types(types_file, "node_type_id")
    out = []
    with h5py.File(nodes_file, "r") as f:
        if "nodes" not in f:
            raise ModelError(f"{nodes_file}: /nodes", "group missing")
        for name, grp in f["nodes"].items():
            where = f"{nodes_file}: population {name!r}"
            type_ids = _column(grp, "node_type_id", where, "iu")
            n = type_ids.size
            if "node_id" in grp and not np.array_equal(_column(grp, "node_id", where, "iu"), np.arange(n)):
                raise ModelError(f"{where}.node_id", "node ids must be 0 … N-1 in order")
            runs = np.flatnonzero(np.diff(type_ids)) + 1
            starts, stops = np.r_[0, runs], np.r_[runs, n]
            virtual = {_node_type(types, int(t), types_file, name)["model_type"] == "virtual"
                       for t in np.unique(type_ids)}
            if len(virtual) > 1:
                raise ModelError(f"{where}.model_type", "mixes virtual and other nodes")
            parts = []
            for lo, hi in zip(starts.tolist(), stops.tolist()):
                pop_name = name if len(starts) == 1 else f"{name}@{lo}"
                t = int(type_ids[lo])
                if virtual == {True}:
                    parts.append(net.spike_source(pop_name, spike_trains[name].trains(lo, hi)
                                                  if name in spike_trains else [[]] * (hi - lo)))
                else:
                    model, params = _neuron_type(cfg, types, t, types_file, name, grp, lo, hi, net)
                    parts.append(net.population(pop_name, hi - lo, model, **params))
            out.append(NodePopulation(name, n, parts, virtual == {True}))
    return out


def _node_type(types, t, types_file, pop):
    if t not in types:
        raise ModelError(f"{types_file}: population {pop!r}.node_type_id", f"type {t} not in the table")
    row = types[t]
    if row.get("model_type") is None:
        raise ModelError(f"{types_file}: node_type_id {t}.model_type", "missing")
    return row


def _neuron_type(cfg, types, t, types_file, pop, grp, lo, hi, net):
    """(bigbrain model, parameters) of the nodes lo … hi-1 (all of node type ``t``)."""
    row = types[t]
    where = f"{types_file}: population {pop!r} node_type_id {t}"
    if row["model_type"] not in NEURON_TYPES:
        raise ModelError(f"{where}.model_type", f"bigbrain runs {' or '.join(NEURON_TYPES)} and "
                         f"virtual nodes, got {row['model_type']!r}")
    template = row.get("model_template") or ""
    model = template.split(":", 1)[1] if template.startswith("nest:") else None
    if model not in MODELS or model == "spike_source":
        known = ", ".join(f"nest:{m}" for m in MODELS if m != "spike_source")
        raise ModelError(f"{where}.model_template", f"bigbrain has no model {template!r} "
                         f"(it has {known})")
    params = {}
    if row.get("dynamics_params"):
        path = Path(cfg.components.get("point_neuron_models_dir", types_file.parent)) / row["dynamics_params"]
        params = _json(path, f"{where}.dynamics_params")
        if not isinstance(params, dict):
            raise ModelError(f"{path}", "must hold a JSON object of parameters")
    params.update(_node_columns(grp, lo, hi, MODELS[model].params,
                                f"{grp.file.filename}: population {pop!r}"))
    try:
        return model, MODELS[model].complete(where, params)
    except ModelError as exc:
        raise ModelError(exc.field, str(exc)[len(exc.field) + 2:]) from None


def _node_columns(grp, lo, hi, known, where):
    """Per-node parameter columns of nodes lo … hi-1: one number where every node has the
    same value (the kernels then run their homogeneous code), else one value per node
    (per-neuron parameters)."""
    group_ids = grp["node_group_id"][lo:hi]
    index = grp["node_group_index"][lo:hi]
    per_node = {}
    for g in np.unique(group_ids).tolist():
        group = grp[str(g)]
        columns = dict(group.items())
        if "dynamics_params" in group:
            columns.update(group["dynamics_params"].items())
        for key, data in columns.items():
            if key not in known or not hasattr(data, "dtype"):
                continue
            if data.dtype.kind not in "iufb":
                raise ModelError(f"{where} group {g}.{key}",
                                 f"must be numbers, got HDF5 type {data.dtype}")
            column = per_node.setdefault(key, np.full(hi - lo, np.nan))
            column[group_ids == g] = data[...][index[group_ids == g]]
    out = {}
    for key, values in per_node.items():
        if np.isnan(values).any():
            raise ModelError(f"{where}.{key}", "given for some nodes of a node type only")
        same = key != "V_m" and np.all(values == values[0])
        out[key] = _as_default_type(known[key][0], values[0]) if same else values
    return out


def _as_default_type(default, value):
    """A column's value as the parameter's table has it (true/false or a number)."""
    return bool(value) if isinstance(default, bool) else float(value)


def _column(grp, key, where, kinds):
    if key not in grp:
        raise ModelError(f"{where}.{key}", "dataset missing")
    data = grp[key]
    if data.dtype.kind not in kinds:
        raise ModelError(f"{where}.{key}", f"wrong type {data.dtype}")
    return data[...]


# ------------------------------------------------------------------ spike inputs
class SpikeTrains:
    """Spike times (ms) of the nodes of one population from a SONATA spike file."""

    def __init__(self, path, population, dt):
        h5py = _h5py()
        where = f"{path}: /spikes/{population}"
        with h5py.File(path, "r") as f:
            grp = f.get(f"spikes/{population}", f.get("spikes"))
            if grp is None:
                raise ModelError(where, "group missing")
            key = "node_ids" if "node_ids" in grp else "gids"
            ids = _column(grp, key, where, "iu").astype(np.int64)
            times = _column(grp, "timestamps", where, "iuf").astype(np.float64)
        if ids.shape != times.shape:
            raise ModelError(f"{where}.timestamps", f"has {times.size} entries, {key} {ids.size}")
        steps = np.rint(times / dt)
        if times.size and (np.abs(steps * dt - times).max() > 1e-6 * dt or steps.min() < 1):
            raise ModelError(f"{where}.timestamps", f"spike times must lie on the dt = {dt} ms "
                             "grid and be >= dt")
        order = np.lexsort((times, ids))
        self.ids, self.times, self.where = ids[order], steps[order] * dt, where

    def trains(self, lo, hi):
        """Spike times of nodes lo … hi-1, one array per node."""
        bounds = np.searchsorted(self.ids, np.arange(lo, hi + 1))
        return [self.times[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def check(self, size):
        if self.ids.size and (self.ids.min() < 0 or self.ids.max() >= size):
            raise ModelError(f"{self.where}.node_ids", f"node ids must be in [0, {size})")


def _spike_inputs(cfg, dt):
    """population name -> :class:`SpikeTrains` of the simulation config's inputs."""
    out = {}
    for name, spec in cfg.inputs.items():
        where = f"{cfg.path}: inputs.{name}"
        if spec.get("input_type") != "spikes" or spec.get("module") not in ("sonata", "h5", "hdf5"):
            raise ModelError(f"{where}.input_type", "bigbrain reads spike inputs (input_type "
                             "'spikes', module 'sonata' or 'h5')")
        pop = spec.get("node_set")
        pop = pop.get("population") if isinstance(pop, dict) else pop
        if not isinstance(pop, str):
            raise ModelError(f"{where}.node_set", "must name a virtual node population")
        out[pop] = SpikeTrains(cfg.file(spec, "input_file", f"inputs.{name}"), pop, dt)
    return out


# ------------------------------------------------------------------ edges
class EdgeFile:
    """One edge population: its file, types and the per-type values of weight and delay."""

    def __init__(self, path, types_file, population, grp):
        self.path, self.population, self.types_file = str(path), population, str(types_file)
        self.where = f"{path}: population {population!r}"
        self.n = grp["target_node_id"].shape[0]
        self.source = grp["source_node_id"].attrs.get("node_population")
        self.target = grp["target_node_id"].attrs.get("node_population")
        for side, value in (("source_node_id", self.source), ("target_node_id", self.target)):
            if value is None:
                raise ModelError(f"{self.where}.{side}", "attribute node_population missing")
            if grp[side].dtype.kind not in "iu":
                raise ModelError(f"{self.where}.{side}", f"wrong type {grp[side].dtype}")
        self.source, self.target = (str(np.asarray(v).astype(str)) for v in (self.source, self.target))
        self.types = _types(types_file, "edge_type_id")
        self.groups = sorted(int(k) for k in grp if k.isdigit())
        self.columns = {g: set(grp[str(g)].keys()) for g in self.groups}
        self.indexed = "indices/target_to_source/node_id_to_range" in grp

    @classmethod
    def open(cls, ref):
        """The EdgeFile of a description's reference {file, population, types_file}."""
        with _open(ref["file"]) as f:
            return cls(ref["file"], Path(ref["types_file"]), ref["population"],
                       f["edges"][ref["population"]])

    def ref(self):
        """{file, population, types_file}: how a description refers to these edges."""
        return {"file": self.path, "population": self.population, "types_file": self.types_file}

    def type_values(self, key, types_file):
        """Per-type value of ``key`` (NaN where the table has none), as a lookup array."""
        ids = np.array(sorted(self.types), np.int64)
        table = np.full(int(ids.max()) + 1 if ids.size else 1, np.nan)
        for t in ids.tolist():
            v = self.types[t].get(key)
            if v is not None:
                table[t] = number(f"{types_file}: edge_type_id {t}.{key}", _numeral(v))
        return table


def _read_edges(cfg, entry, nodes, comm):
    h5py = _h5py()
    path = cfg.file(entry, "edges_file", "networks.edges")
    types_file = cfg.file(entry, "edge_types_file", "networks.edges")
    out = []
    with h5py.File(path, "r") as f:
        if "edges" not in f:
            raise ModelError(f"{path}: /edges", "group missing")
        for name, grp in f["edges"].items():
            edges = EdgeFile(path, types_file, name, grp)
            for side in (edges.source, edges.target):
                if side not in nodes:
                    raise ModelError(f"{edges.where}.node_population", f"unknown node population {side!r}")
            if nodes[edges.target].virtual:
                raise ModelError(f"{edges.where}.target_node_id", f"virtual nodes ({edges.target!r}) "
                                 "cannot receive edges")
            _check_node_ids(edges, grp, (nodes[edges.source].size, nodes[edges.target].size), comm)
            values = _EdgeValues(edges, grp, types_file, comm)
            out.append((edges, values))
    return out


class _EdgeValues:
    """Checks an edge population's weights and delays before the build (block by block)
    and makes the two :class:`EdgeColumn` values of its connection."""

    def __init__(self, edges, grp, types_file, comm=None):
        for t, row in edges.types.items():
            where = f"{types_file}: edge_type_id {t}"
            if (row.get("model_template") or "static_synapse") != "static_synapse":
                raise ModelError(f"{where}.model_template", "bigbrain reads static_synapse edges "
                                 f"only, got {row['model_template']!r}")
            if (row.get("weight_function") or "") not in PLAIN_WEIGHT_FUNCTIONS:
                raise ModelError(f"{where}.weight_function", f"bigbrain cannot evaluate "
                                 f"{row['weight_function']!r} (it takes syn_weight × nsyns)")
        for g in edges.groups:
            if "weight_function" in edges.columns[g]:
                raise ModelError(f"{edges.where} group {g}.weight_function", "per-edge weight "
                                 "functions cannot be evaluated by bigbrain")
        weight = edges.type_values("syn_weight", types_file)
        delay = edges.type_values("delay", types_file)
        if self.by_type(edges):
            self.parts = [(t, _given(weight[t], f"{types_file}: edge_type_id {t}.syn_weight"),
                           _given(delay[t], f"{types_file}: edge_type_id {t}.delay"))
                          for t in sorted(edges.types)]
        else:
            columns = EdgeColumn(edges, "syn_weight", weight), EdgeColumn(edges, "delay", delay)
            for column in columns:
                column.check(grp, comm)
            self.parts = [(None, *columns)]

    @staticmethod
    def by_type(edges):
        """Whether to make one connection per edge type, each with its type's weight and
        delay (stored once, not per synapse): no per-edge weight, nsyns or delay columns,
        and few types (each connection reads the edge ids of its targets once)."""
        per_edge = {"syn_weight", "nsyns", "delay"}
        return len(edges.types) <= MAX_TYPE_CONNECTIONS and not any(
            per_edge & edges.columns[g] for g in edges.groups)


def _given(value, field):
    if not math.isfinite(value):
        raise ModelError(field, "missing (NULL), and the edges have no such column")
    return float(value)


class EdgeColumn(Distribution):
    """Per-edge weights or delays of a SONATA edge population, read for the edges a rank
    builds (``sample``'s ``index`` are edge ids): the group column where there is one, else
    the edge type's value; weights times ``nsyns`` where there is such a column."""

    def __init__(self, edges, key, per_type):
        self.edges, self.key, self.per_type = edges, key, per_type
        self.lo, self.hi = math.inf, -math.inf

    def describe(self):
        return {"distribution": "sonata_edges", "edges": self.edges.ref(), "column": self.key}

    @classmethod
    def from_description(cls, d):
        """The column of a description (a resumed run): the files are read and checked again."""
        edges = EdgeFile.open(d["edges"])
        column = cls(edges, d["column"], edges.type_values(d["column"], edges.types_file))
        with _open(edges.path) as f:
            column.check(f["edges"][edges.population])
        return column

    def bounds(self):
        return self.lo, self.hi

    def check(self, grp, comm=None):
        """Every edge has a finite value; sets ``bounds``. The ranks share the pass over the
        edges (:func:`_blocks`) and agree on the result, so the error is the same on all."""
        if comm is None:
            lo, hi, bad = self._scan(grp, None)
        else:
            lo, hi, bad = comm.agree(self._scan, grp, comm)
            lo, hi, bad = comm.allreduce_min(lo), comm.allreduce_max(hi), comm.allreduce_min(bad)
        if bad < self.edges.n:
            raise ModelError(f"{self.edges.where}.{self.key}", f"edge {bad} (type "
                             f"{int(grp['edge_type_id'][bad])}) has no finite value: neither "
                             "its group column nor its edge type gives one")
        self.lo, self.hi = lo, hi

    def _scan(self, grp, comm):
        """(lowest, highest finite value, first edge without one) of this rank's blocks."""
        lo, hi, bad = math.inf, -math.inf, self.edges.n
        for ids in _blocks(self.edges.n, comm):
            values = self._values(grp, ids)
            wrong = np.flatnonzero(~np.isfinite(values))
            if wrong.size:
                bad = min(bad, int(ids[wrong[0]]))
            values = values[np.isfinite(values)]
            if values.size:
                lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
        return lo, hi, bad

    def _values(self, grp, ids):
        types = _take(grp["edge_type_id"], ids).astype(np.int64)
        if types.size and (types.max() >= self.per_type.size or types.min() < 0):
            raise ModelError(f"{self.edges.where}.edge_type_id", "refers to a type not in the table")
        values = self.per_type[types] if types.size else np.zeros(0)
        group_ids = _take(grp["edge_group_id"], ids) if self.edges.groups else np.zeros(0, int)
        index = _take(grp["edge_group_index"], ids) if self.edges.groups else np.zeros(0, int)
        for g in self.edges.groups:
            at = group_ids == g
            if not at.any():
                continue
            for key in (self.key, "nsyns") if self.key == "syn_weight" else (self.key,):
                if key not in self.edges.columns[g]:
                    continue
                data = grp[str(g)][key]
                if data.dtype.kind not in "iuf":
                    raise ModelError(f"{self.edges.where} group {g}.{key}", f"must be numbers, got "
                                     f"HDF5 type {data.dtype}")
                column = _take(data, index[at].astype(np.int64))
                values[at] = column if key == self.key else values[at] * column
        return values

    def sample(self, stream, ids, index):
        with _open(self.edges.path) as f:
            return self._values(f["edges"][self.edges.population], np.asarray(index, np.int64))


def _blocks(n, comm=None):
    """Edge ids of this rank's share of a pass over ``n`` edges: blocks of ``BLOCK``,
    block k on rank k mod P (all blocks without ``comm``)."""
    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    for start in range(rank * BLOCK, n, size * BLOCK):
        yield np.arange(start, min(start + BLOCK, n))


def _check_node_ids(edges, grp, sizes, comm):
    """Source and target node ids lie in their populations (a pass shared by the ranks)."""
    def highest():
        top = np.full(2, -1, np.int64)
        for ids in _blocks(edges.n, comm):
            for k, side in enumerate(("source_node_id", "target_node_id")):
                top[k] = max(top[k], int(grp[side][ids[0]:ids[-1] + 1].max()))
        return top

    top = comm.allreduce_max_array(comm.agree(highest))
    for k, side in enumerate(("source_node_id", "target_node_id")):
        if top[k] >= sizes[k]:
            raise ModelError(f"{edges.where}.{side}", f"node ids must be < {sizes[k]} (the size "
                             f"of the node population), got {int(top[k])}")


def _open(path):
    """An edge file opened for reading, with a chunk cache large enough for the column
    chunks that one block of edges touches."""
    return _h5py().File(path, "r", rdcc_nbytes=CHUNK_CACHE_BYTES)


def _take(data, ids):
    """``data[ids]`` for sorted or unsorted ids: one hyperslab from min to max, then a gather."""
    if ids.size == 0:
        return np.zeros(0, data.dtype)
    lo, hi = int(ids.min()), int(ids.max()) + 1
    if ids.size == hi - lo and np.all(ids[1:] > ids[:-1]):  # a whole range, in order
        return data[lo:hi]
    return data[lo:hi][ids - lo]


class SonataEdges(Rule):
    """Rule ``sonata_edges``: the edges of one SONATA edge population onto this rank's
    targets (positions in the pre and post selections are SONATA node ids; the ordinal is
    the edge id)."""

    name = "sonata_edges"

    def __init__(self, edges, edge_type=None):
        self.edges = edges if isinstance(edges, EdgeFile) else EdgeFile.open(edges)
        self.edge_type = edge_type

    def check(self, spec):
        self.expected_per_target = self.edges.n / max(len(spec.post), 1)

    def chunks(self, spec, seed, local, post_gids):
        if self.edges.indexed:
            yield from super().chunks(spec, seed, local, post_gids)
            return
        mine = np.zeros(len(spec.post), bool)
        mine[local] = True
        with _open(self.edges.path) as f:
            grp = f["edges"][self.edges.population]
            for start in range(0, max(self.edges.n, 1), BLOCK):
                target = grp["target_node_id"][start:start + BLOCK].astype(np.int64)
                keep = np.flatnonzero(mine[target]) + start
                keep = self._of_type(grp, keep)
                source = _take(grp["source_node_id"], keep).astype(np.int64)
                yield source, target[keep - start], keep

    def _of_type(self, grp, edge_ids):
        """The edges of ``edge_ids`` of this connection's edge type (all if None)."""
        if self.edge_type is None:
            return edge_ids
        return edge_ids[_take(grp["edge_type_id"], edge_ids) == self.edge_type]

    def generate(self, spec, seed, post_pos, post_gids):
        """Edges onto targets ``post_pos`` through the index ``target_to_source``."""
        with _open(self.edges.path) as f:
            grp = f["edges"][self.edges.population]
            index = grp["indices/target_to_source"]
            post_pos = np.asarray(post_pos, np.int64)
            listed = post_pos < index["node_id_to_range"].shape[0]  # the index may stop at
            rows = np.zeros((post_pos.size, 2), np.int64)           # the last target node
            rows[listed] = _take(index["node_id_to_range"], post_pos[listed]).reshape(-1, 2)
            n_ranges = np.maximum(rows[:, 1] - rows[:, 0], 0)
            range_ids = ranges(rows[:, 0], n_ranges)
            spans = _take(index["range_to_edge_id"], range_ids).astype(np.int64).reshape(-1, 2)
            n_edges = spans[:, 1] - spans[:, 0]
            edge_ids = ranges(spans[:, 0], n_edges)
            per_target = np.repeat(np.repeat(np.asarray(post_pos, np.int64), n_ranges), n_edges)
            if self.edge_type is not None:
                mine = _take(grp["edge_type_id"], edge_ids) == self.edge_type
                edge_ids, per_target = edge_ids[mine], per_target[mine]
            source = _take(grp["source_node_id"], edge_ids).astype(np.int64)
        return source, per_target, edge_ids

    def describe(self):
        return {"rule": self.name, "edges": self.edges.ref(), "edge_type": self.edge_type}


register_rule("sonata_edges", SonataEdges, ("edges",), ("edge_type",))


# ------------------------------------------------------------------ entry points
class Loaded:
    """What :func:`load` described: ``populations`` (SONATA name -> :class:`NodePopulation`),
    ``connections``, ``tstop`` and ``dt`` (ms, from the ``run`` block, or None)."""

    def __init__(self, cfg, populations, connections):
        self.config, self.populations, self.connections = cfg, populations, connections
        self.tstop = cfg.run.get("tstop")
        self.dt = cfg.run.get("dt")


def read_config(config_path):
    """The :class:`Config` of a SONATA simulation or circuit config file."""
    return Config(config_path)


def load(config_path, net, record=True):
    """Describe the SONATA network of ``config_path`` (a simulation or circuit config) in
    ``net``; records the spikes of every neuron population if ``record``. Returns a
    :class:`Loaded`. ``net.dt`` must equal the config's ``run.dt`` where it gives one."""
    cfg = config_path if isinstance(config_path, Config) else Config(config_path)
    dt = cfg.run.get("dt")
    if dt is not None and abs(number(f"{cfg.path}: run.dt", dt) - net.dt) > 1e-12:
        raise ModelError(f"{cfg.path}: run.dt", f"is {dt} ms, the network's dt is {net.dt} ms")
    if cfg.run.get("tstop") is not None:
        number(f"{cfg.path}: run.tstop", cfg.run["tstop"])
    if not cfg.nodes:
        raise ModelError(f"{cfg.path}: networks.nodes", "no node files")
    trains = _spike_inputs(cfg, net.dt)
    populations = {}
    for entry in cfg.nodes:
        for pop in _read_nodes(cfg, entry, net, trains):
            if pop.name in populations:
                raise ModelError(f"{cfg.path}: population {pop.name!r}", "defined twice")
            populations[pop.name] = pop
    for name, spikes in trains.items():
        if name not in populations or not populations[name].virtual:
            raise ModelError(f"{spikes.where}", f"inputs must target a virtual node population, "
                             f"got {name!r}")
        spikes.check(populations[name].size)
    connections = []
    for entry in cfg.edges:
        for edges, values in _read_edges(cfg, entry, populations, net.comm):
            for edge_type, weight, delay in values.parts:
                connections.append(net.connect(
                    populations[edges.source].selection(), populations[edges.target].selection(),
                    rule="sonata_edges", edges=edges, edge_type=edge_type, weight=weight, delay=delay))
    if record:
        for pop in populations.values():
            for part in pop.parts if not pop.virtual else ():
                net.record(part, "spikes")
    return Loaded(cfg, populations, connections)


def network(config_path, **network_args):
    """A new :class:`bigbrain.Network` (dt from the config's ``run.dt``, default 0.1 ms)
    with the SONATA network of ``config_path`` loaded; returns (net, :class:`Loaded`)."""
    cfg = Config(config_path)
    net = Network(dt=float(cfg.run.get("dt", 0.1)), **network_args)
    return net, load(cfg, net)


def is_config(path):
    """Whether ``path`` looks like a SONATA config (a .json file)."""
    return str(path).endswith(".json")


class SonataModel:
    """A SONATA config as ``bigbrain run`` takes a model file (the interface of
    :class:`bigbrain.modelfile.Model`): ``run`` holds ``t`` (the config's ``tstop``),
    ``output`` (None), ``checkpoint_every``, ``flush_every``, ``backend``."""

    def __init__(self, path, overrides=()):
        if overrides:
            raise ModelError("--set", "SONATA configs take no --set values; edit the config")
        self.path = str(path)
        self.config = Config(path)
        tstop = self.config.run.get("tstop")
        self.run = {"t": 1000.0 if tstop is None else number(f"{self.path}: run.tstop", tstop),
                    "output": None, "checkpoint_every": None, "flush_every": None, "backend": "cpu"}

    def network(self, comm=None, archive=None, partition=None, backend="cpu"):
        net = Network(dt=float(self.config.run.get("dt", 0.1)), comm=comm, archive=archive,
                      partition=partition or "round_robin", backend=BACKENDS.get(backend, backend))
        load(self.config, net)
        return net
