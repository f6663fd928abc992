"""bigbrain.analysis statistics against plain-NumPy computations on small archives."""

import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest

import archive_factory as af
import bigbrain.analysis as ba
from bigbrain.analysis.binning import Bins
from bigbrain.analysis.correlations import sample_pairs

T0, T1 = 0.0, 2000.0        # window of population E in archive_factory.small_run
I_T0 = 100.0                 # population I is recorded from 100 ms, ids 0, 3, ..., 99


@pytest.fixture(scope="module", params=[(97, 1), (997, 3000), (1 << 20, 1 << 20)],
                ids=["chunk97", "chunk997-3perblock", "chunk1M"])
def small(request, tmp_path_factory):
    """(run, written spikes) of a small archive, chunked finely, oddly and not at all,
    read one chunk or several chunks per dask task."""
    chunk, spikes_per_block = request.param
    path = tmp_path_factory.mktemp("small") / "run.zarr"
    written = af.small_run(path, chunk=chunk)
    return ba.open(path, spikes_per_block=spikes_per_block), written


def trains(times, ids, node_ids):
    """Reference: {node id: its spike times}."""
    return {n: np.sort(times[ids == n]) for n in node_ids}


def test_populations(small):
    run, _ = small
    pops = run.populations
    assert list(pops.index) == ["E", "I", "X"]
    assert pops.loc["I", "model"] == "iaf_psc_delta"
    assert pops[["size", "first_gid", "last_gid", "n_recorded"]].values.tolist() == [
        [400, 0, 399, 400], [100, 400, 499, 34], [50, 500, 549, 0]]


def test_spikes_dataframe_and_window(small):
    run, written = small
    times, ids = written["E"]
    df = run.spikes("E").compute()
    np.testing.assert_array_equal(df["time_ms"], times)
    np.testing.assert_array_equal(df["node_id"], ids)
    part = run.spikes("E", t=(250.0, 731.3)).compute()
    inside = (times >= 250.0) & (times <= 731.3)
    np.testing.assert_array_equal(part["time_ms"], times[inside])
    np.testing.assert_array_equal(part["node_id"], ids[inside])
    assert len(run.spikes("E", t=(5000.0, 6000.0)).compute()) == 0


@pytest.mark.parametrize("pop, ids, t0", [("E", np.arange(400), T0),
                                          ("I", np.arange(0, 100, 3), I_T0)])
def test_rates(small, pop, ids, t0):
    run, written = small
    times, node_ids = written[pop]
    expected = np.array([(node_ids == n).sum() for n in ids]) / ((T1 - t0) / 1000.0)
    rates = run.rates(pop).compute()
    np.testing.assert_array_equal(rates.index, ids)
    np.testing.assert_allclose(rates.to_numpy(), expected, rtol=1e-12)
    assert rates.loc[3] == 0 if pop == "E" else True          # silent neurons included


@pytest.mark.parametrize("bin_ms", [10.0, 7.0, 0.1])
def test_population_rate(small, bin_ms):
    run, written = small
    times, _ = written["E"]
    n_bins = int((T1 - T0) / bin_ms + 1e-6)
    edges = T0 + bin_ms * np.arange(n_bins + 1)
    expected = np.histogram(times, edges)[0] / (400 * bin_ms / 1000.0)
    rate = run.population_rate("E", bin_ms=bin_ms).compute()
    np.testing.assert_allclose(rate.index, edges[:-1])
    np.testing.assert_allclose(rate.to_numpy(), expected, rtol=1e-12)


