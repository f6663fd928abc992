"""Checkpoints: everything needed to continue a run exactly, and resuming from them.

A checkpoint at step S (an interval boundary) holds, keyed by neuron and synapse, not by
rank:

* neuron state: the integrated variables of every neuron (``Block.exact_state``: V_m
  relative to E_L, refractory counters, synaptic currents, …) with their gids;
* spikes in flight: the non-zero ring-buffer entries as (gid, absolute step, excitatory,
  inhibitory fixed-point input);
* plastic synapses: the arrays that plastic projections expose (hook below);
* the archive's record streams: rows stored for good and the unwritten tails (so spikes
  written after S are dropped on resume and none before S is lost);
* the processes of superposition generators (:mod:`bigbrain.superposition`), keyed by
  synapse (target gid, ordinal);
* the stimulation devices' parameters and schedules (:mod:`bigbrain.stimulation`), as
  changed between runs (rank 0's part);
* parameters and static weights set between runs (``params/<population>/gid`` and
  ``/<parameter>``; ``weights/connection``, ``position``, ``value``), keyed by gid and by
  position in ``Result.weights`` order;
* the step S. The random streams need nothing more: Poisson input is a pure function of
  (seed, synapse, step) and connectivity of (seed, projection, post gid, ordinal), so the
  step is the streams' position, and static synapses are regenerated from the seed.

Two phases: every rank writes its part ``checkpoints/<S>/rank_<r>/`` and reports SHA-256
checksums of its arrays; then rank 0 writes the tails and, last, the manifest (the group's
``attrs["manifest"]``). A checkpoint without a manifest, with an array that is missing or
whose checksum differs, or written for another model, is reported and skipped; the
previous one is used.

Checkpoints are written every ``checkpoint_every`` ms, when a ``run`` ends (optional), and
at the end of the block in which any rank received SIGUSR1 (the run goes on) or SIGTERM
(the run stops and the process exits: :mod:`bigbrain.preemption`). :func:`open_writer`
gives an archived run its writer with a checkpointer; :mod:`bigbrain.resumption` continues
from a checkpoint.

Plastic state (hook): when the simulation has a ``plasticity`` object, its
``state_arrays() -> {name: 1-D array}`` (weights and traces keyed by synapse (post gid, pre
gid, ordinal), the post-synaptic spike history keyed by gid, …) is saved under
``rank_<r>/plastic/<name>``; on resume ``restore_state_arrays({name: array})`` receives the
concatenation over all parts (in rank order) and keeps what belongs to its rank.
"""
import hashlib
import os
import shutil
import time

import numpy as np
import zarr

from .archive import COMPRESSORS, ArchiveError, ArchiveWriter, now
from .preemption import REASONS, STOP
from .state import changed_state, restore_changes
from .stimulation import device_state_arrays, restore_devices

CRASH_HOOK = "BIGBRAIN_TEST_CRASH_IN_CHECKPOINT"   # "<rank>@<step>": os._exit mid-part (tests)


class CheckpointError(ArchiveError):
    """A checkpoint that is incomplete, damaged or does not fit the network."""


def open_writer(sim, options):
    """The :class:`~bigbrain.archive.ArchiveWriter` of ``sim`` for the archive ``options``
    (:class:`~bigbrain.archive.Archive`), with its :class:`Checkpointer`."""
    writer = ArchiveWriter(sim, options)
    writer.checkpointer = Checkpointer(writer, options)
    return writer


