"""The run archive: one zarr v3 store per run (layout: docs/archive-layout.md).

:class:`Archive` says where and how a run is archived (``Network(archive=...)``).
:class:`ArchiveWriter` writes it while the run goes on:

* Spike records are streamed. Every ``flush_every`` ms of biological time (a *block*) each
  rank sends the block's spikes to rank 0, which sorts them by (time, node id) and appends
  *whole chunks* of ``spikes_per_chunk`` spikes; the rest (less than a chunk) waits on
  rank 0 until the next block. Memory is therefore bounded by one block of spikes per rank
  plus one chunk, and the stored arrays, their chunking and their bytes are the same for
  any number of ranks (a chunk is only ever written from globally sorted spikes).
  Gathering to one writer was chosen over parallel chunk-aligned writes by every rank
  because a spike is 16 bytes against thousands of synaptic events of work, so one writer
  keeps up, and parallel writes would need a global sort (a collective sample sort) per
  block to know which rank owns which chunk.
* samples of state variables and telemetry are appended the same way, one block at a time.
* At the end of ``run`` (and at checkpoints) the partial last chunks are written too, so
  the store is readable up to that time; the next block rewrites that chunk.

Only rank 0 writes outside ``checkpoints/``, except each rank's own row of the rank-pair
traffic counters (``telemetry/traffic/pairs/to_<rank>/``: its own arrays and chunks, so
that no rank gathers the O(P²) matrix). Writes to a local store are atomic per file
(zarr writes a temporary file and renames it). Every array carries a CRC-32C checksum per
chunk, so a damaged chunk is reported when read, never returned.
"""
import datetime
import math
import os
import time

import numpy as np
import zarr
from mpi4py import MPI
from zarr.codecs import Crc32cCodec, ZstdCodec

from . import integrity
from .errors import ArchiveError, RankError
from .neurons.base import unit_of
from .plasticity import PlasticRecords, sorted_events
from .preemption import PREEMPTED_EXIT_CODE, STOP, SignalCatcher
from .traffic import (ARCHIVE_ARRAYS, BYTES_PER_PACKET, LEGACY_PAIR_COLUMNS, PAIR_COLUMNS, archive_rows,
                      delta, pair_group, pair_rows, summed_part)

FORMAT_VERSION = 1
SPIKES_PER_CHUNK = 1 << 16
ROWS_PER_CHUNK = 1024
COMPRESSORS = (ZstdCodec(level=3), Crc32cCodec())
AER_BYTES = 8
TELEMETRY_BLOCK = ("t_start_ms", "t_stop_ms", "n_intervals", "t_update_s", "t_exchange_s",
                   "t_deliver_s", "t_write_s", "spikes", "packets", "bytes")
TELEMETRY_RANK = ("block", "rank", "t_update_s", "t_exchange_s", "t_deliver_s", "t_write_s",
                  "spikes", "packets_sent", "packets_received", "bytes_sent", "bytes_received",
                  "launches", "syncs", "copies_to_host")
#: Per-rank device counters (bigbrain.kernels.gpu.COUNTS; 0 on the CPU), absent in
#: archives written before them: a resumed run then leaves them out.
DEVICE_COUNTS = {"launches": "launches", "syncs": "syncs", "copies_to_host": "to_host"}


