"""Opening a run archive (docs/archive-layout.md) for analysis.

`open` checks that the store is a bigbrain archive and reads its metadata only; every
statistic of `Run` is lazy: a dask object computed by `.compute()` (or several at once,
sharing the reads, with `dask.compute(a, b, ...)`) on whatever dask scheduler is active,
a `dask.distributed` cluster included.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import zarr

from . import correlations, fano, isi, rates, raster, samples, spiketrains, telemetry, weights
from .. import integrity
from ..errors import ArchiveError, ModelError
from .record import SpikeRecord

FORMAT_VERSIONS = (1,)


def open(path, spikes_per_block: int = 1 << 20) -> "Run":  # noqa: A001 - ba.open(path)
    """Open the run archive at `path` (a local path or an fsspec URL) lazily.

    spikes_per_block: spikes read and reduced by one dask task (whole storage chunks; a
    task needs about 80 bytes per spike): lower it for workers with little memory.
    """
    location = os.fspath(path)
    if "://" not in location and not os.path.exists(location):
        raise ArchiveError(f"cannot open {location}: the path does not exist")
    try:
        root = zarr.open_group(location, mode="r", zarr_format=3)
    except (zarr.errors.BaseZarrError, FileNotFoundError) as error:
        raise ArchiveError(f"{location} is not a bigbrain archive: no zarr v3 group there "
                           f"(zarr.json missing or not a group: {error})") from None
    return Run(location, root, spikes_per_block)


class Run:
    """A run archive: metadata, populations, and lazy statistics of its spike records.

    Times are in ms, rates in Hz, node ids population-local (0 … size−1).
    """

    def __init__(self, location: str, root, spikes_per_block: int = 1 << 20):
        self.location = location
        self.root = root
        self.spikes_per_block = spikes_per_block
        self.meta = check_metadata(location, root)

    def __repr__(self):
        names = ", ".join(self.populations.index)
        return f"<bigbrain Run {self.location}: {names}; dt {self.meta.get('dt_ms')} ms>"

    @property
    def populations(self) -> pd.DataFrame:
        """One row per population (index name): size, model, first_gid, last_gid, and
        n_recorded (spikes recorded from that many neurons; 0 when not recorded)."""
        rows = []
        for p in self.meta["model"]["populations"]:
            spikes = self.root.get(f"spikes/{p['name']}")
            n_recorded = 0 if spikes is None else spikes.attrs.get("n_recorded", 0)
            rows.append({"name": p["name"], "size": p["size"], "model": p.get("model"),
                         "first_gid": p["first_gid"],
                         "last_gid": p["first_gid"] + p["size"] - 1,
                         "n_recorded": n_recorded})
        return pd.DataFrame(rows).set_index("name")

    def record(self, population: str) -> SpikeRecord:
        """The spike record of a population (see bigbrain.analysis.record)."""
        sizes = {p["name"]: p for p in self.meta["model"]["populations"]}
        if population not in sizes:
            raise KeyError(f"{self.location} has no population {population!r}; "
                           f"populations: {', '.join(sizes)}")
        group = self.root.get(f"spikes/{population}")
        if group is None:
            raise KeyError(f"{self.location}: population {population!r} has no spike record "
                           f"(no spikes/{population}/ group)")
        return spike_record(self.location, group, population, sizes[population]["size"],
                            self.spikes_per_block)

    def spikes(self, population: str, t=None):
        """dask DataFrame (time_ms, node_id) of the population's spikes in window t
        (ms, inclusive; default all), one partition per storage chunk."""
        return self.record(population).frame(t)

    def rates(self, population: str):
        """Lazy Series rate_hz per recorded node id over the recorded window."""
        return rates.neuron_rates(self.record(population))

    def population_rate(self, population: str, bin_ms: float = 1.0, t=None):
        """Lazy Series rate_hz per time bin of bin_ms (index: bin start t_ms)."""
        return rates.population_rate(self.record(population), bin_ms, t)

    def isi(self, population: str):
        """Lazy DataFrame per recorded node id: n_isi, mean_isi_ms, std_isi_ms, cv."""
        return isi.isi_stats(self.record(population))

    def isi_cv(self, population: str):
        """Lazy Series: coefficient of variation of each recorded neuron's ISIs."""
        return self.isi(population)["cv"]

    def fano(self, population: str, bin_ms: float = 50.0):
        """Lazy Series: Fano factor of each recorded neuron's counts in bins of bin_ms."""
        return fano.fano_factors(self.record(population), bin_ms)

    def correlations(self, population: str, n_pairs: int = 1000, bin_ms: float = 5.0,
                     seed: int = 0):
        """Lazy DataFrame (i, j, r): spike-count correlation of sampled pairs."""
        return correlations.count_correlations(self.record(population), n_pairs, bin_ms,
                                               seed)

    def raster_image(self, population: str, t=None, width: int = 1200, height: int = 600):
        """Lazy RasterImage: 2-D spike histogram of window t (ms)."""
        return raster.raster_image(self.record(population), t, width, height)

    def raster(self, population: str, t=None, path=None, ax=None, width: int = 1200,
               height: int = 600):
        """Compute and draw the raster of window t (ms) as an image; save it to `path`
        when given. Returns the matplotlib Axes."""
        ax = raster.draw(self.raster_image(population, t, width, height).compute(), ax)
        if path is not None:
            ax.figure.savefig(path, dpi=100)
        return ax

    def spike_trains(self, population: str, node_ids, t=None):
        """Lazy dict node_id -> spike times (ms) of the chosen node ids."""
        return spiketrains.spike_trains(self.record(population), node_ids, t)

    def to_neo(self, population: str, node_ids, t=None) -> list:
        """neo.SpikeTrain objects (ms) of the chosen node ids, in window t."""
        record = self.record(population)
        trains = spiketrains.spike_trains(record, node_ids, t).compute()
        first_gid = int(self.populations.loc[population, "first_gid"])
        return spiketrains.to_neo(trains, population, record.window(t), first_gid)

    def samples(self, population: str, variable: str = "V_m"):
        """(times ms, node ids, values[time, node]) of a sampled state variable (see
        .samples); times and values are lazy dask arrays."""
        return samples.read_samples(self.root, self.location, population, variable)

    def weights(self, projection: str | None = None) -> dict:
        """{path: dask array} of sampled or checkpointed weights (see .weights). A run whose
        model has no plastic connection (and no weight samples) raises a ModelError: its
        weights are fixed, in the model (``meta["model"]["projections"]``)."""
        plastic = any(p.get("synapse") for p in self.meta["model"].get("projections", []))
        if not plastic and "samples" not in self.root:
            raise ModelError("weights", f"{self.location} has no plastic connection: no weights "
                             "change, none are sampled or checkpointed (the fixed weights are in "
                             "meta['model']['projections'])")
        return weights.find_weights(self.root, self.location, projection)

    def telemetry(self, group: str | None = None) -> pd.DataFrame:
        """Telemetry as a DataFrame, one row per interval block, of `telemetry/` or of
        its subgroup `group` (e.g. "ranks"); see bigbrain.analysis.telemetry."""
        return telemetry.read_telemetry(self.root, self.location, group)


