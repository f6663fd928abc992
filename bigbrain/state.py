"""Reading and changing a network's state: neuron parameters (and V_m) of populations and
selections, and synapse weights of connections, before the build and between runs.

All calls are collective and give the same result on every rank count:

* ``get`` returns every selected neuron's (or synapse's) value on every rank: neurons in
  selection order, synapses in the order of ``Result.weights`` (sorted by post gid, pre
  gid and, among the synapses of one pair, by ordinal);
* ``set`` takes a number, an array with one value per selected neuron (synapse, in that
  order) or a distribution. Before the build it changes the description (a distribution
  stays one, drawn at build from the parameter's stream); between runs it changes the
  built state on each rank, and a distribution draws value ``(id, step)`` from
  :attr:`Purpose.SET_NEURON` (id: gid, aux: population) or :attr:`Purpose.SET_SYNAPSE`
  (id: the synapse's position in that order, aux: connection), index: the step at which
  ``set`` is called times 64 plus the parameter's position, so the values do not depend
  on the ranks. Parameters changed between runs travel in checkpoints.
"""
from types import SimpleNamespace

import numpy as np

from .distributions import Distribution, Stream
from .errors import ModelError, suggest
from .kernels import csr
from .kernels.normalise import normalise_rows
from .neurons.base import check_below, is_per_neuron, local_values
from .projection import check_weights, weight_limits
from .streams import Purpose


# ---------------------------------------------------------------- neurons
def _settable(pop, where, key):
    """Refuse a name that get/set do not take: they take the number parameters of the
    model (V_m included), not its switches (``refractory_input``)."""
    names = [k for k, v in pop.model.params.items() if isinstance(v[0], float)]
    if key in pop.model.params and key not in names:
        raise ModelError(f"{where}.{key}", "is not a number parameter: give it in "
                         "net.population")
    if key not in names:
        raise ModelError(f"{where}.{key}", f"unknown parameter of {pop.model.name}"
                         + suggest(key, names))


def _parts(sel, value, where, key):
    """``value`` split over the parts of selection ``sel``: (population, ids, value part)."""
    if isinstance(value, Distribution) or np.ndim(value) == 0:
        return [(pop, ids, value) for pop, ids in sel.parts]
    values = np.asarray(value, np.float64).ravel()
    if values.size != len(sel):
        raise ModelError(f"{where}.{key}", f"has {values.size} values for {len(sel)} "
                         "selected neurons")
    cut = np.cumsum([len(ids) for _, ids in sel.parts])[:-1]
    return [(pop, ids, part) for (pop, ids), part in zip(sel.parts, np.split(values, cut))]


def _described(net, pop, key, ids):
    """Values of parameter ``key`` of neurons ``ids`` of ``pop`` as described (unbuilt)."""
    gids = pop.first_gid + np.asarray(ids, np.int64)
    values = local_values(pop.params[key], net.seed, pop, key, gids)
    return np.broadcast_to(np.asarray(values, np.float64), gids.shape).copy()


def _check_V_m(pop, block, key):
    """Refuse V_m of a built model whose block does not say where V_m lives (``V_REL`` or
    ``V_ABS``)."""
    if key == "V_m" and block.V_REL is None and block.V_ABS is None:
        raise ModelError(f"population {pop.name!r}.V_m", f"{pop.model.name} does not expose "
                         "its V_m for get/set yet")


def _held_by(block, gids):
    """(positions among ``gids`` that the block holds, their block-local indices)."""
    idx = np.searchsorted(block.gids, gids).clip(0, max(len(block.gids) - 1, 0))
    held = np.flatnonzero(block.gids[idx] == gids) if len(block.gids) else np.zeros(0, np.int64)
    return held, idx[held]


def get_neurons(net, sel, key):
    """``key`` of every neuron of ``sel``, in selection order, on every rank (collective)."""
    out = []
    for pop, ids in sel.parts:
        _settable(pop, f"population {pop.name!r}", key)
        sim = net._simulation
        if sim is None:
            out.append(_described(net, pop, key, ids))
            continue
        block = sim.block_of(pop)
        _check_V_m(pop, block, key)
        held, local = _held_by(block, pop.first_gid + ids)
        pos = net.comm.allgather_array(held.astype(np.int64))
        values = net.comm.allgather_array(block.parameter(key)[local])
        part = np.empty(len(ids))
        part[pos] = values
        out.append(part)
    return np.concatenate(out + [np.zeros(0)])