class Archive:
    """Where and how a run is archived.

    path: the zarr store (a directory). overwrite: replace an existing store (otherwise an
    existing path is refused and left untouched). checkpoint_every: biological time (ms)
    between checkpoints, or None. checkpoint_at_end: checkpoint when each ``run`` call
    ends. flush_every: biological time (ms) per block (spikes are sent to the writer and
    telemetry is taken once per block; signals are acted on at block ends).
    spikes_per_chunk: spikes per stored chunk.
    """

    def __init__(self, path, overwrite=False, checkpoint_every=None, checkpoint_at_end=True,
                 flush_every=10.0, spikes_per_chunk=SPIKES_PER_CHUNK):
        self.path = str(path)
        self.overwrite = bool(overwrite)
        self.checkpoint_every = None if checkpoint_every is None else float(checkpoint_every)
        self.checkpoint_at_end = bool(checkpoint_at_end)
        self.flush_every = float(flush_every)
        self.spikes_per_chunk = int(spikes_per_chunk)
        for name in ("checkpoint_every", "flush_every"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ArchiveError(f"archive.{name}: must be > 0 ms, got {value}")
        if self.spikes_per_chunk < 1:
            raise ArchiveError(f"archive.spikes_per_chunk: must be >= 1, got {spikes_per_chunk}")

    @classmethod
    def of(cls, archive):
        """An :class:`Archive` from a path or an :class:`Archive` (None stays None)."""
        return archive if archive is None or isinstance(archive, Archive) else cls(archive)

    def refuse_existing(self):
        """Raise if the store exists and may not be overwritten (before anything is built)."""
        if not self.overwrite and os.path.exists(self.path):
            raise ArchiveError(f"{self.path}: an archive (or file) exists there already; pass "
                               "overwrite=True to replace it, or resume it with bigbrain.resume")

    def settings(self):
        return {"checkpoint_every_ms": self.checkpoint_every, "checkpoint_at_end": self.checkpoint_at_end,
                "flush_every_ms": self.flush_every, "spikes_per_chunk": self.spikes_per_chunk}


def now():
    """The current UTC time, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def versions():
    import importlib.metadata as md
    import sys

    out = {"python": sys.version.split()[0]}
    for name in ("bigbrain", "numpy", "numba", "zarr", "numcodecs", "mpi4py"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def open_store(path, mode="r"):
    """The root group of an archive, checked to be a bigbrain archive of a known format."""
    if not os.path.isdir(path):
        raise ArchiveError(f"{path}: no archive there")
    try:
        root = zarr.open_group(path, mode=mode, zarr_format=3)
        meta = root.attrs["bigbrain"]
    except (KeyError, FileNotFoundError, ValueError, TypeError) as exc:
        raise ArchiveError(f"{path}: not a bigbrain archive ({type(exc).__name__}: {exc})") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"{path}: archive format {meta.get('format_version')!r}, this bigbrain "
                           f"reads format {FORMAT_VERSION}")
    return root


def _array(root, name):
    try:
        return root[name]
    except Exception:  # noqa: BLE001 - missing, or its metadata unreadable
        raise ArchiveError(f"{root.store}: array {name!r} is missing") from None


def read_array(root, name):
    """The rows written of array ``name`` (checked, :mod:`bigbrain.integrity`), with an
    error naming a missing or damaged array."""
    return integrity.read(_array(root, name), f"{root.store}: array {name!r}")


def written_together(root, names):
    """(arrays, rows) of the arrays ``names`` of one record (their rows belong together):
    the rows that all of them hold as written (a crash between their writes leaves one
    longer)."""
    arrays = [_array(root, name) for name in names]
    return arrays, min(integrity.length(a, f"{root.store}: array {name!r}")
                       for a, name in zip(arrays, names))


def read_columns(root, names):
    """The arrays ``names`` of one record, as far as all were written, checked."""
    arrays, n = written_together(root, names)
    return tuple(integrity.read(a, f"{root.store}: array {name!r}", 0, n) for a, name in zip(arrays, names))


def model_arrays(root):
    """name -> lazily read array of the model description's arrays (``model/``)."""
    if "model" not in root:
        return {}
    return {path: node for path, node in root["model"].members(max_depth=None)
            if isinstance(node, zarr.Array)}


class Appender:
    """Appends rows to a zarr array (axis 0) in whole chunks; fewer rows wait in ``tail``.

    ``n_full`` rows (a multiple of the chunk length) are in the store for good; ``write_tail``
    also stores the tail (a partial chunk, rewritten when more rows come). After each
    write the array's ``attrs["written"]`` (:mod:`bigbrain.integrity`: length, CRC-32 per
    chunk) is updated, last; an array of an older archive without it stays without.
    """

    def __init__(self, array):
        self.array = array
        self.chunk = array.chunks[0]
        info = integrity.written(array)
        stored = array.shape[0] if info is None else info["length"]
        self.crcs = None if info is None and stored else \
            ([] if info is None else info["chunk_crc32"][:stored // self.chunk])
        self.n_full = stored // self.chunk * self.chunk
        self.tail = array[self.n_full:stored] if stored > self.n_full else \
            np.zeros((0,) + array.shape[1:], array.dtype)

    def add(self, rows):
        self.tail = np.concatenate([self.tail, np.asarray(rows, self.array.dtype)])
        k = len(self.tail) // self.chunk * self.chunk
        if k:
            self._store(self.tail[:k])
            self.n_full += k
            self.tail = self.tail[k:]

    def write_tail(self):
        if len(self.tail) or self.array.shape[0] != self.n_full:
            self._store(self.tail)

    def _store(self, rows):
        self.array.resize((self.n_full + len(rows),) + self.array.shape[1:])
        self.array[self.n_full:self.n_full + len(rows)] = rows
        if self.crcs is not None:
            del self.crcs[self.n_full // self.chunk:]
            self.crcs += [integrity.crc32(rows[k:k + self.chunk]) for k in range(0, len(rows), self.chunk)]
            self._commit(self.n_full + len(rows))

    def _commit(self, length):
        self.array.update_attributes({integrity.ATTR: integrity.attribute(length, self.crcs)})

    def restore(self, n_full, tail):
        """Back to ``n_full`` stored rows plus ``tail`` (drops everything after)."""
        self.array.resize((n_full,) + self.array.shape[1:])
        self.n_full, self.tail = n_full, np.asarray(tail, self.array.dtype)
        if self.crcs is not None:
            del self.crcs[n_full // self.chunk:]
            self._commit(n_full)
        self.write_tail()

    def __len__(self):
        return self.n_full + len(self.tail)


def _create(group, name, dtype, chunk_rows, columns=None, attrs=None):
    shape, chunks = ((0,), (chunk_rows,)) if columns is None else ((0, columns), (chunk_rows, max(columns, 1)))
    return group.create_array(name, shape=shape, dtype=dtype, chunks=chunks, compressors=COMPRESSORS,
                              fill_value=0, attributes={**(attrs or {}),
                                                        integrity.ATTR: integrity.attribute(0, [])})


class ArchiveWriter:
    """Writes one rank's share of the archive of a running simulation (see module doc).

    Call :meth:`create` (new store) or :meth:`reopen` (resume), then the simulation loop
    calls :meth:`steps_to_boundary`, :meth:`after_interval` and :meth:`end_run`.
    """

    def __init__(self, sim, options):
        self.sim, self.options, self.comm = sim, options, sim.comm
        self.path = options.path
        self.block_steps = max(1, int(round(options.flush_every / sim.dt)))
        self.checkpointer = None       # the run's Checkpointer (bigbrain.checkpoint.open_writer)
        self.signals = SignalCatcher()
        self.root = None
        self.appenders = {}
        self.block_start = sim.step
        self._acc = np.zeros(5)        # t_update, t_exchange, t_deliver, spikes, intervals
        self._row_done, self._after_row = 0.0, 0.0   # after a block's telemetry row: when, and
        # the seconds spent then (writing telemetry, checkpoints), counted in the next t_write_s
        self._packets = (0, 0)
        self._counts = self._device_counts()  # at the last block end
        self._traffic = None           # traffic counters at the last block end
        self.own = {}                  # every rank: appenders of its row of the pair counters
        self.blocks = 0                # telemetry blocks written so far
        self.meta = None
        self._failed = None            # rank 0: an error writing telemetry, reported next

    # ------------------------------------------------------------------ opening
    def create(self, desc, arrays):
        """Collective: create the store (rank 0) with metadata, model and empty records."""
        from .description import fingerprint

        error = None
        if self.comm.rank == 0:
            try:
                root = zarr.open_group(self.path, mode="w", zarr_format=3)
                for name, arr in arrays.items():
                    root.create_array(f"model/{name}", data=arr, compressors=COMPRESSORS)
                self._create_records(root)
                self.root = root
                root.attrs["bigbrain"] = self._initial_meta(desc, fingerprint(desc, arrays))
                self._open_appenders()
            except Exception as exc:  # noqa: BLE001 - raised on every rank by check
                error = ArchiveError(f"{self.path}: cannot create the archive ({exc})")
        self.comm.check(error)
        self.open_own()

    def open_own(self, blocks=0):
        """Collective: every rank opens (creating them if missing) the arrays of its own
        row of the rank-pair counters, ``telemetry/traffic/pairs/to_<rank>/``, which only
        it writes; ``blocks``: telemetry blocks already written."""
        error = None
        try:
            root = zarr.open_group(self.path, mode="r+", zarr_format=3)
            self.own = {c: Appender(_own_array(root, pair_group(self.comm.rank), c)) for c in PAIR_COLUMNS}
        except Exception as exc:  # noqa: BLE001 - raised on every rank by check
            error = ArchiveError(f"{self.path}: cannot open rank {self.comm.rank}'s traffic rows ({exc})")
        self.comm.check(error)
        self.blocks = blocks

    def reopen(self, root, meta):
        """Collective: continue writing an existing store (after a checkpoint was loaded)."""
        self.root = root if self.comm.rank == 0 else None
        self.meta = meta
        self._open_appenders()

    def _initial_meta(self, desc, sha):
        self.meta = {
            "format_version": FORMAT_VERSION, "model": desc, "model_sha256": sha,
            "dt_ms": self.sim.dt, "seed": self.sim.net.seed, "partition": self.sim.net.partition,
            "n_ranks": self.comm.size, "exchange": self.sim.net.exchange,
            "versions": versions(), "archive": self.options.settings(),
            "started": now(), "finished": None, "t_end_ms": 0.0, "status": "running",
            "records": self._record_paths() + [f"samples/{r.population.name}/node_ids"
                                               for r in self.sim.net.vm_recordings]
                       + own_paths(self.comm.size),
            "segments": [self._segment("start")]}
        return self.meta

    def _segment(self, how):
        return {"how": how, "from_step": self.sim.step, "n_ranks": self.comm.size,
                "partition": self.sim.net.partition, "started": now(), "versions": versions(),
                "backend": {"requested": self.sim.net.backend, **self.sim.backend.describe()},
                "layout": self._layout()}

    def _layout(self):
        """This segment's partition (its description; the owner of every gid stored in
        ``layout/step_<from_step>/owner`` when the description cannot rebuild it) and
        exchange (strategy, mesh shape)."""
        part = self.sim.partition
        layout = {"partition": part.describe(), "exchange": self.sim.exchange.describe()}
        if not part.reconstructible:
            name = f"layout/step_{self.sim.step}/owner"
            owner = part.owner(np.arange(part.n_nodes)).astype(np.int32)
            self.root.create_array(name, data=owner, compressors=COMPRESSORS, overwrite=True)
            layout["partition"]["owner"] = {"array_ref": name}
        return layout

    def _create_records(self, root):
        chunk = self.options.spikes_per_chunk
        for rec in self.sim.net.spike_recordings:
            pop = rec.population
            g = root.create_group(f"spikes/{pop.name}", attributes={
                "sorting": "by_time", "t_start_ms": 0.0, "t_stop_ms": 0.0,
                "n_recorded": int(len(rec.ids)),
                "recorded": "all" if len(rec.ids) == pop.size else rec.ids.tolist()})
            _create(g, "node_ids", "int64", chunk)
            _create(g, "timestamps", "float64", chunk, attrs={"units": "ms"})
        for rec in self.sim.net.vm_recordings:
            g = root.create_group(f"samples/{rec.population.name}", attributes={
                "interval_ms": rec.interval, "variables": list(rec.variables)})
            ids = rec.ids.astype(np.int64)
            g.create_array("node_ids", data=ids, chunks=(max(len(ids), 1),), compressors=COMPRESSORS,
                           attributes={integrity.ATTR: integrity.attribute(len(ids), [integrity.crc32(ids)])})
            _create(g, "times", "float64", ROWS_PER_CHUNK, attrs={"units": "ms"})
            for variable in rec.variables:
                _create(g, variable, "float64", ROWS_PER_CHUNK, columns=len(rec.ids),
                        attrs={"units": unit_of(variable)})
        for proj in self.sim.plasticity.recorded():
            g = root.create_group(weight_samples(proj.conn), attributes={
                "connection": proj.conn.where, "sorting": "by_time",
                "recorder": "weight after each pre-synaptic spike (NEST's weight_recorder)"})
            for name, dtype in (("times", "float64"), ("pre", "int64"), ("post", "int64"),
                                ("weights", "float64")):
                _create(g, name, dtype, chunk, attrs={"units": "ms"} if name == "times" else None)
        tel = root.create_group("telemetry", attributes={
            "per_block": "timings: max over ranks (s); counters: sums over ranks",
            "ranks": "telemetry/ranks/: one row per (block, rank)"})
        for name in TELEMETRY_BLOCK:
            _create(tel, name, "float64" if name.startswith("t_") else "int64", ROWS_PER_CHUNK)
        for name in TELEMETRY_RANK:
            _create(tel, f"ranks/{name}", "float64" if name.startswith("t_") else "int64", ROWS_PER_CHUNK)
        traffic = tel.create_group("traffic", attributes={
            "bytes_per_packet": BYTES_PER_PACKET, "layout": "docs/archive-layout.md, telemetry/traffic"})
        for path in _traffic_paths():
            _create(traffic, path, "int64", SPIKES_PER_CHUNK)
        traffic.create_group("pairs", attributes={
            "rows": "to_<r>/{block, origin, packets}: written by destination rank r"})

    def _open_appenders(self):
        if self.comm.rank == 0:
            self.appenders = {p: Appender(self.root[p]) for p in self._record_paths()}

    def _record_paths(self):
        """Paths of the arrays that records are appended to."""
        paths = [f"spikes/{r.population.name}/{a}" for r in self.sim.net.spike_recordings
                 for a in ("node_ids", "timestamps")]
        paths += [f"samples/{r.population.name}/{a}" for r in self.sim.net.vm_recordings
                  for a in ("times", *r.variables)]
        paths += [f"{weight_samples(p.conn)}/{a}" for p in self.sim.plasticity.recorded()
                  for a in ("times", "pre", "post", "weights")]
        paths += [f"telemetry/{n}" for n in TELEMETRY_BLOCK]
        paths += [f"telemetry/ranks/{n}" for n in TELEMETRY_RANK]
        paths += [f"telemetry/traffic/{p}" for p in _traffic_paths()]
        device = {f"telemetry/ranks/{n}" for n in DEVICE_COUNTS}  # absent in older archives
        legacy = [f"telemetry/traffic/pairs/{c}" for c in LEGACY_PAIR_COLUMNS]  # only older
        return [p for p in paths if p not in device or p in self.root] + [p for p in legacy if p in self.root]

    # ------------------------------------------------------------------ the loop
    def steps_to_boundary(self, step):
        """Steps from ``step`` to the next block end or checkpoint (the loop cuts intervals there)."""
        self.signals.arm()
        to_block = self.block_steps - step % self.block_steps
        return min(to_block, self.checkpointer.steps_to_due(step))

    def after_interval(self, n, t_update, t_exchange, t_deliver, n_spikes, error, intervals=1):
        """Account ``intervals`` intervals (one, or the one-step intervals of a compiled
        call: :mod:`bigbrain.fused`); at a block end (collective) flush and maybe checkpoint."""
        self._acc += (t_update, t_exchange, t_deliver, n_spikes, intervals)
        step = self.sim.step
        if step % self.block_steps and not self.checkpointer.due(step):
            return
        self.comm.check(error)
        signal = self.flush()
        self.checkpointer.at_block_end(step, signal)
        self._after_row = time.perf_counter() - self._row_done

    def flush(self, final=False):
        """Collective: write the block's records (rank 0) and telemetry; returns the most
        urgent signal any rank received (:mod:`bigbrain.preemption`)."""
        t = time.perf_counter()
        traffic = self._traffic_delta()
        error, self._failed = self._failed, None
        if error is None:
            try:
                self._write_own(traffic, final)
            except Exception as exc:  # noqa: BLE001 - raised on all ranks below
                error = exc
        gathered = self.comm.mpi.gather(self._drain() + (traffic["messages"],), root=0)
        summed = self.comm.mpi.reduce(summed_part(traffic), op=MPI.SUM, root=0)
        if self.comm.rank == 0 and error is None:
            try:
                self._write_records(gathered)
            except Exception as exc:  # noqa: BLE001 - raised on all ranks below
                error = exc
        row = self._telemetry_row(time.perf_counter() - t + self._after_row)
        self._row_done, self._after_row = time.perf_counter(), 0.0
        rows = self.comm.mpi.allgather((row, self.signals.pending(),
                                        None if error is None else f"{type(error).__name__}: {error}"))
        failed = [(r, e) for r, (_, _, e) in enumerate(rows) if e is not None]
        if failed:
            raise RankError("; ".join(f"rank {r}: writing the archive failed: {e}" for r, e in failed))
        if self.comm.rank == 0:
            try:
                if rows[0][0][7] > 0:
                    self._write_telemetry([r for r, _, _ in rows], [g[3] for g in gathered], summed)
                if final:
                    self.write_tails()
            except Exception as exc:  # noqa: BLE001 - raised on all ranks at the next collective
                self._failed = exc
        self.block_start = self.sim.step
        return max(s for _, s, _ in rows)

    def _write_own(self, traffic, final):
        """This rank's row of the pair counters for the block (when it holds intervals)."""
        if self._acc[4] > 0:
            for column, values in pair_rows(traffic, self.blocks).items():
                self.own[column].add(values)
            self.blocks += 1
        if final:
            for appender in self.own.values():
                appender.write_tail()

    def own_state(self):
        """This rank's pair rows for a checkpoint: {path: array}, rows stored for good
        and the tail (the tail is also written to the store)."""
        out = {}
        for column, appender in self.own.items():
            appender.write_tail()
            out[f"traffic/pairs/{column}/n_full"] = np.array([appender.n_full], np.int64)
            out[f"traffic/pairs/{column}/tail"] = appender.tail
        return out

    def _drain(self):
        """This rank's records since the last block (the recorders are emptied)."""
        spikes = []
        for rec in self.sim.spike_recorders:
            spikes.append((np.concatenate(rec.steps + [np.zeros(0, np.int64)]),
                           np.concatenate(rec.ids + [np.zeros(0, np.int64)])))
            rec.steps, rec.ids = [], []
        samples = [rec.drain() for rec in self.sim.vm_recorders]
        plasticity = self.sim.plasticity
        weights = [plasticity.keyed_events(p, p.recorder.drain()) for p in plasticity.recorded()]
        return spikes, samples, weights

    def _write_records(self, gathered):
        dt = self.sim.dt
        for k, rec in enumerate(self.sim.net.spike_recordings):
            steps = np.concatenate([g[0][k][0] for g in gathered])
            ids = np.concatenate([g[0][k][1] for g in gathered])
            order = np.lexsort((ids, steps))
            name = f"spikes/{rec.population.name}"
            self.appenders[f"{name}/node_ids"].add(ids[order])
            self.appenders[f"{name}/timestamps"].add(steps[order] * dt)
        for k, rec in enumerate(self.sim.net.vm_recordings):
            steps = gathered[0][1][k][0]
            values = np.zeros((len(steps), len(rec.ids), len(rec.variables)))
            for g in gathered:
                _, ids, v = g[1][k]
                values[:, np.searchsorted(rec.ids, ids)] = v
            name = f"samples/{rec.population.name}"
            self.appenders[f"{name}/times"].add(steps * dt)
            for j, variable in enumerate(rec.variables):
                self.appenders[f"{name}/{variable}"].add(values[:, :, j])
        for k, proj in enumerate(self.sim.plasticity.recorded()):
            parts = [np.concatenate([g[2][k][j] for g in gathered]) for j in range(5)]
            stamps, pre, post, w = sorted_events(proj.conn, parts)
            name = weight_samples(proj.conn)
            for array, values in (("times", stamps * dt), ("pre", pre), ("post", post), ("weights", w)):
                self.appenders[f"{name}/{array}"].add(values)

    def write_tails(self):
        for appender in self.appenders.values():
            appender.write_tail()

    def _telemetry_row(self, t_write):
        sent, received = self.sim.exchange.packets_sent, self.sim.exchange.packets_received
        ps, pr = sent - self._packets[0], received - self._packets[1]
        self._packets = (sent, received)
        t_update, t_exchange, t_deliver, spikes, intervals = self._acc
        self._acc = np.zeros(5)
        now = self._device_counts()
        device, self._counts = [a - b for a, b in zip(now, self._counts)], now
        return (t_update, t_exchange, t_deliver, t_write, int(spikes), ps, pr, int(intervals),
                *device)

    def _device_counts(self):
        counts = getattr(self.sim.backend.kernels, "counts", {})
        return [counts.get(k, 0) for k in DEVICE_COUNTS.values()]

    def _traffic_delta(self):
        now = self.sim.exchange.traffic.snapshot()
        change, self._traffic = delta(now, self._traffic), now
        return change

    def _write_telemetry(self, rows, traffic, summed):
        dt = self.sim.dt
        rows = np.array(rows, np.float64)
        block = self.blocks - 1  # counted by _write_own, the same on every rank
        for path, values in archive_rows(self.sim.exchange.mesh, traffic, summed, block).items():
            self.appenders[f"telemetry/traffic/{path}"].add(values)
        add = lambda name, v: self.appenders[f"telemetry/{name}"].add(np.atleast_1d(v))  # noqa: E731
        add("t_start_ms", self.block_start * dt)
        add("t_stop_ms", self.sim.step * dt)
        add("n_intervals", int(rows[0, 7]))
        for j, name in enumerate(("t_update_s", "t_exchange_s", "t_deliver_s", "t_write_s")):
            add(name, rows[:, j].max())
        add("spikes", int(rows[:, 4].sum()))
        add("packets", int(rows[:, 5].sum()))
        add("bytes", int(rows[:, 5].sum()) * AER_BYTES)
        n = len(rows)
        per_rank = {"block": np.full(n, block), "rank": np.arange(n), "t_update_s": rows[:, 0],
                    "t_exchange_s": rows[:, 1], "t_deliver_s": rows[:, 2], "t_write_s": rows[:, 3],
                    "spikes": rows[:, 4], "packets_sent": rows[:, 5], "packets_received": rows[:, 6],
                    "bytes_sent": rows[:, 5] * AER_BYTES, "bytes_received": rows[:, 6] * AER_BYTES}
        per_rank.update({name: rows[:, 8 + j] for j, name in enumerate(DEVICE_COUNTS)})
        for name, values in per_rank.items():
            if f"telemetry/ranks/{name}" in self.appenders:
                self.appenders[f"telemetry/ranks/{name}"].add(values)

    def end_run(self, stop=False):
        """Collective, at the end of ``run`` (or on SIGTERM, ``stop``): flush everything,
        checkpoint if asked or signalled, update the metadata; exit the process with
        :data:`~bigbrain.preemption.PREEMPTED_EXIT_CODE` on SIGTERM."""
        sig = self.flush(final=True)
        stop = stop or sig == STOP
        self.checkpointer.at_run_end(self.sim.step, STOP if stop else sig)
        self.comm.agree(self.update_meta, status="stopped by SIGTERM" if stop else "done")
        if stop:
            raise SystemExit(PREEMPTED_EXIT_CODE)

    def raise_failed(self):
        """Rank 0: raise the error, if any, that writing telemetry or tails left behind."""
        if self._failed is not None:
            error, self._failed = self._failed, None
            raise ArchiveError(f"{self.path}: writing the archive failed: "
                               f"{type(error).__name__}: {error}")

    def update_meta(self, status):
        """Rank 0: record how far the run got (raises an error left from the last flush)."""
        if self.comm.rank != 0:
            return
        self.raise_failed()
        self.meta.update(t_end_ms=self.sim.step * self.sim.dt, finished=now(), status=status)
        self.meta["segments"][-1].update(to_step=self.sim.step, finished=self.meta["finished"])
        for rec in self.sim.net.spike_recordings:
            self.root[f"spikes/{rec.population.name}"].attrs["t_stop_ms"] = self.sim.step * self.sim.dt
        self.root.attrs["bigbrain"] = self.meta

    def result(self):
        """The records so far, read back from the store (every rank reads; collective)."""
        return ArchiveResult(self.path, PlasticRecords(self.sim))


def weight_samples(conn):
    """Group of the weight-recorder events of connection ``conn``."""
    return f"samples/connection_{conn.index}"


class ArchiveResult:
    """Spike records, V_m and weight samples of an archive, read on demand, and the final
    plastic weights of the run (the :class:`Result` API)."""

    def __init__(self, path, plastic=None):
        self.root = open_store(path)
        self.dt = self.root.attrs["bigbrain"]["dt_ms"]
        self.plastic = plastic

    def weights(self, pre, post=None):
        """(pre positions, post positions, weights) of a plastic connection, from the running
        network (collective; not available on an archive opened alone)."""
        from .errors import ModelError

        if self.plastic is None:
            raise ModelError("weights", "final weights come from the running network; read an "
                             "archive's weights from its checkpoints (bigbrain.analysis)")
        return self.plastic.weights(pre, post)

    def weight_events(self, pre, post=None):
        """(times in ms, pre positions, post positions, weights) recorded for a connection
        (the connection object, or its pre and post selections while the network runs)."""
        from .errors import ModelError

        conn = pre if self.plastic is None else self.plastic.connection(pre, post, "weight_events")
        g = weight_samples(conn)
        if g not in self.root:
            raise ModelError("weight_events", f"{conn.where} was not recorded (record_weights)")
        return read_columns(self.root, [f"{g}/{a}" for a in ("times", "pre", "post", "weights")])

    def _group(self, kind, name, what):
        from .errors import ModelError

        if kind not in self.root or name not in self.root[kind]:
            raise ModelError(what, f"population {name!r} was not recorded ({what}) in {self.root.store}")
        return f"{kind}/{name}"

    def spikes(self, name):
        """(times in ms, population-local ids) of the recorded spikes of population ``name``."""
        g = self._group("spikes", name, "spikes")
        return read_columns(self.root, [f"{g}/timestamps", f"{g}/node_ids"])

    def samples(self, name, variable):
        """(times in ms, ids, values with one column per id) of state variable ``variable``
        of population ``name``."""
        from .errors import ModelError

        g = self._group("samples", name, variable)
        if variable not in self.root[g]:
            recorded = self.root[g].attrs.get("variables", ["V_m"])
            raise ModelError(f"samples.{variable}", f"{variable!r} of {name!r} was not recorded; "
                             f"recorded: {', '.join(recorded)}")
        times, values = read_columns(self.root, [f"{g}/times", f"{g}/{variable}"])
        return times, read_array(self.root, f"{g}/node_ids"), values

    def V_m(self, name):
        """(times in ms, ids, values in mV with one column per id) of population ``name``."""
        return self.samples(name, "V_m")

    def n_spikes(self, name):
        g = self._group("spikes", name, "spikes")
        return written_together(self.root, [f"{g}/node_ids", f"{g}/timestamps"])[1]


def _traffic_paths():
    return [f"{group}/{name}" for group, names in ARCHIVE_ARRAYS.items() for name in names]


def own_paths(n_ranks):
    """Paths of the pair-counter arrays of ranks 0 … n_ranks − 1."""
    return [f"{pair_group(r)}/{c}" for r in range(n_ranks) for c in PAIR_COLUMNS]


def _own_array(root, group, column):
    path = f"{group}/{column}"
    return root[path] if path in root else _create(root.require_group(group), column, "int64", ROWS_PER_CHUNK)


def spike_extent(root, group):
    """(spikes stored, first and last time stamp in ms, or None) of spike record ``group``
    (``spikes/<population>``); reads two chunks."""
    (_, times), n = written_together(root, [f"{group}/node_ids", f"{group}/timestamps"])
    if n == 0:
        return 0, None, None
    return n, _row(times, f"{group}/timestamps", 0), _row(times, f"{group}/timestamps", n - 1)


def _row(array, where, i):
    return float(integrity.read(array, where, i, i + 1)[0])


def records_reach(root):
    """The latest time (ms) in the spike, V_m and telemetry records, as stored."""
    paths = [f"{kind}/{name}/{times}" for kind, times in (("spikes", "timestamps"), ("samples", "times"))
             for name, group in (root[kind].groups() if kind in root else []) if times in group]
    reach = 0.0
    for path in paths + (["telemetry/t_stop_ms"] if "telemetry/t_stop_ms" in root else []):
        n = integrity.length(root[path], path)
        if n:
            reach = max(reach, _row(root[path], path, n - 1))
    return reach


def expected_records(root):
    """Paths of the record arrays the archive must hold (``records`` of its metadata; for
    older archives, those of its spike and V_m recordings)."""
    meta = root.attrs["bigbrain"]
    if "records" in meta:
        return meta["records"]
    paths = []
    for rec in meta["model"].get("recordings", []):
        kind, names = (("spikes", ("node_ids", "timestamps")) if rec["what"] == "spikes"
                       else ("samples", ("node_ids", "times", "V_m")))
        paths += [f"{kind}/{rec['population']}/{a}" for a in names]
    return paths


def _arrays(path):
    """(name, array, or the exception that opening it raised) of every array of the
    store at ``path``, found by walking its folders (damaged metadata is reported, not
    raised)."""
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        name = os.path.relpath(folder, path).replace(os.sep, "/")
        if name == "." or "zarr.json" not in files:
            continue
        try:
            node = zarr.open(store=path, path=name, mode="r", zarr_format=3)
        except Exception as exc:  # noqa: BLE001 - reported
            dirs.clear()
            yield name, exc
            continue
        if isinstance(node, zarr.Array):
            dirs.clear()
            yield name, node


def verify(path, rows_per_read=1 << 20):
    """Check an archive: every record array it must hold is there, and every array is
    readable, as long as written and matches its checksums (:mod:`bigbrain.integrity`).
    Returns a list of problems (empty: all intact). Reads ``rows_per_read`` rows at a time."""
    root = open_store(path)
    problems = [f"{name}: missing" for name in expected_records(root) if name not in root]
    for name, node in _arrays(path):
        if isinstance(node, Exception):
            problems.append(f"{name}: unreadable metadata ({type(node).__name__}: {node})")
            continue
        try:
            if node.ndim == 0:
                node[()]
                continue
            n = integrity.length(node, name)
            step = max(node.chunks[0], rows_per_read // node.chunks[0] * node.chunks[0])
            for start in range(0, n, step):
                integrity.read(node, name, start, start + step)
        except ArchiveError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return problems