def check_metadata(location: str, root) -> dict:
    """attrs["bigbrain"] of the root group, after checking what analysis relies on."""
    meta = root.attrs.get("bigbrain")
    if not isinstance(meta, dict):
        raise ArchiveError(f"{location} is a zarr group but not a bigbrain archive: "
                           "attrs['bigbrain'] (run metadata) is missing")
    if meta.get("format_version") not in FORMAT_VERSIONS:
        raise ArchiveError(f"{location}: archive format_version "
                           f"{meta.get('format_version')!r} is not supported "
                           f"(supported: {FORMAT_VERSIONS})")
    populations = meta.get("model", {}).get("populations")
    if not isinstance(populations, list):
        raise ArchiveError(f"{location}: attrs['bigbrain']['model']['populations'] is "
                           "missing")
    return meta


def spike_record(location: str, group, population: str, size: int,
                 spikes_per_block: int) -> SpikeRecord:
    """SpikeRecord of a spikes/<population> group, after checking its layout."""
    where = f"{location}/spikes/{population}"
    missing = [name for name in ("node_ids", "timestamps") if name not in group]
    missing += [f"attrs[{k!r}]" for k in ("t_start_ms", "t_stop_ms")
                if k not in group.attrs]
    if missing:
        raise ArchiveError(f"{where} is incomplete: missing {', '.join(missing)}")
    if group.attrs.get("sorting", "by_time") != "by_time":
        raise ArchiveError(f"{where}: sorting {group.attrs['sorting']!r} is not by_time")
    recorded = group.attrs.get("recorded", "all")
    recorded = None if recorded == "all" else np.unique(np.asarray(recorded, np.int64))
    lengths = {name: integrity.length(group[name], f"{where}/{name}")
               for name in ("node_ids", "timestamps")}
    if integrity.written(group["node_ids"]) is None and len(set(lengths.values())) > 1:
        raise ArchiveError(f"{where} is damaged: {lengths['node_ids']} node_ids but "
                           f"{lengths['timestamps']} timestamps")
    return SpikeRecord(location=location, population=population, size=int(size),
                       timestamps=group["timestamps"], node_ids=group["node_ids"],
                       t_start_ms=float(group.attrs["t_start_ms"]),
                       t_stop_ms=float(group.attrs["t_stop_ms"]),
                       recorded=recorded, spikes_per_block=spikes_per_block,
                       written=min(lengths.values()))