def set_neurons(net, sel, params):
    """Set parameters (``key=value``) of the neurons of ``sel`` (collective)."""
    checked = []
    for key, value in params.items():
        for pop, ids, part in _parts(sel, value, f"population {sel.parts[0][0].name!r}"
                                     if sel.parts else "set", key):
            where = f"population {pop.name!r}"
            _settable(pop, where, key)
            checked.append((pop, ids, key, pop.model.checked(where, key, part)))
    for pop in {id(p): p for p, *_ in checked}.values():  # each population once
        _check_thresholds(net, pop, [(ids, key, v) for p, ids, key, v in checked if p is pop])
    sim = net._simulation
    if sim is None:
        for pop, ids, key, value in checked:
            _describe_new(net, pop, ids, key, value)
        return
    for pop, ids, key, value in checked:
        _check_built(sim, pop, ids, key, value)
    for pop, ids, key, value in checked:
        _set_built(sim, pop, ids, key, value)
    sim.regroup()


def check_per_neuron(pop, key):
    """Refuse per-neuron values of parameter ``key`` of ``pop`` where its model takes one
    number per population (every backend takes per-neuron values of the others)."""
    if pop.model.block.arguments is None:
        raise ModelError(f"population {pop.name!r}.{key}", f"{pop.model.name} takes one value "
                         "per population; per-neuron values are not supported for it")


def _whole(pop, ids):
    """Whether ``ids`` name every neuron of ``pop``."""
    return len(ids) == pop.size and np.array_equal(np.sort(ids), np.arange(pop.size))


def _check_built(sim, pop, ids, key, value):
    """Refuse a change that the built network cannot take (the same on every rank)."""
    where = f"population {pop.name!r}.{key}"
    block = sim.block_of(pop)
    _check_V_m(pop, block, key)
    if not block.is_state(key) and block.arguments is None:
        raise ModelError(where, f"the parameters of {pop.model.name} cannot change after "
                         "the build")
    if key == "tau_minus":
        raise ModelError(where, "cannot change after the build (STDP traces use it)")
    if not block.is_state(key) and (is_per_neuron(value) or not _whole(pop, ids)):
        check_per_neuron(pop, key)


def _set_built(sim, pop, ids, key, value):
    """Set parameter ``key`` (or V_m) of neurons ``ids`` of ``pop`` on this rank to ``value``
    (checked: a number, one value per id, or a distribution); regroup the blocks after."""
    block = sim.block_of(pop)
    held, local = _held_by(block, pop.first_gid + ids)
    if block.is_state(key) or is_per_neuron(value) or not _whole(pop, ids):
        values = block.parameter(key)
        mine = value[held] if np.ndim(value) > 0 else value
        values[local] = _drawn(sim.net, pop, key, ids[held], mine)
    else:
        values = float(value)
    block.set_parameter(key, values)
    if not block.is_state(key):
        sim.changed.setdefault(pop.name, set()).add(key)


def _check_thresholds(net, pop, changes):
    """Refuse changes ((ids, key, value) of ``pop``) that leave a neuron with V_reset ≥ V_th."""
    if not {"V_reset", "V_th"} & {key for _, key, _ in changes}:
        return
    now = {k: get_neurons(net, pop, k) for k in ("V_reset", "V_th")}
    for ids, key, value in changes:
        if key in now:
            now[key][ids] = _drawn(net, pop, key, ids, value)
    check_below(f"population {pop.name!r}", now["V_reset"], now["V_th"])


def _drawn(net, pop, key, ids, value):
    """The values that ``value`` gives neurons ``ids`` of ``pop``: a distribution draws from
    the build's stream before the build and from the set stream after."""
    gids = pop.first_gid + np.asarray(ids, np.int64)
    if not isinstance(value, Distribution):
        return np.broadcast_to(np.asarray(value, np.float64), gids.shape)
    sim = net._simulation
    if sim is None:
        return local_values(value, net.seed, pop, key, gids)
    index = sim.step * 64 + list(pop.model.params).index(key)
    return value.sample(Stream(net.seed, Purpose.SET_NEURON, pop.index), gids, index)


def _describe_new(net, pop, ids, key, value):
    """Change the description: ``value`` for neurons ``ids`` of ``pop``."""
    if len(ids) == pop.size and np.array_equal(ids, np.arange(pop.size)):
        pop.params[key] = value
        return
    values = _described(net, pop, key, np.arange(pop.size))
    values[ids] = _drawn(net, pop, key, ids, value)
    pop.params[key] = values


