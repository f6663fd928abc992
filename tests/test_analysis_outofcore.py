"""Out of core: statistics of an archive several times larger than a dask worker's memory
limit, computed on a LocalCluster, against references accumulated while generating.

The worker may not spill to disk nor pause, and is killed (failing the test) above 95 %
of its limit: the statistics themselves must fit. About 255 MB of the limit is the
Python runtime (numpy, pandas, zarr, distributed, and numba and MPI, which `import
bigbrain` loads); the rest, about 145 MB, is what the reductions may use for a 960 MB
record.
"""

import time
from pathlib import Path

import dask
import numpy as np
import pytest

import archive_factory as af
import bigbrain.analysis as ba

SIZE = 10_000           # neurons
RATE_HZ = 20.0
T_STOP_MS = 300_000.0   # 6·10^7 spikes: 960 MB of (timestamps, node_ids)
MEMORY_LIMIT = 400e6    # of each of the two workers, in bytes
NO_SPILL = {"distributed.scheduler.allowed-failures": 0,    # a worker killed fails the test
            "distributed.worker.memory.target": False,
            "distributed.worker.memory.spill": False,
            "distributed.worker.memory.pause": False}
BIN_MS = 10.0


def generate(path):
    """Write the archive window by window; return references computed on the way:
    spike counts, ISI count / sum / sum of squares per neuron, counts per 10 ms bin."""
    root = af.create_run(path, [{"name": "E", "size": SIZE}], t_end_ms=T_STOP_MS)
    writer = af.SpikeWriter(root, "E", t_start_ms=0.0, t_stop_ms=T_STOP_MS, size=SIZE,
                            chunk=1 << 16)
    counts = np.zeros(SIZE, np.int64)
    isi_n, isi_sum, isi_sq = np.zeros(SIZE), np.zeros(SIZE), np.zeros(SIZE)
    last = np.full(SIZE, np.nan)
    binned = np.zeros(int(T_STOP_MS / BIN_MS), np.int64)
    rng = np.random.default_rng(2024)
    for times, ids in af.poisson_windows(rng, SIZE, RATE_HZ, T_STOP_MS, 5000.0):
        writer.add(times, ids)
        counts += np.bincount(ids, minlength=SIZE)
        binned += np.histogram(times, BIN_MS * np.arange(len(binned) + 1))[0]
        # each neuron's previous spike, prepended as a pseudo-spike, gives the ISIs
        carried = np.flatnonzero(~np.isnan(last))
        t = np.r_[last[carried], times]
        n = np.r_[carried, ids]
        order = np.argsort(n.astype(np.uint16), kind="stable")   # by neuron, then time
        t, n = t[order], n[order]
        same = n[1:] == n[:-1]
        isi, owner = np.diff(t)[same], n[1:][same]
        isi_n += np.bincount(owner, minlength=SIZE)
        isi_sum += np.bincount(owner, isi, minlength=SIZE)
        isi_sq += np.bincount(owner, isi ** 2, minlength=SIZE)
        last[ids] = times
    writer.close()
    return counts, isi_n, isi_sum, isi_sq, binned


def peak_rss_bytes(proc_status: str) -> int:
    """A process's peak resident memory from its /proc/<pid>/status (VmHWM, which, unlike
    ru_maxrss, does not inherit the parent's peak through fork and exec)."""
    line = next(x for x in proc_status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.mark.slow
def test_statistics_of_archive_larger_than_worker_memory(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "big.zarr"
    counts, isi_n, isi_sum, isi_sq, binned = generate(path)
    n_spikes = int(counts.sum())
    assert n_spikes >= 2 * 10**7
    assert n_spikes * 16 > 2 * MEMORY_LIMIT

    with dask.config.set(NO_SPILL), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     memory_limit=MEMORY_LIMIT, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        run = ba.open(path, spikes_per_block=1 << 18)
        assert run.record("E").n_spikes == n_spikes
        started = time.perf_counter()
        rates, isi, rate, fano, image = dask.compute(
            run.rates("E"), run.isi("E"), run.population_rate("E", bin_ms=BIN_MS),
            run.fano("E", bin_ms=50.0), run.raster_image("E"))
        elapsed = time.perf_counter() - started
        status = client.run(Path("/proc/self/status").read_text)
    peaks = {worker: peak_rss_bytes(text) for worker, text in status.items()}
    print(f"{n_spikes:,} spikes: rates, ISI, population rate, Fano and raster in "
          f"{elapsed:.1f} s ({n_spikes / elapsed:,.0f} spikes/s), worker peak RSS "
          f"{max(peaks.values()) / 1e6:.0f} MB of {MEMORY_LIMIT / 1e6:.0f} MB")

    assert max(peaks.values()) < MEMORY_LIMIT
    np.testing.assert_allclose(rates.to_numpy(), counts / (T_STOP_MS / 1000.0), rtol=1e-12)
    np.testing.assert_array_equal(isi["n_isi"], isi_n)
    mean = isi_sum / isi_n
    np.testing.assert_allclose(isi["mean_isi_ms"], mean, rtol=1e-9)
    np.testing.assert_allclose(isi["std_isi_ms"], np.sqrt(isi_sq / isi_n - mean ** 2),
                               rtol=1e-6)
    assert 0.95 < isi["cv"].mean() < 1.05                      # Poisson
    np.testing.assert_allclose(rate.to_numpy(), binned / (SIZE * BIN_MS / 1000.0),
                               rtol=1e-12)
    assert 0.9 < fano.mean() < 1.1                             # Poisson
    assert image.counts.sum() == n_spikes