class Checkpointer:
    """Decides when to checkpoint (interval, run end, signals) and writes checkpoints."""

    def __init__(self, writer, options):
        self.writer, self.sim, self.comm = writer, writer.sim, writer.comm
        every = options.checkpoint_every
        self.every = None if every is None else max(1, int(round(every / self.sim.dt)))
        self.at_end = options.checkpoint_at_end
        self.last_step = None

    def steps_to_due(self, step):
        """Steps from ``step`` to the next interval checkpoint after it."""
        return self.every - step % self.every if self.every else 1 << 62

    def due(self, step):
        """Whether an interval checkpoint falls on ``step``."""
        return bool(self.every) and step % self.every == 0

    def at_block_end(self, step, sig):
        """Collective: checkpoint when due or signalled; on SIGTERM end the run and exit."""
        if sig or self.due(step):
            self.write(step, REASONS.get(sig, "interval"))
        if sig == STOP:
            self.writer.end_run(stop=True)

    def at_run_end(self, step, sig):
        if (self.at_end or sig) and self.last_step != step:
            self.write(step, REASONS.get(sig, "end of run"))

    def write(self, step, reason):
        """Collective: write checkpoint ``step`` in two phases (parts, then manifest)."""
        t = time.perf_counter()
        root = self.writer.root
        name = f"checkpoints/{step}"
        error = None
        if self.comm.rank == 0:
            try:
                self.writer.raise_failed()
                remove_checkpoint(root, step)
                root.create_group(name)
            except Exception as exc:  # noqa: BLE001
                error = exc
        self.comm.check(error)
        changes = changed_state(self.sim)
        part = None
        try:
            group = zarr.open_group(self.writer.path, mode="r+", zarr_format=3)[name]
            mine = group.create_group(f"rank_{self.comm.rank}")
            part = write_part(mine, self.sim, step, changes)
            part.update({path: _put(mine, path, v) for path, v in self.writer.own_state().items()})
        except Exception as exc:  # noqa: BLE001
            error = exc
        self.comm.check(error)
        parts = self.comm.mpi.gather(part, root=0)
        if self.comm.rank == 0:
            try:
                self._complete(root[name], step, reason, parts, t)
            except Exception as exc:  # noqa: BLE001
                error = exc
        self.comm.check(error)
        self.last_step = step

    def _complete(self, group, step, reason, parts, t0):
        writer = self.writer
        writer.write_tails()
        records, tails = {}, {}
        for path, app in writer.appenders.items():
            records[path] = app.n_full
            tails[path] = _put(group, f"tails/{path}", app.tail)
        group.attrs["manifest"] = {
            "step": step, "t_ms": step * self.sim.dt, "reason": reason, "written": now(),
            "n_ranks": self.comm.size, "partition": self.sim.net.partition,
            "model_sha256": writer.meta["model_sha256"], "ring_length": self.sim.ring_length,
            "parts": {f"rank_{r}": p for r, p in enumerate(parts)},
            "records": records, "tails": tails, "write_s": time.perf_counter() - t0}


def _checksum(arr):
    arr = np.ascontiguousarray(arr)
    return {"sha256": hashlib.sha256(arr.tobytes()).hexdigest(), "shape": list(arr.shape),
            "dtype": arr.dtype.str}


def _put(group, path, arr):
    group.create_array(path, data=np.ascontiguousarray(arr), compressors=COMPRESSORS)
    return _checksum(arr)


def _crash_hook(rank, step):
    """Test hook: a real crash (``os._exit``) of one rank in the middle of writing its part."""
    spec = os.environ.get(CRASH_HOOK)
    if spec and spec == f"{rank}@{step}":
        os._exit(3)


def _ring_entries(sim, step, ring_ex, ring_in):
    """The non-zero entries of a pair of ring buffers, keyed by neuron: gid, absolute step
    read, ex and in (fixed point)."""
    slots, cols = np.nonzero(ring_ex | ring_in)
    return {"gid": sim.local_gids[cols], "step": step + (slots - step) % sim.ring_length,
            "ex": ring_ex[slots, cols], "in": ring_in[slots, cols]}


def _restore_ring(sim, ring, targets):
    """Put the entries ``ring`` (:func:`_ring_entries` of every rank) of this rank's
    neurons into the ring buffers ``targets`` (ex, in; written in place)."""
    mine = sim.partition.owner(ring["gid"]) == sim.comm.rank
    slots, cols = ring["step"][mine] % sim.ring_length, sim.columns(ring["gid"][mine])
    for target, key in zip(targets, ("ex", "in")):
        host = np.zeros(target.shape, np.int64)
        host[slots, cols] = ring[key][mine]
        target[...] = sim.backend.asarray(host)