# ---------------------------------------------------------------- spike sources
def set_spike_times(net, sel, steps):
    """Give the nodes of spike_source selection ``sel`` the spike time stamps ``steps`` (one
    list per part, one array per node): before the build the description, after it the
    spikes not yet emitted (every new time must lie after the current time)."""
    sim = net._simulation
    if sim is None:
        for (pop, ids), trains in zip(sel.parts, steps):
            pop.params["spike_times_steps"] = list(pop.params["spike_times_steps"])
            for i, train in zip(ids, trains):
                pop.params["spike_times_steps"][i] = train
        return
    for (pop, ids), trains in zip(sel.parts, steps):
        for i, train in zip(ids, trains):
            if len(train) and train[0] <= sim.step:
                raise ModelError(f"population {pop.name!r}.spike_times[{i}]", "must be later "
                                 f"than the current time {sim.step * net.dt} ms")
    for (pop, ids), trains in zip(sel.parts, steps):
        sim.block_of(pop).set_trains(pop.first_gid + ids, [t - 1 for t in trains], sim.step)
        sim.changed.setdefault(pop.name, set()).add("spike_times")


# ---------------------------------------------------------------- synapses
def synapse_order(comm, conn, proj, local_gids):
    """(position of each local synapse of ``proj`` in the order of ``Result.weights``,
    number of synapses of ``conn`` on all ranks) (collective: one allreduce of a count per
    gid). The synapses of a post-synaptic neuron are all on its rank, stored in rows by
    pre gid and, within a row, in the order of their ordinals; so, taken in storage order,
    each synapse of a column (columns ascend with gids) comes next among that post gid's
    synapses, whose first position follows from all neurons' synapse counts."""
    post = proj.backend.to_host(proj.post)
    counts = np.bincount(post, minlength=len(local_gids)).astype(np.int64)
    everyone = np.zeros(_n_gids(conn), np.int64)
    has = np.flatnonzero(counts)
    everyone[local_gids[has]] = counts[has]
    everyone = comm.allreduce_max_array(everyone)   # each gid's count comes from its rank
    first = np.cumsum(everyone) - everyone           # position of each post gid's first synapse
    fill = np.zeros(len(local_gids), np.int64)
    fill[has] = first[local_gids[has]]
    return csr.slots(post, fill), int(everyone.sum())


def _synapse_order(sim, conn, proj):
    """:func:`synapse_order` of a built connection, computed once (the synapses of a
    projection keep their storage order; a change of static weights forgets it)."""
    if conn.index not in sim.synapse_orders:
        sim.synapse_orders[conn.index] = synapse_order(sim.comm, conn, proj, sim.local_gids)
    return sim.synapse_orders[conn.index]


def _n_gids(conn):
    """Number of gids up to the highest post-synaptic gid of ``conn`` (the same on every rank)."""
    gids = conn.post.gids()
    return int(gids.max()) + 1 if len(gids) else 0


def _synapse_names(conn, key):
    """Refuse a name that is neither ``weight`` nor a variable of the connection's synapse
    model (tsodyks_synapse's ``U``, ``tau_psc``, …, ``u``)."""
    names = ["weight", *getattr(conn.synapse, "VARIABLES", ())]
    if key not in names:
        raise ModelError(f"{conn.where}.{key}", "unknown synapse parameter" + suggest(key, names))


def get_synapses(net, conn, name):
    """Every synapse's ``name`` (weight or a synapse model variable) of ``conn`` on every
    rank, in the order of ``Result.weights``."""
    _synapse_names(conn, name)
    sim = _built(net, conn, "get")
    proj = sim.projection_of(conn)
    position, total = _synapse_order(sim, conn, proj)
    local = proj.weights() if name == "weight" else proj.host_variables()[name]
    out = np.empty(total)
    out[net.comm.allgather_array(position)] = net.comm.allgather_array(local)
    return out


