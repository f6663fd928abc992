"""Sampled state variables (NEST's multimeter) stored in the archive, as lazy dask arrays.

`samples/<population>/` holds `times` (ms), `node_ids` (population-local ids of the
columns) and one 2-D array (n_times × n_recorded) per recorded variable, named after it
(`V_m` mV, `I_syn_ex` pA, …; `attrs["variables"]` lists them; archives written before
multimeters hold `V_m` only and no such attribute).
"""

from __future__ import annotations

import numpy as np

from .. import integrity


def read_samples(root, location: str, population: str, variable: str):
    """(times ms, node ids, values[time, node]) of `variable` of `population`: times and
    values lazy (one dask chunk per storage chunk, each checked against its checksum when
    computed: :mod:`bigbrain.integrity`), node ids in memory."""
    group = root.get(f"samples/{population}")
    if group is None or "times" not in group:
        raise KeyError(f"{location}: population {population!r} has no samples "
                       f"(no samples/{population}/ group)")
    recorded = group.attrs.get("variables", ["V_m"])
    if variable not in recorded or variable not in group:
        raise KeyError(f"{location}: {variable!r} of {population!r} was not recorded; "
                       f"recorded: {', '.join(recorded)}")
    where = f"{location}/samples/{population}"
    return (integrity.dask_array(group["times"], f"{where}/times"),
            np.asarray(integrity.read(group["node_ids"], f"{where}/node_ids")),
            integrity.dask_array(group[variable], f"{where}/{variable}"))
