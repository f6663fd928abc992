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
(the run stops and the process exits with :data:`PREEMPTED_EXIT_CODE`). The signal flag
travels with the block's telemetry (one ``allgather`` per block), so all ranks agree.

Plastic state (hook): when the simulation has a ``plasticity`` object, its
``state_arrays() -> {name: 1-D array}`` (weights and traces keyed by synapse (post gid, pre
gid, ordinal), the post-synaptic spike history keyed by gid, …) is saved under
``rank_<r>/plastic/<name>``; on resume ``restore_state_arrays({name: array})`` receives the
concatenation over all parts (in rank order) and keeps what belongs to its rank.
"""
import atexit
import hashlib
import os
import shutil
import signal
import threading
import time
import warnings

import numpy as np
import zarr

from .archive import (COMPRESSORS, Appender, Archive, ArchiveError, ArchiveWriter, model_arrays, now,
                      open_store, own_paths)
from .comm import Comm
from .description import build_network, describe, fingerprint
from .errors import ModelError
from .state import changed_state, restore_changes
from .stimulation import device_state_arrays, restore_devices
from .traffic import PAIR_COLUMNS, pair_group

PREEMPTED_EXIT_CODE = 0
CONTINUE, STOP = 1, 2
SIGNALS = {signal.SIGUSR1: CONTINUE, signal.SIGTERM: STOP}
_REASONS = {CONTINUE: "SIGUSR1", STOP: "SIGTERM"}
CRASH_HOOK = "BIGBRAIN_TEST_CRASH_IN_CHECKPOINT"   # "<rank>@<step>": os._exit mid-part (tests)


class CheckpointError(ArchiveError):
    """A checkpoint that is incomplete, damaged or does not fit the network."""


class Checkpointer:
    """Decides when to checkpoint (interval, run end, signals) and writes checkpoints."""

    def __init__(self, writer, options):
        self.writer, self.sim, self.comm = writer, writer.sim, writer.comm
        every = options.checkpoint_every
        self.every = None if every is None else max(1, int(round(every / self.sim.dt)))
        self.at_end = options.checkpoint_at_end
        self.last_step = None
        self._signal = 0
        self._armed = False

    def arm(self):
        """Catch SIGUSR1 and SIGTERM from the first ``run`` on (main thread only). A signal
        that arrives between two ``run`` calls is acted on in the next one; one that
        arrives after the last is ignored, also while the process exits
        (:func:`_ignore_signals_at_exit`)."""
        if not self._armed and threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                signal.signal(sig, self._on_signal)
            self._armed = True
            atexit.unregister(_ignore_signals_at_exit)   # once, however many networks run
            atexit.register(_ignore_signals_at_exit)

    def _on_signal(self, signum, frame):
        self._signal = max(self._signal, SIGNALS[signum])

    def pending_signal(self):
        """The signal received since the last call (0, CONTINUE or STOP); clears it."""
        sig, self._signal = self._signal, 0
        return sig

    def steps_to_due(self, step):
        """Steps from ``step`` to the next interval checkpoint after it."""
        return self.every - step % self.every if self.every else 1 << 62

    def due(self, step):
        """Whether an interval checkpoint falls on ``step``."""
        return bool(self.every) and step % self.every == 0

    def at_block_end(self, step, sig):
        """Collective: checkpoint when due or signalled; on SIGTERM end the run and exit."""
        if sig or self.due(step):
            self.write(step, _REASONS.get(sig, "interval"))
        if sig == STOP:
            self.writer.end_run(stop=True)

    def at_run_end(self, step, sig):
        if (self.at_end or sig) and self.last_step != step:
            self.write(step, _REASONS.get(sig, "end of run"))

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


def _ignore_signals_at_exit():
    """At exit, ignore SIGUSR1 and SIGTERM where a checkpointer catches them. Python's
    shutdown would restore their default action, which kills the process, while it still
    waits in MPI_Finalize for the other ranks: the run is over and archived by then."""
    for sig in SIGNALS:
        if isinstance(getattr(signal.getsignal(sig), "__self__", None), Checkpointer):
            signal.signal(sig, signal.SIG_IGN)


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
    slots, cols = np.nonzero(ring_ex | ring_in)
    abs_step = step + (slots - step) % sim.ring_length
    for key, values in (("gid", sim.local_gids[cols]), ("step", abs_step),
                        ("ex", ring_ex[slots, cols]), ("in", ring_in[slots, cols])):
        out[f"ring/{key}"] = _put(group, f"ring/{key}", values)
    ring_cur = sim.backend.to_host(sim.ring_cur)
    slots, cols = np.nonzero(ring_cur)
    abs_step = step + (slots - step) % ring_cur.shape[0]
    for key, values in (("gid", sim.local_gids[cols]), ("step", abs_step),
                        ("pA", ring_cur[slots, cols])):
        out[f"current/{key}"] = _put(group, f"current/{key}", values)
    if sim.comm.rank == 0:  # device parameters are the same on every rank
        for key, values in device_state_arrays(sim.net).items():
            out[f"devices/{key}"] = _put(group, f"devices/{key}", values)
    plasticity = getattr(sim, "plasticity", None)
    if plasticity is not None:
        for key, values in plasticity.state_arrays().items():
            out[f"plastic/{key}"] = _put(group, f"plastic/{key}", values)
    return out


# ---------------------------------------------------------------------- reading
def _read(group, path, expected, where):
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
            _read(group, f"{part}/{path}", expected, where)
    for path, expected in m["tails"].items():
        _read(group, f"tails/{path}", expected, where)


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
                    _read(group, f"{part}/{path}", expected, f"checkpoint {step}"))
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
    ring = load_part_arrays(root, step, m, "ring/")
    mine = sim.partition.owner(ring["gid"]) == sim.comm.rank
    slots, cols = ring["step"][mine] % sim.ring_length, sim.columns(ring["gid"][mine])
    for name, key in (("ring_ex", "ex"), ("ring_in", "in")):
        host = np.zeros(getattr(sim, name).shape, np.int64)
        host[slots, cols] = ring[key][mine]
        getattr(sim, name)[...] = sim.backend.asarray(host)
    current = load_part_arrays(root, step, m, "current/")  # none in checkpoints before 2026-12
    if current:
        mine = sim.partition.owner(current["gid"]) == sim.comm.rank
        host = np.zeros(sim.ring_cur.shape)
        host[current["step"][mine] % host.shape[0], sim.columns(current["gid"][mine])] = \
            current["pA"][mine]
        sim.ring_cur[...] = sim.backend.asarray(host)
    restore_devices(sim.net, load_part_arrays(root, step, m, "devices/"))
    plastic = load_part_arrays(root, step, m, "plastic/")
    restore_plastic = getattr(getattr(sim, "plasticity", None), "restore_state_arrays", None)
    if restore_plastic is not None:
        restore_plastic(plastic)
    elif any(len(v) for v in plastic.values()):
        raise CheckpointError(f"checkpoint {step}: holds plastic state that this network cannot "
                              "restore (no plasticity.restore_state_arrays)")
    sim.step = step


# ---------------------------------------------------------------------- resume
def resume(path, comm=None, partition=None, net=None, t_end=None, **archive_settings):
    """Continue an archived run from its latest intact checkpoint (collective).

    Rebuilds the network from the archive's model description (or checks that ``net``,
    a network described by the caller, is the same model), restores the checkpoint and
    attaches the archive, which then drops the records written after the checkpoint.
    ``partition`` may differ from the original, and so may the number of ranks.
    ``archive_settings`` (``checkpoint_every``, ``checkpoint_at_end``, ``flush_every``)
    override the archived ones. Returns the network; ``net.time`` is the checkpoint's time,
    continue with ``net.run(t_end - net.time)``; ``t_end`` (ms), when given, is checked to
    lie at or after the checkpoint first. Nothing in the archive changes unless the
    checkpoint loads on every rank.
    """
    comm = Comm(comm)
    root = comm.agree(open_store, str(path))
    meta = root.attrs["bigbrain"]
    found = comm.agree(lambda: latest_checkpoint(root) if comm.rank == 0 else None)
    step, reports = comm.mpi.bcast(found, root=0)
    for report in reports:
        if comm.rank == 0:
            warnings.warn(f"{path}: {report}; skipped", stacklevel=2)
    if step is None:
        raise CheckpointError(f"{path}: no intact checkpoint to resume from"
                              + "".join(f"; {r}" for r in reports))
    if t_end is not None and t_end < step * meta["dt_ms"] - 1e-9:
        raise CheckpointError(f"{path}: cannot resume to {t_end} ms, the latest intact "
                              f"checkpoint is at {step * meta['dt_ms']} ms")
    arrays = {k: v[...] for k, v in comm.agree(model_arrays, root).items()}
    if net is None:
        net = build_network(meta["model"], arrays, comm=comm.mpi, partition=partition)
    else:
        _same_model(net, meta, path)
    sim = net.build()
    comm.agree(restore, sim, root, step)
    settings = {**{k.replace("_ms", ""): v for k, v in meta["archive"].items()}, **archive_settings}
    writer = ArchiveWriter(sim, Archive(path, **settings))
    comm.agree(_reopen, writer, sim, step, meta, comm.rank)
    _restore_own(writer, step, meta)
    sim.archive, net.archive = writer, writer.options
    return net


def _reopen(writer, sim, step, meta, rank):
    """Rank 0: cut the records back to the checkpoint and mark the resumed segment."""
    writer.checkpointer.last_step = step
    if rank != 0:
        writer.reopen(None, meta)
        return
    root = zarr.open_group(writer.path, mode="r+", zarr_format=3)
    m = manifest(root, step)
    for later in [s for s in checkpoint_steps(root) if s > step]:
        remove_checkpoint(root, later)
    group = root[f"checkpoints/{step}"]
    writer.reopen(root, meta)
    for path, app in writer.appenders.items():
        app.restore(m["records"][path], group[f"tails/{path}"][...])
    meta["segments"].append({**writer._segment("resume"), "checkpoint": step})
    if "records" in meta:  # the pair rows of ranks this run adds
        listed = set(meta["records"])
        meta["records"] += [p for p in own_paths(writer.comm.size) if p not in listed]
    meta.update(status="running", finished=None, t_end_ms=step * sim.dt)
    root.attrs["bigbrain"] = meta


def _restore_own(writer, step, meta):
    """Collective, on resume: cut every rank's row of the pair counters back to checkpoint
    ``step`` (rank r those of ranks r, r + P, … of every segment; to nothing where the
    checkpoint has none), then every rank opens its own."""
    comm, error = writer.comm, None
    try:
        root = zarr.open_group(writer.path, mode="r+", zarr_format=3)
        m, group, where = manifest(root, step), root[f"checkpoints/{step}"], f"checkpoint {step}"
        for q in range(comm.rank, max(s["n_ranks"] for s in meta["segments"]), comm.size):
            part = m["parts"].get(f"rank_{q}", {})
            for column in PAIR_COLUMNS:
                path, key = f"{pair_group(q)}/{column}", f"traffic/pairs/{column}"
                if path not in root:
                    continue
                n_full, tail = ([_read(group, f"rank_{q}/{key}/{x}", part[f"{key}/{x}"], where)
                                 for x in ("n_full", "tail")] if f"{key}/n_full" in part
                                else ([0], np.zeros(0, np.int64)))
                Appender(root[path]).restore(int(n_full[0]), tail)
    except Exception as exc:  # noqa: BLE001 - raised on every rank by check
        error = exc
    comm.check(error)
    writer.open_own(comm.mpi.bcast(len(writer.appenders["telemetry/t_start_ms"]) if comm.rank == 0
                                   else None, root=0))


def _same_model(net, meta, path):
    """Raise ModelError naming the first difference between ``net`` and the archive's model."""
    arrays = {}
    desc = describe(net, arrays)
    if fingerprint(desc, arrays) == meta["model_sha256"]:
        return
    diff = _first_difference(meta["model"], desc, "model") or "model arrays (model/)"
    raise ModelError(diff, f"the network differs from the model archived in {path}")


def _first_difference(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key == "partition":
                continue
            d = _first_difference(a.get(key), b.get(key), f"{where}.{key}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else where