def set_synapses(net, conn, params):
    """Set ``weight`` and synapse model variables of every synapse of ``conn``
    (collective): each a number, one value per synapse in the order of
    ``Result.weights``, or a distribution (variables: numbers only before the build)."""
    for key in params:
        _synapse_names(conn, key)
    variables = {k: v for k, v in params.items() if k != "weight"}
    if variables:
        _set_variables(net, conn, variables)
    if "weight" not in params:
        return
    value, where = params["weight"], f"{conn.where}.weight"
    if net._simulation is None:
        if np.ndim(value) > 0:
            raise ModelError(where, "per-synapse arrays need a built network (run first) or "
                             "rule='explicit' in connect")
        check_weights(where, value)
        if conn.synapse is not None and not isinstance(value, Distribution):
            conn.synapse.check_weights(where, np.ravel(value))
        conn.weight = value
        return
    sim = net._simulation
    proj = sim.projection_of(conn)
    position, total = _synapse_order(sim, conn, proj)
    if isinstance(value, Distribution):
        if conn.synapse is not None:
            conn.synapse.check_weights(where, np.array(value.bounds()))
        weights = value.sample(Stream(net.seed, Purpose.SET_SYNAPSE, conn.index), position, sim.step)
        largest = np.abs(weights).max(initial=0.0) if np.isfinite(weights).all() else np.inf
        check_weights(where, net.comm.allreduce_max(float(largest)))   # the same on every rank
    else:
        values = np.asarray(value, np.float64).ravel()
        if np.ndim(value) > 0 and values.size != total:
            raise ModelError(where, f"has {values.size} values for {total} synapses")
        check_weights(where, values)
        if conn.synapse is not None:
            conn.synapse.check_weights(where, values)
        weights = values[position] if np.ndim(value) > 0 else np.full(len(position), values[0])
    _set_weights(sim, conn, proj, weights)


def normalise_weights(net, conn, total, w_max):
    """Scale the weights of each target's synapses of the plastic connection ``conn`` to sum
    to ``total`` (a target whose weights sum to 0 keeps them), then clip them to [0,
    ``w_max``] (collective on the first call). Bit for bit what NumPy gives on
    ``conn.get("weight")`` as a (targets × sources) matrix ``w`` (an all-to-all
    connection): ``np.clip(np.where(s > 0, w * (total / np.where(s > 0, s, 1)), w), 0,
    w_max)`` with ``s = w.sum(axis=1, keepdims=True)``, then ``conn.set``; but each rank
    scales its targets' weights where they are stored (:mod:`bigbrain.kernels.normalise`):
    nothing is gathered."""
    sim = _built(net, conn, "normalise")
    proj = sim.plasticity.projection(conn)
    where = f"{conn.where}.weight"
    if not (np.isfinite(total) and total >= 0):
        raise ModelError("total", f"must be a finite number >= 0, got {total!r}")
    check_weights(where, w_max)
    conn.synapse.check_weights(where, np.array([0.0, w_max]))
    if conn.index not in sim.row_orders:
        position, _ = _synapse_order(sim, conn, proj)
        order = np.argsort(position)                   # local synapses, Result.weights order
        post = proj.backend.to_host(proj.post)[order]
        starts = np.flatnonzero(np.r_[True, post[1:] != post[:-1], True])
        sim.row_orders[conn.index] = order, starts
    order, starts = sim.row_orders[conn.index]
    weights = proj.weights()
    normalise_rows(weights, order, starts, float(total), float(w_max))
    _set_weights(sim, conn, proj, weights)


def _set_variables(net, conn, params):
    """Set tsodyks_synapse variables: before the build in the connection's rule (numbers),
    after it per synapse (numbers, arrays in ``Result.weights`` order, distributions with
    finite bounds drawn as weights are, from index step·64 + 1 + the variable's position);
    all ranks raise if any finds x + y > 1 or tau_psc = tau_rec among its synapses."""
    from .tsodyks import TsodyksSynapse, check_together, checked

    rule = conn.synapse
    if net._simulation is None:
        for key, value in params.items():
            if np.ndim(value) or isinstance(value, Distribution):
                raise ModelError(f"{conn.where}.{key}", "before the build, a number (per-synapse "
                                 "values: run first, or arrays in TsodyksSynapse with "
                                 "rule='explicit')")
        conn.synapse = TsodyksSynapse(**{**{n: getattr(rule, n) for n in rule.VARIABLES}, **params})
        return
    sim = net._simulation
    proj = sim.projection_of(conn)
    position, total = _synapse_order(sim, conn, proj)
    new = proj.host_variables()
    for key, value in params.items():
        where = f"{conn.where}.{key}"
        if isinstance(value, Distribution):
            checked(key, np.array(value.bounds()), conn.where)
            index = sim.step * 64 + 1 + rule.VARIABLES.index(key)
            values = value.sample(Stream(net.seed, Purpose.SET_SYNAPSE, conn.index), position, index)
        else:
            values = checked(key, np.asarray(value, np.float64).ravel(), conn.where)
            if np.ndim(value) > 0 and values.size != total:
                raise ModelError(where, f"has {values.size} values for {total} synapses")
            values = values[position] if np.ndim(value) > 0 else np.full(len(position), values[0])
        new[key] = np.asarray(values, np.float64)
    net.comm.agree(check_together, SimpleNamespace(**new), conn.where, params)
    proj.variables = new
    proj.use(sim.backend)


