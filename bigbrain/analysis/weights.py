"""Synaptic weights stored in the archive, as lazy dask arrays.

Two places hold weights:

* sampled weights, `samples/<projection>/weights`;
* complete checkpoints (`attrs["manifest"]` written), whose ranks each wrote their part:
  `checkpoints/<step>/rank_<r>/.../weight` (docs/archive-layout.md: the plastic synapses'
  `plastic/synapse/weight`, beside `plastic/synapse/connection`, the connection index of
  each synapse). The parts of all ranks are concatenated under the path without
  `rank_<r>/`, e.g. `checkpoints/3000/plastic/synapse/weight`.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict

import dask.array as da
import zarr

from .. import integrity

RANK_PART = re.compile(r"^rank_\d+/")


def find_weights(root, location: str, projection: str | None = None) -> dict:
    """{path: dask array of weights} for every weight array found, optionally only
    those whose path names `projection`; empty, with a warning, when none is found."""
    parts = defaultdict(list)
    if "samples" in root:
        for name, group in root["samples"].groups():
            if "weights" in group:
                parts[f"samples/{name}/weights"].append(group["weights"])
    for step, group in complete_checkpoints(root):
        for path, array in checkpoint_weights(group):
            parts[f"checkpoints/{step}/{RANK_PART.sub('', path)}"].append(array)
    if projection is not None:
        parts = {p: a for p, a in parts.items() if projection in p.split("/")}
    if not parts:
        which = f" for projection {projection!r}" if projection else ""
        warnings.warn(f"{location} holds no weights{which} (looked for samples/<projection>/"
                      "weights and weight arrays of complete checkpoints)", stacklevel=3)
    return {path: da.concatenate([integrity.dask_array(a, f"{location}/{path}") for a in arrays])
            for path, arrays in parts.items()}


def complete_checkpoints(root):
    """(step, group) of the checkpoints with a manifest; those whose group metadata is
    missing or unreadable (damaged) are left out with a warning."""
    from ..checkpoint import checkpoint_steps

    found = []
    for step in checkpoint_steps(root):
        try:
            group = root[f"checkpoints/{step}"]
        except Exception as exc:  # noqa: BLE001 - damaged: reported, skipped
            warnings.warn(f"checkpoint {step}: unreadable group metadata ({type(exc).__name__}: "
                          f"{exc}); its weights are left out", stacklevel=4)
            continue
        if "manifest" in group.attrs:
            found.append((str(step), group))
    return found


def checkpoint_weights(group):
    """(path, array) of the weight arrays of one checkpoint, ranks in order (the
    record tails under tails/ excluded)."""
    found = [(path, node) for path, node in group.members(max_depth=None)
             if isinstance(node, zarr.Array) and not path.startswith("tails/")
             and path.rsplit("/", 1)[-1] in ("weight", "weights")]
    return sorted(found, key=lambda item: rank_order(item[0]))


def rank_order(path: str):
    """Sort key: rank number first, then the path."""
    match = RANK_PART.match(path)
    return (int(match.group(0)[5:-1]) if match else -1, path)