def write_part(group, sim, step, changes=None):
    """Write this rank's state into ``group``, with ``changes`` ({path: array}: parameters and
    static weights set since the build, ``Simulation.changed_state``); returns {array path:
    checksum}."""
    out = {path: _put(group, path, values) for path, values in (changes or {}).items()}
    for pop, block in zip(sim.net.node_populations(), sim.blocks):
        if block.STATE:
            out[f"neurons/{pop.name}/gid"] = _put(group, f"neurons/{pop.name}/gid", block.gids)
            _crash_hook(sim.comm.rank, step)
            for key, values in block.exact_state().items():
                out[f"neurons/{pop.name}/{key}"] = _put(group, f"neurons/{pop.name}/{key}", values)
    ring_ex, ring_in = sim.backend.to_host(sim.ring_ex), sim.backend.to_host(sim.ring_in)
    for key, values in _ring_entries(sim, step, ring_ex, ring_in).items():
        out[f"ring/{key}"] = _put(group, f"ring/{key}", values)
    for r, (port_ex, port_in) in enumerate(sim.backend.to_host(sim.ring_ports), 2):  # ports > 1
        for key, values in _ring_entries(sim, step, port_ex, port_in).items():
            out[f"ports/{r}/{key}"] = _put(group, f"ports/{r}/{key}", values)
    ring_cur = sim.backend.to_host(sim.ring_cur)
    slots, cols = np.nonzero(ring_cur)
    abs_step = step + (slots - step) % ring_cur.shape[0]
    for key, values in (("gid", sim.local_gids[cols]), ("step", abs_step),
                        ("pA", ring_cur[slots, cols])):
        out[f"current/{key}"] = _put(group, f"current/{key}", values)
    if sim.comm.rank == 0:  # device parameters are the same on every rank
        for key, values in device_state_arrays(sim.net).items():
            out[f"devices/{key}"] = _put(group, f"devices/{key}", values)
    for proj in getattr(sim, "superposed", ()):
        for key, values in proj.state_arrays().items():
            out[f"superposed/{proj.index}/{key}"] = _put(group, f"superposed/{proj.index}/{key}", values)
    plasticity = getattr(sim, "plasticity", None)
    if plasticity is not None:
        for key, values in plasticity.state_arrays().items():
            out[f"plastic/{key}"] = _put(group, f"plastic/{key}", values)
    return out


# ---------------------------------------------------------------------- reading
def read_checked(group, path, expected, where):
    try:
        arr = group[path][...]
    except KeyError:
        raise CheckpointError(f"{where}: array {path!r} is missing") from None
    except Exception as exc:  # noqa: BLE001 - damaged chunk
        raise CheckpointError(f"{where}: array {path!r} is damaged ({type(exc).__name__}: {exc})") from None
    if _checksum(arr) != expected:
        raise CheckpointError(f"{where}: array {path!r} does not match the manifest's checksum")
    return arr


def _folder(root, step=None):
    """The directory of ``checkpoints/`` (or of checkpoint ``step``) of a local archive."""
    base = os.path.join(str(root.store.root), root.path, "checkpoints")
    return base if step is None else os.path.join(base, str(step))


def checkpoint_steps(root):
    """Steps of all checkpoint folders in the archive (complete, incomplete or damaged,
    even one whose group metadata is missing or unreadable), ascending. A store that is
    not a local folder (read through fsspec) lists the groups it can read."""
    if not hasattr(root.store, "root"):
        names = [name for name, _ in root["checkpoints"].groups()] if "checkpoints" in root else []
    else:
        base = _folder(root)
        names = [name for name in (os.listdir(base) if os.path.isdir(base) else [])
                 if os.path.isdir(os.path.join(base, name))]
    return sorted(int(name) for name in names if name.isdigit())


def remove_checkpoint(root, step):
    """Rank 0: delete checkpoint ``step``'s folder, whatever state it is in."""
    folder = _folder(root, step)
    if os.path.isdir(folder):
        shutil.rmtree(folder)


#: Manifest entries that resume and verification read.
MANIFEST_KEYS = ("step", "t_ms", "reason", "n_ranks", "model_sha256", "ring_length", "parts",
                 "records", "tails")


def manifest(root, step):
    """The manifest of checkpoint ``step``; CheckpointError if it is missing, unreadable
    or lacks an entry."""
    try:
        m = root[f"checkpoints/{step}"].attrs.get("manifest")
    except Exception as exc:  # noqa: BLE001 - missing or unreadable group metadata
        raise CheckpointError(f"checkpoint {step}: unreadable group metadata "
                              f"({type(exc).__name__}: {exc})") from None
    if m is None:
        raise CheckpointError(f"checkpoint {step}: incomplete (no manifest; the run stopped "
                              "while writing it)")
    missing = [k for k in MANIFEST_KEYS if not isinstance(m, dict) or k not in m]
    if missing:
        raise CheckpointError(f"checkpoint {step}: damaged manifest (no {', '.join(missing)})")
    return m