def _set_weights(sim, conn, proj, weights):
    """Set the weights (float64, storage order) of a local projection (collective)."""
    if proj in sim.plasticity.projections:
        proj.weight[...] = sim.backend.asarray(weights)
        return
    sim.synapse_orders.pop(conn.index, None)
    proj.set_weights(weights, *weight_limits([proj.weight_range_of(weights)], sim.comm)[0])
    proj.use(sim.backend)
    sim.make_tables()
    sim.reweighted.add(conn.index)


def _built(net, conn, what):
    if conn not in net.connections:
        raise ModelError(what, f"{conn.where} is not a connection of this network")
    if net._simulation is None:
        raise ModelError(f"{conn.where}.weight", "synapses exist once the network is built: "
                         "call run (or build) first")
    return net._simulation


# ---------------------------------------------------------------- checkpoints
def changed_state(sim):
    """{array path: values} of what changed since the build and a checkpoint must carry
    (collective): the parameters set per local neuron (``params/<population>/gid`` and
    ``/<parameter>``) and the weights set on static connections (``weights/connection``,
    ``position`` in ``Result.weights`` order, ``value``); for spike sources whose times
    were set, every spike's ``spike_gid`` and ``spike_step`` (emission step)."""
    out = {}
    for name, keys in sim.changed.items():
        block = sim.block_of(sim.net.populations[name])
        if keys == {"spike_times"}:   # a spike source: every spike's gid and emission step
            out[f"params/{name}/spike_gid"], out[f"params/{name}/spike_step"] = block.trains()
            continue
        out[f"params/{name}/gid"] = block.gids
        out.update({f"params/{name}/{key}": block.parameter(key) for key in sorted(keys)})
    parts = []
    for index in sorted(sim.reweighted):
        conn = sim.net.connections[index]
        proj = sim.projection_of(conn)
        position, _ = synapse_order(sim.comm, conn, proj, sim.local_gids)
        parts.append((np.full(len(proj), index, np.int64), position, proj.weights()))
    if parts:
        for i, name in enumerate(("connection", "position", "value")):
            out[f"weights/{name}"] = np.concatenate([p[i] for p in parts])
    return out


def restore_changes(sim, params, weights):
    """Set what :func:`changed_state` saved (concatenated over the ranks that wrote it)
    (collective)."""
    for pop in sim.net.node_populations():
        if f"{pop.name}/spike_gid" in params:
            gids, steps = params[f"{pop.name}/spike_gid"], params[f"{pop.name}/spike_step"]
            block = sim.block_of(pop)
            block.set_trains(block.gids, [steps[gids == g] for g in block.gids])
            sim.changed.setdefault(pop.name, set()).add("spike_times")
            continue
        if f"{pop.name}/gid" not in params:
            continue
        block, gids = sim.block_of(pop), params[f"{pop.name}/gid"]
        order = np.argsort(gids)
        at = order[np.searchsorted(gids, block.gids, sorter=order)]
        for path, values in params.items():
            owner, key = path.split("/", 1)
            if owner == pop.name and key != "gid":
                block.p[key] = values[at]
                sim.changed.setdefault(pop.name, set()).add(key)
        block.args = block.kernel_arguments()
    for index in np.unique(weights.get("connection", np.zeros(0, np.int64))):
        conn = sim.net.connections[int(index)]
        proj = sim.projection_of(conn)
        mine = weights["connection"] == index
        position, total = synapse_order(sim.comm, conn, proj, sim.local_gids)
        values = np.empty(total)
        values[weights["position"][mine]] = weights["value"][mine]
        _set_weights(sim, conn, proj, values[position])
    sim.regroup()