def test_population_rate_window(small):
    run, written = small
    times, _ = written["I"]
    edges = 500.0 + 5.0 * np.arange(41)
    expected = np.histogram(times, edges)[0] / (34 * 5.0 / 1000.0)
    rate = run.population_rate("I", bin_ms=5.0, t=(500.0, 700.0)).compute()
    np.testing.assert_allclose(rate.to_numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("pop, ids", [("E", np.arange(400)), ("I", np.arange(0, 100, 3))])
def test_isi(small, pop, ids):
    run, written = small
    expected = []
    for n, t in trains(*written[pop], ids).items():
        isi = np.diff(t)
        mean = isi.mean() if len(isi) else np.nan
        std = isi.std() if len(isi) else np.nan
        expected.append((len(isi), mean, std, std / mean if len(isi) >= 2 else np.nan))
    expected = np.array(expected)
    stats = run.isi(pop).compute()
    np.testing.assert_array_equal(stats.index, ids)
    np.testing.assert_array_equal(stats["n_isi"], expected[:, 0])
    for k, column in enumerate(["mean_isi_ms", "std_isi_ms", "cv"], start=1):
        np.testing.assert_allclose(stats[column], expected[:, k], rtol=1e-9, atol=1e-9)
    cv = run.isi_cv(pop).compute()
    np.testing.assert_allclose(cv, expected[:, 3], rtol=1e-9)
    assert stats["cv"].notna().sum() > 0.9 * len(ids)


@pytest.mark.parametrize("bin_ms", [50.0, 3.0, 333.0])
def test_fano(small, bin_ms):
    run, written = small
    n_bins = int((T1 - T0) / bin_ms + 1e-6)
    edges = T0 + bin_ms * np.arange(n_bins + 1)
    expected = []
    for t in trains(*written["E"], range(400)).values():
        counts = np.histogram(t, edges)[0]
        expected.append(counts.var() / counts.mean() if counts.sum() else np.nan)
    fano = run.fano("E", bin_ms=bin_ms).compute()
    np.testing.assert_allclose(fano.to_numpy(), expected, rtol=1e-9)
    assert np.isnan(fano.loc[17])


def test_fano_of_partly_recorded_population(small):
    run, written = small
    ids = np.arange(0, 100, 3)
    edges = I_T0 + 50.0 * np.arange(39)
    expected = []
    for t in trains(*written["I"], ids).values():
        counts = np.histogram(t, edges)[0]
        expected.append(counts.var() / counts.mean())
    np.testing.assert_allclose(run.fano("I", bin_ms=50.0).compute(), expected, rtol=1e-9)


@pytest.mark.parametrize("n_pairs, bin_ms", [(300, 5.0), (10**6, 20.0)])
def test_correlations(small, n_pairs, bin_ms):
    run, written = small
    edges = I_T0 + bin_ms * np.arange(int((T1 - I_T0) / bin_ms + 1e-6) + 1)
    corr = run.correlations("I", n_pairs=n_pairs, bin_ms=bin_ms, seed=3).compute()
    assert len(corr) == min(n_pairs, 34 * 33 // 2)
    assert (corr["i"] < corr["j"]).all() and not corr.duplicated(["i", "j"]).any()
    spikes = trains(*written["I"], np.arange(0, 100, 3))
    expected = [np.corrcoef(np.histogram(spikes[i], edges)[0],
                            np.histogram(spikes[j], edges)[0])[0, 1]
                for i, j in zip(corr["i"], corr["j"])]
    np.testing.assert_allclose(corr["r"], expected, rtol=1e-9, atol=1e-12)


def test_correlation_of_silent_neuron_is_nan(small):
    run, _ = small
    corr = run.correlations("E", n_pairs=10**6, bin_ms=100.0).compute()
    silent = corr[(corr["i"] == 3) | (corr["j"] == 3)]
    assert len(silent) == 399 and silent["r"].isna().all()
    assert corr["r"].notna().sum() == len(corr) - 2 * 399 + 1


def test_sample_pairs_is_uniform_without_replacement():
    rng = np.random.default_rng(0)
    ids = np.arange(10, 40)
    pairs = sample_pairs(ids, 200, rng)
    assert pairs.shape == (200, 2) and (pairs[:, 0] < pairs[:, 1]).all()
    assert len({tuple(p) for p in pairs}) == 200 and np.isin(pairs, ids).all()
    draws = np.concatenate([sample_pairs(ids, 5, rng).ravel() for _ in range(2000)])
    assert np.bincount(draws - 10).min() > 0.7 * len(draws) / 30    # no id favoured


@pytest.mark.parametrize("t0, bin_ms, n", [(0.0, 0.1, 5000), (100.0, 7.0, 285),
                                            (0.3, 0.3, 1000), (-2.5, 1 / 3, 77)])
def test_bins_are_those_of_numpy_histogram(t0, bin_ms, n):
    edges = t0 + bin_ms * np.arange(n + 1)
    rng = np.random.default_rng(5)
    times = np.r_[edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                  np.round(rng.uniform(t0 - 5, edges[-1] + 5, 10**5), 1), -1e9, 1e9]
    index = Bins(t0, bin_ms, n).index(times)
    inside = (index >= 0) & (index < n)
    np.testing.assert_array_equal(np.bincount(index[inside], minlength=n),
                                  np.histogram(times, edges)[0])
    assert set(index[~inside]) <= {-1, n}


def test_raster_image(small):
    run, written = small
    times, ids = written["E"]
    image = run.raster_image("E", t=(100.0, 600.0), width=250, height=100).compute()
    t_edges = 100.0 + (500.0 / 250) * np.arange(251)
    expected = np.histogram2d(ids, times, bins=[np.arange(0, 401, 4), t_edges])[0]
    np.testing.assert_array_equal(image.counts, expected)
    small_image = run.raster_image("I", width=50).compute()
    assert small_image.counts.shape == (100, 50)         # one row per neuron
    assert small_image.counts.sum() == len(written["I"][0])


def test_raster_draws_and_saves(small, tmp_path):
    run, _ = small
    ax = run.raster("E", t=(0, 500), path=tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 1000
    assert ax.get_xlim() == (0.0, 500.0)


def test_spike_trains_and_neo(small):
    run, written = small
    chosen = [0, 3, 5, 399]
    expected = trains(*written["E"], chosen)
    got = run.spike_trains("E", chosen, t=(0, 1000)).compute()
    for n in chosen:
        np.testing.assert_array_equal(got[n], expected[n][expected[n] <= 1000])
    neo_trains = run.to_neo("I", [3, 9])
    assert [st.annotations["gid"] for st in neo_trains] == [403, 409]
    np.testing.assert_array_equal(neo_trains[1].magnitude, trains(*written["I"], [9])[9])
    assert str(neo_trains[1].units.dimensionality) == "ms"
    assert float(neo_trains[0].t_start.rescale("ms")) == I_T0
    with pytest.raises(KeyError, match="not recorded"):
        run.spike_trains("I", [1])


def test_neo_trains_agree_with_elephant(small):
    statistics = pytest.importorskip("elephant.statistics")
    run, _ = small
    neo_trains = run.to_neo("E", range(20))
    cv = run.isi_cv("E").compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        elephant_cv = [statistics.cv(statistics.isi(st)) for st in neo_trains]
    rates = [float(statistics.mean_firing_rate(st).rescale("Hz")) for st in neo_trains]
    np.testing.assert_allclose(cv.iloc[:20].dropna(), np.array(elephant_cv)[cv.iloc[:20].notna()],
                               rtol=1e-9)
    np.testing.assert_allclose(run.rates("E").compute().iloc[:20], rates, rtol=1e-12)


def test_statistics_computed_together_share_reads(small):
    run, _ = small
    lazy = [run.rates("E"), run.isi("E"), run.fano("E"), run.population_rate("E")]
    keys = set().union(*(x.__dask_graph__().keys() for x in lazy))
    reads = [k for k in keys if str(k).startswith("read_block")]
    blocks = run.record("E").block_ranges()
    assert len(reads) == len(blocks)
    assert {b - a for a, b in blocks[:-1]} <= {97, 2991, 9575}
    rates, isi, _, _ = dask.compute(*lazy)
    assert isinstance(rates, pd.Series) and isinstance(isi, pd.DataFrame)


def test_telemetry(small):
    run, _ = small
    df = run.telemetry()
    assert list(df.columns) == ["packets", "t_exchange_s", "t_update_s"] and len(df) == 20
    assert df.attrs["skipped"] == ["per_link"]


def test_telemetry_real_time_factor_and_subgroup(tmp_path):
    root = af.create_run(tmp_path / "run.zarr", [{"name": "E", "size": 10}])
    af.write_telemetry(root, {"t_start_ms": [0.0, 10.0], "t_stop_ms": [10.0, 20.0],
                              "t_update_s": [0.02, 0.03], "t_exchange_s": [0.01, 0.01],
                              "packets": [5, 6]})
    root.require_group("telemetry").create_group("ranks").create_array(
        "rank", data=np.arange(4))
    df = ba.open(tmp_path / "run.zarr").telemetry()
    np.testing.assert_allclose(df["wall_s"], [0.03, 0.04])
    np.testing.assert_allclose(df["rtf"], [3.0, 4.0])
    assert list(ba.open(tmp_path / "run.zarr").telemetry("ranks")["rank"]) == [0, 1, 2, 3]


def test_weights(small):
    run, _ = small
    weights = run.weights()
    assert list(weights) == ["samples/EE/weights"]
    w = weights["samples/EE/weights"].compute()
    assert w.shape == (5000,) and abs(w.mean() - 0.1) < 0.01
    with pytest.warns(UserWarning, match="no weights for projection 'EI'"):
        assert run.weights("EI") == {}


def test_checkpoint_weights_need_a_manifest_and_join_ranks(tmp_path):
    root = af.create_run(tmp_path / "run.zarr", [{"name": "E", "size": 10}])
    meta = root.attrs["bigbrain"]
    meta["model"]["projections"] = [{"pre": "E", "post": "E", "synapse": {"model": "stdp_synapse"}}]
    root.attrs["bigbrain"] = meta
    for step in ("100", "200"):
        for rank in range(3):
            group = root.require_group(f"checkpoints/{step}/rank_{rank}/plastic/synapse")
            group.create_array("weight", data=np.full(rank + 1, float(rank)))
            group.create_array("connection", data=np.zeros(rank + 1, np.int64))
    root.require_group("checkpoints/100/tails/samples/EE").create_array(
        "weights", data=np.ones(3))
    root["checkpoints/100"].attrs["manifest"] = {"step": 100}    # 200 is incomplete
    run = ba.open(tmp_path / "run.zarr")
    weights = run.weights()
    assert list(weights) == ["checkpoints/100/plastic/synapse/weight"]
    np.testing.assert_array_equal(weights["checkpoints/100/plastic/synapse/weight"],
                                  [0.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    with pytest.warns(UserWarning, match="r.*run.zarr has no telemetry"):
        assert run.telemetry().empty


def test_weights_of_a_static_network_say_it_has_no_plastic_connection(tmp_path):
    from bigbrain.cli import main as cli
    from bigbrain.errors import ModelError

    model = Path(__file__).parent.parent / "examples" / "model.toml"
    out = tmp_path / "static.zarr"
    assert cli(["run", str(model), "--t", "2", "--out", str(out), "--progress-every", "0"]) == 0
    with pytest.raises(ModelError, match="static.zarr has no plastic connection"):
        ba.open(out).weights()
