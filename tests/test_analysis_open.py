"""Opening archives: clear errors for bad paths and stores that are not bigbrain archives."""

import numpy as np
import pytest
import zarr

import archive_factory as af
import bigbrain.analysis as ba


def test_missing_path(tmp_path):
    path = tmp_path / "nowhere.zarr"
    with pytest.raises(ba.ArchiveError, match=f"{path}.*does not exist"):
        ba.open(path)


def test_directory_that_is_not_zarr(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ba.ArchiveError, match=f"{tmp_path} is not a bigbrain archive: "
                                              "no zarr v3 group"):
        ba.open(tmp_path)


def test_zarr_array_instead_of_group(tmp_path):
    zarr.open_array(tmp_path / "a.zarr", mode="w", shape=(3,), dtype="i8")
    with pytest.raises(ba.ArchiveError, match="a.zarr is not a bigbrain archive"):
        ba.open(tmp_path / "a.zarr")


def test_zarr_v2_group(tmp_path):
    zarr.open_group(tmp_path / "v2.zarr", mode="w", zarr_format=2)
    with pytest.raises(ba.ArchiveError, match="no zarr v3 group"):
        ba.open(tmp_path / "v2.zarr")


def test_group_without_run_metadata(tmp_path):
    zarr.open_group(tmp_path / "g.zarr", mode="w").attrs["other"] = 1
    with pytest.raises(ba.ArchiveError, match=r"g.zarr is a zarr group but not a bigbrain "
                                              r"archive: attrs\['bigbrain'\]"):
        ba.open(tmp_path / "g.zarr")


def test_unsupported_format_version(tmp_path):
    af.create_run(tmp_path / "r.zarr", [{"name": "E", "size": 3}], attrs={"format_version": 9})
    with pytest.raises(ba.ArchiveError, match="format_version 9 is not supported"):
        ba.open(tmp_path / "r.zarr")


def test_metadata_without_populations(tmp_path):
    root = af.create_run(tmp_path / "r.zarr", [])
    meta = dict(root.attrs["bigbrain"])
    meta["model"] = {}
    root.attrs["bigbrain"] = meta
    with pytest.raises(ba.ArchiveError, match=r"\['populations'\] is missing"):
        ba.open(tmp_path / "r.zarr")


def test_incomplete_spike_record(tmp_path):
    root = af.create_run(tmp_path / "r.zarr", [{"name": "E", "size": 3}])
    root.create_group("spikes/E").create_array("node_ids", data=np.arange(3))
    run = ba.open(tmp_path / "r.zarr")
    with pytest.raises(ba.ArchiveError, match=r"r.zarr/spikes/E is incomplete: missing "
                                              r"timestamps, attrs\['t_start_ms'\]"):
        run.rates("E")


def test_unknown_and_unrecorded_population(tmp_path):
    af.create_run(tmp_path / "r.zarr", [{"name": "E", "size": 3}, {"name": "I", "size": 2}])
    run = ba.open(tmp_path / "r.zarr")
    with pytest.raises(KeyError, match="no population 'Z'; populations: E, I"):
        run.spikes("Z")
    with pytest.raises(KeyError, match="'I' has no spike record"):
        run.isi_cv("I")


def test_open_is_lazy_and_empty_record_works(tmp_path):
    root = af.create_run(tmp_path / "r.zarr", [{"name": "E", "size": 4}])
    af.write_population(root, "E", [], [], t_start_ms=0.0, t_stop_ms=100.0, size=4)
    run = ba.open(tmp_path / "r.zarr")
    assert (run.rates("E").compute() == 0).all()
    assert run.isi_cv("E").compute().isna().all()
    assert run.population_rate("E", 10.0).compute().sum() == 0
    assert run.raster_image("E").compute().counts.sum() == 0


def test_empty_recorded_window(tmp_path):
    root = af.create_run(tmp_path / "r.zarr", [{"name": "E", "size": 4}])
    af.write_population(root, "E", [], [], t_start_ms=0.0, t_stop_ms=0.0, size=4)
    with pytest.raises(ValueError, match="recorded window of 'E' is empty"):
        ba.open(tmp_path / "r.zarr").rates("E")
