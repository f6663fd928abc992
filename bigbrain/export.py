"""Records out in standard formats: a run archive as a SONATA spike report or an NWB file.

``bigbrain export ARCHIVE --sonata out.h5 --nwb out.nwb`` (or :func:`to_sonata`,
:func:`to_nwb`) reads the archive through :mod:`bigbrain.analysis` (block by block, never
the whole record at once for SONATA) and writes:

* SONATA (HDF5): ``/spikes/<population>/node_ids`` (uint64), ``timestamps`` (float64 ms),
  attribute ``sorting = "by_time"`` (ties by node id). A bigbrain population named
  ``P@k`` (one node type's run of a SONATA population ``P`` loaded by
  :mod:`bigbrain.sonata`) is written into ``P`` with node id k + its id, so that the spikes
  of a SONATA network carry the network's own population names and node ids; any other
  population keeps its name and ids.
* NWB (pynwb): a ``Units`` table with one row per recorded neuron (columns ``population``,
  ``node_id``; spike times in s), no electrodes; each sampled variable of a population
  (``V_m`` and whatever else ``samples/<population>/`` holds) as a ``TimeSeries`` in the
  processing module ``simulation`` (data in the variable's unit, one column per sampled
  neuron, ids in the series' ``comments``); the model description and the run's metadata
  as JSON in the file's ``notes``.
"""
import datetime
import json
import uuid
from pathlib import Path

import numpy as np

from .errors import ModelError

SPIKES_PER_WINDOW = 1 << 20
#: NWB units of the sampled variables (NEST's units; conversion to SI).
SI = {"V_m": ("volts", 1e-3), "I_syn_ex": ("amperes", 1e-12), "I_syn_in": ("amperes", 1e-12),
      "i_ex": ("amperes", 1e-12), "i_in": ("amperes", 1e-12), "g_ex": ("siemens", 1e-9),
      "g_in": ("siemens", 1e-9), "w": ("amperes", 1e-12)}


def _run(archive):
    from .analysis.archive import open as open_run

    return open_run(archive)


def sonata_population(name):
    """(SONATA population, node id offset) of a bigbrain population name (``P@k``)."""
    base, sep, first = name.rpartition("@")
    return (base, int(first)) if sep and first.isdigit() else (name, 0)


def _recorded(run):
    """{population name: its SpikeRecord} of the recorded populations."""
    out = {}
    for name in run.populations.index:
        if run.root.get(f"spikes/{name}") is not None:
            out[name] = run.record(name)
    return out


def to_sonata(archive, path):
    """Write the spikes of ``archive`` as a SONATA spike report at ``path`` (HDF5)."""
    import h5py

    from .analysis.record import read_block, searchsorted

    run = _run(archive)
    groups = {}
    for name, record in _recorded(run).items():
        pop, offset = sonata_population(name)
        groups.setdefault(pop, []).append((record, offset))
    with h5py.File(path, "w") as f:
        top = f.create_group("spikes")
        top.attrs["magic"] = np.uint32(0x0A7A)
        top.attrs["version"] = np.array([0, 1], np.uint32)
        for pop, parts in groups.items():
            grp = top.create_group(pop)
            grp.attrs["sorting"] = "by_time"
            ids = grp.create_dataset("node_ids", (0,), np.uint64, maxshape=(None,), chunks=(1 << 16,))
            ts = grp.create_dataset("timestamps", (0,), np.float64, maxshape=(None,), chunks=(1 << 16,))
            ts.attrs["units"] = "ms"
            for t, i in _merged(parts, read_block, searchsorted):
                n = ids.shape[0]
                ids.resize((n + i.size,)), ts.resize((n + t.size,))
                ids[n:], ts[n:] = i, t
    return path


