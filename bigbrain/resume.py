"""Resuming an archived run from its latest intact checkpoint (:mod:`bigbrain.checkpoint`).

The network is rebuilt from the archive's model description (:mod:`bigbrain.rebuild`), or
a network built by the caller is checked against it; the checkpoint is restored and the
archive reopened, cut back to the checkpoint. Any number of ranks and any partition.
"""
import warnings

import zarr

from .archive import Archive, model_arrays, open_store
from .checkpoint import (CheckpointError, checkpoint_steps, latest_checkpoint, manifest, open_writer,
                         remove_checkpoint, restore)
from .comm import Comm
from .description import describe, fingerprint
from .errors import ModelError
from .rebuild import build_network

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
    meta.update(status="running", finished=None, t_end_ms=step * sim.dt)
    root.attrs["bigbrain"] = meta


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