def verify_checkpoint(root, step):
    """Check that checkpoint ``step`` is complete, intact and of this archive's model."""
    m = manifest(root, step)
    where = f"checkpoint {step}"
    try:
        _verify_arrays(root, step, m, where)
    except CheckpointError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: damaged manifest ({type(exc).__name__}: {exc})") from None
    return m


def _verify_arrays(root, step, m, where):
    if m["model_sha256"] != root.attrs["bigbrain"]["model_sha256"]:
        raise CheckpointError(f"{where}: written for a different model (model checksum "
                              f"{m['model_sha256'][:12]}…, the archive's is "
                              f"{root.attrs['bigbrain']['model_sha256'][:12]}…)")
    group = root[f"checkpoints/{step}"]
    for part, arrays in m["parts"].items():
        for path, expected in arrays.items():
            read_checked(group, f"{part}/{path}", expected, where)
    for path, expected in m["tails"].items():
        read_checked(group, f"tails/{path}", expected, where)


def latest_checkpoint(root):
    """(step of the latest intact checkpoint or None, [reports on the ones skipped])."""
    reports = []
    for step in reversed(checkpoint_steps(root)):
        try:
            verify_checkpoint(root, step)
            return step, reports
        except CheckpointError as exc:
            reports.append(str(exc))
    return None, reports


def load_part_arrays(root, step, m, prefix):
    """{path below ``prefix``: concatenation over all parts} of checkpoint ``step``."""
    group = root[f"checkpoints/{step}"]
    out = {}
    for part, arrays in m["parts"].items():
        for path, expected in arrays.items():
            if path.startswith(prefix):
                out.setdefault(path[len(prefix):], []).append(
                    read_checked(group, f"{part}/{path}", expected, f"checkpoint {step}"))
    return {k: np.concatenate(v) for k, v in out.items()}


def restore(sim, root, step):
    """Set the simulation's state to checkpoint ``step`` (every rank reads every part)."""
    m = manifest(root, step)
    if m["ring_length"] != sim.ring_length:
        raise CheckpointError(f"checkpoint {step}: ring buffer of {m['ring_length']} steps, the "
                              f"network needs {sim.ring_length} (a different model?)")
    for pop, block in zip(sim.net.node_populations(), sim.blocks):
        if not block.STATE:
            continue
        saved = load_part_arrays(root, step, m, f"neurons/{pop.name}/")
        order = np.argsort(saved["gid"])
        pos = order[np.searchsorted(saved["gid"], block.gids, sorter=order).clip(0, len(order) - 1)]
        if len(block.gids) and (len(order) == 0 or not np.array_equal(saved["gid"][pos], block.gids)):
            raise CheckpointError(f"checkpoint {step}: neurons of {pop.name!r} are missing")
        block.set_state({k: v[pos] for k, v in saved.items() if k != "gid"})
    restore_changes(sim, load_part_arrays(root, step, m, "params/"),  # set between runs
                    load_part_arrays(root, step, m, "weights/"))
    _restore_ring(sim, load_part_arrays(root, step, m, "ring/"), (sim.ring_ex, sim.ring_in))
    for r in range(2, 2 + len(sim.ring_ports)):
        ports = load_part_arrays(root, step, m, f"ports/{r}/")
        if ports:
            _restore_ring(sim, ports, sim.ring_of(r))
    current = load_part_arrays(root, step, m, "current/")  # none in checkpoints before 2026-12
    if current:
        mine = sim.partition.owner(current["gid"]) == sim.comm.rank
        host = np.zeros(sim.ring_cur.shape)
        host[current["step"][mine] % host.shape[0], sim.columns(current["gid"][mine])] = \
            current["pA"][mine]
        sim.ring_cur[...] = sim.backend.asarray(host)
    restore_devices(sim.net, load_part_arrays(root, step, m, "devices/"))
    for proj in sim.superposed:
        proj.restore_state_arrays(load_part_arrays(root, step, m, f"superposed/{proj.index}/"))
    plastic = load_part_arrays(root, step, m, "plastic/")
    restore_plastic = getattr(getattr(sim, "plasticity", None), "restore_state_arrays", None)
    if restore_plastic is not None:
        restore_plastic(plastic)
    elif any(len(v) for v in plastic.values()):
        raise CheckpointError(f"checkpoint {step}: holds plastic state that this network cannot "
                              "restore (no plasticity.restore_state_arrays)")
    sim.step = step
