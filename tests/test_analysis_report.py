"""bigbrain.analysis.report.write_report: HTML page with PNG figures."""

import numpy as np

import archive_factory as af
from bigbrain.analysis.report import write_report


def test_write_report(tmp_path):
    af.small_run(tmp_path / "run.zarr")
    page = write_report(tmp_path / "run.zarr", tmp_path / "report")
    assert page == tmp_path / "report" / "index.html"
    text = page.read_text()
    for image in ("raster.png", "rates.png", "cv.png", "population_rate.png"):
        assert f'src="{image}"' in text
        assert (tmp_path / "report" / image).read_bytes()[:4] == b"\x89PNG"
    for expected in ("run.zarr", "<th>E</th>", "<th>I</th>", "mean rate (Hz)", "mean CV",
                     "20 interval blocks", "t_update_s", "iaf_psc_delta"):
        assert expected in text
    assert "<th>X</th>" in text.split("<h2>Firing</h2>")[0]    # listed, not recorded
    assert "<th>X</th>" not in text.split("<h2>Firing</h2>")[1]


def test_report_gives_the_real_time_factor(tmp_path):
    root = af.create_run(tmp_path / "run.zarr", [{"name": "E", "size": 20}])
    times, ids = af.poisson_spikes(np.random.default_rng(1), 20, 5.0, 0.0, 300.0)
    af.write_population(root, "E", times, ids, t_start_ms=0.0, t_stop_ms=300.0, size=20)
    af.write_telemetry(root, {"t_start_ms": [0.0, 100.0, 200.0], "t_stop_ms": [100.0, 200.0, 300.0],
                              "t_update_s": [2.3, 0.2, 0.3], "t_exchange_s": [0.1, 0.0, 0.1]})
    text = write_report(tmp_path / "run.zarr", tmp_path / "out").read_text()
    # (0.2 + 0.4) s / 0.2 s: the first block, with the start-up (2.4 s), is left out
    assert "3 interval blocks from 0 to 300 ms; real-time factor 3 (after the start-up: " in text
    assert "took 2.4 s)" in text


def test_report_telemetry_table_sums_amounts_only(tmp_path):
    """Start times and real-time factors are no amounts: the table does not sum them."""
    af.small_run(tmp_path / "run.zarr")
    text = write_report(tmp_path / "run.zarr", tmp_path / "report").read_text()
    table = text.split("<h2>Telemetry</h2>")[1]
    for column in ("t_start_ms", "t_stop_ms", "rtf"):
        assert f"<th>{column}</th>" not in table
    assert "<th>t_update_s</th>" in table and "<th>max per block</th>" in table


def test_report_without_telemetry(tmp_path):
    root = af.create_run(tmp_path / "run.zarr", [{"name": "E", "size": 20}])
    times, ids = af.poisson_spikes(np.random.default_rng(1), 20, 5.0, 0.0, 300.0)
    af.write_population(root, "E", times, ids, t_start_ms=0.0, t_stop_ms=300.0, size=20)
    text = write_report(tmp_path / "run.zarr", tmp_path / "out").read_text()
    assert "No telemetry in this archive." in text
