"""Resuming an archived run from its latest intact checkpoint (:mod:`bigbrain.checkpoint`).

The network is rebuilt from the archive's model description (:mod:`bigbrain.rebuild`), or
a network built by the caller is checked against it; the checkpoint is restored and the
archive reopened, cut back to the checkpoint. Any number of ranks and any partition.
"""
import warnings

import numpy as np
import zarr

from .archive import Appender, Archive, model_arrays, open_store, own_paths
from .checkpoint import (CheckpointError, checkpoint_steps, latest_checkpoint, manifest, open_writer,
                         read_checked, remove_checkpoint, restore)
from .comm import Comm
from .description import describe, fingerprint
from .errors import ModelError
from .rebuild import build_network
from .traffic import PAIR_COLUMNS, pair_group

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
    writer = open_writer(sim, Archive(path, **settings))
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
                n_full, tail = ([read_checked(group, f"rank_{q}/{key}/{x}", part[f"{key}/{x}"], where)
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
