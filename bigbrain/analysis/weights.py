"""Synaptic weights stored in the archive, as lazy dask arrays.

Weights are looked up in two places: sampled weights `samples/<projection>/weights`,
and checkpoints `checkpoints/<step>/**/weights` (only checkpoints with a manifest, the
mark of a complete checkpoint). The checkpoint layout is settled by issue 4; until then
any array named `weights` below a complete checkpoint is taken.
"""

from __future__ import annotations

import warnings

import dask.array as da
import zarr


def find_weights(root, location: str, projection: str | None = None) -> dict:
    """{path: dask array of weights} for every weight array found, optionally only
    those whose path names `projection`; empty, with a warning, when none is found."""
    found = {}
    if "samples" in root:
        for name, group in root["samples"].groups():
            if "weights" in group:
                found[f"samples/{name}/weights"] = group["weights"]
    if "checkpoints" in root:
        for step, group in root["checkpoints"].groups():
            if "manifest" in group or "manifest" in group.attrs:
                found.update({f"checkpoints/{step}/{path}": node
                              for path, node in group.members(max_depth=None)
                              if isinstance(node, zarr.Array)
                              and path.rsplit("/", 1)[-1] == "weights"})
    if projection is not None:
        found = {p: a for p, a in found.items() if projection in p.split("/")}
    if not found:
        which = f" for projection {projection!r}" if projection else ""
        warnings.warn(f"{location} holds no weights{which} (looked for samples/<projection>/"
                      "weights and checkpoints/<step>/**/weights)", stacklevel=3)
    return {path: da.from_zarr(array) for path, array in found.items()}