def _merged(parts, read_block, searchsorted):
    """(times, node ids + offset) of several time-sorted records merged, sorted by (time,
    id), in windows of about ``SPIKES_PER_WINDOW`` spikes."""
    total = sum(r.n_spikes for r, _ in parts)
    if total == 0:
        return
    t0 = min(float(r.timestamps[0]) for r, _ in parts if r.n_spikes)
    t1 = max(float(r.timestamps[r.n_spikes - 1]) for r, _ in parts if r.n_spikes)
    n_windows = -(-total // SPIKES_PER_WINDOW)
    edges = np.linspace(t0, t1, n_windows + 1)
    edges[-1] = np.inf
    starts = [0] * len(parts)
    for hi in edges[1:]:
        times, ids = [], []
        for k, (record, offset) in enumerate(parts):
            stop = record.n_spikes if hi == np.inf else searchsorted(record.timestamps, hi, "left")
            t, i = read_block(record, starts[k], stop)
            times.append(np.asarray(t)), ids.append(np.asarray(i, np.int64) + offset)
            starts[k] = stop
        t, i = np.concatenate(times), np.concatenate(ids)
        order = np.lexsort((i, t))
        yield t[order], i[order].astype(np.uint64)


def to_nwb(archive, path):
    """Write ``archive`` as an NWB file at ``path``: Units (spike times), sampled variables
    as TimeSeries, the model and run metadata in ``notes``."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    run = _run(archive)
    meta = run.meta
    started = _time(meta.get("started"))
    populations = [p["name"] for p in meta["model"]["populations"]]
    nwb = NWBFile(
        session_description=f"bigbrain simulation of {', '.join(populations)}: "
                            f"{meta.get('t_end_ms', 0.0)} ms at dt {meta['dt_ms']} ms",
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bigbrain:{meta.get('model_sha256')}:"
                                  f"{meta.get('started')}")),
        session_start_time=started, timestamps_reference_time=started,
        source_script="bigbrain " + meta.get("versions", {}).get("bigbrain", ""),
        source_script_file_name="bigbrain",
        notes=json.dumps({"model": meta["model"], "run": {k: v for k, v in meta.items() if k != "model"}}),
        experiment_description="Simulated spiking network (bigbrain); no recorded tissue.",
        keywords=["simulation", "spiking neural network", "bigbrain"],
        subject=Subject(subject_id=f"model-{str(meta.get('model_sha256', ''))[:12]}",
                        description="a simulated network model, not an animal; it comes into "
                        "being when the run starts (date_of_birth = session start; sex O: none)",
                        date_of_birth=started, sex="O"))
    _add_units(nwb, _recorded(run), meta["dt_ms"] / 1000.0)
    module = None
    for name in populations:
        group = run.root.get(f"samples/{name}")
        if group is None:
            continue
        times = np.asarray(group["times"][...]) / 1000.0
        node_ids = np.asarray(group["node_ids"][...])
        for var in sorted(k for k in group.array_keys() if k not in ("times", "node_ids")):
            unit, conversion = SI.get(var, ("n/a", 1.0))
            module = module or nwb.create_processing_module(
                "simulation", "state variables sampled from the simulated neurons")
            module.add(TimeSeries(
                name=f"{name}_{var}", data=np.asarray(group[var][...]), unit=unit,
                conversion=conversion, **_timing(times),
                description=f"{var} of population {name!r}, one column per node",
                comments=f"node ids (population-local): {node_ids.tolist()}"))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _timing(times):
    """``rate`` and ``starting_time`` for regular samples, else ``timestamps`` (s)."""
    steps = np.diff(times)
    if times.size > 1 and np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        return {"starting_time": float(times[0]), "rate": float(1.0 / steps[0])}
    return {"timestamps": times} if times.size != 1 else {"starting_time": float(times[0]), "rate": 1.0}


def _add_units(nwb, records, resolution):
    """One Units row per recorded neuron, in (population, node id) order; ``resolution``:
    the time step (s). The ragged spike-time column is built at once (not row by row)."""
    if not records:
        return
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb.misc import Units

    times, ends, populations, node_ids = [], [], [], []
    for name, record in records.items():
        t, i = (np.asarray(a) for a in (record.timestamps[...], record.node_ids[...]))
        order = np.lexsort((t, i))
        neurons = record.recorded_ids
        times.append(t[order] / 1000.0)
        ends.append(np.searchsorted(i[order], neurons, side="right") + sum(x.size for x in times[:-1]))
        populations += [name] * neurons.size
        node_ids.append(neurons)
    spike_times = VectorData(name="spike_times", description="spike times (s)",
                             data=np.concatenate(times))
    columns = [spike_times,
               VectorIndex(name="spike_times_index", data=np.concatenate(ends), target=spike_times),
               VectorData(name="population", description="bigbrain population of the neuron",
                          data=populations),
               VectorData(name="node_id", description="population-local node id (SONATA node "
                          "id for P@k: k + id)", data=np.concatenate(node_ids))]
    nwb.units = Units(name="units", description="simulated neurons: spike times (s)",
                      resolution=resolution, columns=columns,
                      id=ElementIdentifiers(name="id", data=np.arange(len(populations))))


def _time(text):
    if not text:
        return datetime.datetime.now(datetime.timezone.utc)
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def export(archive, sonata=None, nwb=None):
    """Write the SONATA and/or NWB files of ``archive``; returns the paths written."""
    if sonata is None and nwb is None:
        raise ModelError("export", "name an output: --sonata OUT.h5 and/or --nwb OUT.nwb")
    out = []
    if sonata is not None:
        out.append(to_sonata(archive, Path(sonata)))
    if nwb is not None:
        out.append(to_nwb(archive, Path(nwb)))
    return out
