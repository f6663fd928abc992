"""Write synthetic run archives in the layout of docs/archive-layout.md, for tests.

The factory talks to zarr directly (it does not use bigbrain's archive writer), so the
analysis package is tested against the documented layout rather than against another
part of the code. Spike records are written chunk by chunk through `SpikeWriter`, so an
archive larger than memory can be generated with bounded memory.

Times are in ms; node ids are population-local.
"""

from __future__ import annotations

import numpy as np
import zarr
from zarr.codecs import ZstdCodec

DT_MS = 0.1
COMPRESSORS = (ZstdCodec(level=1),)


def create_run(path, populations, *, dt_ms=DT_MS, t_end_ms=None, seed=1234, attrs=None):
    """Create the root group of a run with its `attrs["bigbrain"]` metadata.

    populations: list of dicts with name, size and optionally model; first_gid is
    assigned consecutively. Returns the zarr group (opened for writing).
    """
    first_gid = 0
    described = []
    for p in populations:
        described.append({"name": p["name"], "size": int(p["size"]),
                          "model": p.get("model", "iaf_psc_exp"), "params": {},
                          "first_gid": first_gid})
        first_gid += int(p["size"])
    meta = {
        "format_version": 1,
        "model": {"populations": described, "projections": [], "inputs": [],
                  "recordings": []},
        "dt_ms": dt_ms, "seed": seed, "partition": "round_robin", "n_ranks": 1,
        "versions": {"zarr": zarr.__version__, "numpy": np.__version__},
        "started": "2025-01-01T00:00:00Z", "finished": "2025-01-01T00:01:00Z",
        "t_end_ms": t_end_ms,
    }
    meta.update(attrs or {})
    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    root.attrs["bigbrain"] = meta
    return root


class SpikeWriter:
    """Append time-sorted spikes of one population to `spikes/<name>` in fixed chunks."""

    def __init__(self, root, name, *, t_start_ms, t_stop_ms, recorded="all", size=None,
                 chunk=1 << 16):
        self.group = root.require_group("spikes").create_group(name)
        everyone = isinstance(recorded, str) and recorded == "all"
        self.group.attrs.update({
            "sorting": "by_time", "t_start_ms": float(t_start_ms),
            "t_stop_ms": float(t_stop_ms),
            "n_recorded": size if everyone else len(recorded),
            "recorded": "all" if everyone else [int(i) for i in recorded],
        })
        self.node_ids = self.group.create_array("node_ids", shape=(0,), dtype="int64",
                                                chunks=(chunk,), compressors=COMPRESSORS)
        self.timestamps = self.group.create_array(
            "timestamps", shape=(0,), dtype="float64", chunks=(chunk,),
            compressors=COMPRESSORS, attributes={"units": "ms"})
        self.chunk = chunk
        self._pending = []

    def add(self, times_ms, node_ids):
        """Queue spikes (already sorted by time, then id) and write every full chunk."""
        self._pending.append((np.asarray(times_ms, float), np.asarray(node_ids, np.int64)))
        if sum(len(t) for t, _ in self._pending) >= self.chunk:
            self._flush(full_only=True)

    def close(self):
        """Write what is left."""
        self._flush(full_only=False)

    def _flush(self, full_only):
        times = np.concatenate([t for t, _ in self._pending] or [np.empty(0)])
        ids = np.concatenate([i for _, i in self._pending] or [np.empty(0, np.int64)])
        n = len(times) // self.chunk * self.chunk if full_only else len(times)
        if n:
            self.timestamps.append(times[:n])
            self.node_ids.append(ids[:n])
        self._pending = [(times[n:], ids[n:])]


def poisson_spikes(rng, size, rate_hz, t_start_ms, t_stop_ms, dt_ms=DT_MS):
    """Poisson spikes of `size` neurons on the time grid, in (t_start, t_stop].

    Returns (times_ms, node_ids) sorted by time, then id; at most one spike per neuron and
    step. Time stamps are step·dt, as the simulator writes them.
    """
    first = int(round(t_start_ms / dt_ms)) + 1
    n_steps = int(round(t_stop_ms / dt_ms)) + 1 - first
    expected = size * n_steps * rate_hz * dt_ms / 1000.0
    n = rng.poisson(expected)
    keys = np.sort(rng.integers(0, n_steps * size, n))
    keys = keys[np.r_[True, keys[1:] != keys[:-1]][:n]]   # one spike per neuron and step
    steps, ids = np.divmod(keys, size)
    return (steps + first) * dt_ms, ids


def poisson_windows(rng, size, rate_hz, t_stop_ms, window_ms, dt_ms=DT_MS):
    """Poisson spikes of (0, t_stop] as successive windows of window_ms: yields
    (times_ms, node_ids) per window, so the whole record is never held."""
    for t0 in np.arange(0.0, t_stop_ms, window_ms):
        yield poisson_spikes(rng, size, rate_hz, t0, min(t0 + window_ms, t_stop_ms), dt_ms)


def write_population(root, name, times_ms, node_ids, *, t_start_ms, t_stop_ms,
                     recorded="all", size=None, chunk=1 << 16):
    """Write one population's whole spike record (small archives)."""
    w = SpikeWriter(root, name, t_start_ms=t_start_ms, t_stop_ms=t_stop_ms,
                    recorded=recorded, size=size, chunk=chunk)
    w.add(times_ms, node_ids)
    w.close()


def write_telemetry(root, columns):
    """Write 1-D arrays under telemetry/ (name -> array)."""
    group = root.require_group("telemetry")
    for name, values in columns.items():
        group.create_array(name, data=np.asarray(values), compressors=COMPRESSORS)


def write_weight_samples(root, projection, weights):
    """Write samples/<projection>/weights."""
    group = root.require_group("samples").require_group(projection)
    group.create_array("weights", data=np.asarray(weights, float), chunks=(1 << 14,),
                       compressors=COMPRESSORS)


def small_run(path, *, seed=7, chunk=997):
    """A two-population run of 2 s, with odd chunk sizes, a partly recorded population,
    telemetry and weight samples. Returns the spikes written, {name: (times, ids)}."""
    rng = np.random.default_rng(seed)
    root = create_run(path, [{"name": "E", "size": 400}, {"name": "I", "size": 100,
                                                          "model": "iaf_psc_delta"},
                             {"name": "X", "size": 50}], t_end_ms=2000.0)
    written = {}
    t_e, i_e = poisson_spikes(rng, 400, 12.0, 0.0, 2000.0)
    silent = np.isin(i_e, [3, 17])                  # two recorded neurons never spike
    t_e, i_e = t_e[~silent], i_e[~silent]
    write_population(root, "E", t_e, i_e, t_start_ms=0.0, t_stop_ms=2000.0, size=400,
                     chunk=chunk)
    written["E"] = (t_e, i_e)
    recorded = np.arange(0, 100, 3)
    t_i, i_i = poisson_spikes(rng, 100, 30.0, 100.0, 2000.0)
    keep = np.isin(i_i, recorded)
    write_population(root, "I", t_i[keep], i_i[keep], t_start_ms=100.0, t_stop_ms=2000.0,
                     recorded=recorded, chunk=chunk)
    written["I"] = (t_i[keep], i_i[keep])
    write_telemetry(root, {"t_update_s": rng.random(20), "t_exchange_s": rng.random(20),
                           "packets": rng.integers(0, 1000, 20),
                           "per_link": rng.integers(0, 9, 7)})
    write_weight_samples(root, "EE", rng.normal(0.1, 0.02, 5000))
    return written
