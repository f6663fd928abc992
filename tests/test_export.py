"""Records out (bigbrain.export): a SONATA spike report read back by the Brain Modeling
Toolkit's own reader, and an NWB file read by pynwb and checked by nwbinspector."""
import json
import subprocess
import sys

import numpy as np
import pytest

import bigbrain as bb

pytest.importorskip("bmtk", reason="the test extra installs bmtk (pip install '.[test]')")
pynwb = pytest.importorskip("pynwb")
import sonata_networks as sn  # noqa: E402 - needs bmtk and h5py
from bigbrain import sonata  # noqa: E402

TSTOP = 100.0


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """A SONATA network run into an archive, V_m of three neurons of each model sampled."""
    root = tmp_path_factory.mktemp("export")
    config = sn.build(root / "net", tstop=TSTOP)
    net = bb.Network(dt=sn.DT, seed=1, archive=bb.Archive(root / "run.zarr"))
    sonata.load(config, net)
    net.record(net.populations["cortex@0"][:3], "V_m", interval=0.5)
    net.record(net.populations["cortex@18"][[1, 4]], "V_m", interval=0.5)
    result = net.run(TSTOP)
    spikes = {name: result.spikes(name) for name in ("cortex@0", "cortex@12", "cortex@18")}
    v_m = {name: result.V_m(name) for name in ("cortex@0", "cortex@18")}
    return root / "run.zarr", spikes, v_m


def test_sonata_report_read_back_by_bmtk(archived, tmp_path):
    from bmtk.utils.reports.spike_trains import SpikeTrains

    archive, spikes, _ = archived
    out = tmp_path / "spikes.h5"  # run outside the checkout: its bigbrain/ would shadow the package
    cli = subprocess.run([sys.executable, "-m", "bigbrain.cli", "export", str(archive), "--sonata",
                          str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    report = SpikeTrains.load(str(out))
    assert report.populations == ["cortex"]
    frame = report.to_dataframe()
    first = {"cortex@0": 0, "cortex@12": 12, "cortex@18": 18}  # SONATA node id of id 0
    t = np.concatenate([spikes[n][0] for n in first])
    i = np.concatenate([spikes[n][1] + first[n] for n in first])
    order = np.lexsort((i, t))
    assert len(frame) == t.size > 50
    np.testing.assert_array_equal(frame["timestamps"].to_numpy(), t[order])
    np.testing.assert_array_equal(frame["node_ids"].to_numpy(), i[order])
    for node in (0, 13, 20):  # bmtk's per-node reader too
        name = "cortex@0" if node < 12 else "cortex@12" if node < 18 else "cortex@18"
        want = spikes[name][0][spikes[name][1] == node - first[name]]
        np.testing.assert_array_equal(report.get_times(node, population="cortex"), want)


def test_sonata_report_of_a_long_record_is_written_in_windows(archived, tmp_path, monkeypatch):
    import h5py

    from bigbrain import export

    archive, spikes, _ = archived
    whole = export.to_sonata(archive, tmp_path / "whole.h5")
    monkeypatch.setattr(export, "SPIKES_PER_WINDOW", 7)
    windows = export.to_sonata(archive, tmp_path / "windows.h5")
    with h5py.File(whole) as a, h5py.File(windows) as b:
        for key in ("node_ids", "timestamps"):
            np.testing.assert_array_equal(a[f"spikes/cortex/{key}"][...], b[f"spikes/cortex/{key}"][...])
        assert b["spikes/cortex"].attrs["sorting"] == "by_time"


def test_nwb_file_holds_units_samples_and_model(archived, tmp_path):
    from nwbinspector import Importance, inspect_nwbfile

    from bigbrain.export import export

    archive, spikes, v_m = archived
    out = tmp_path / "run.nwb"
    export(archive, nwb=out)
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        assert len(units) == 12 + 6 + 5
        for name, (t, i) in spikes.items():
            rows = units[units["population"] == name]
            assert rows["node_id"].tolist() == list(range(len(rows)))
            for node, times in zip(rows["node_id"], rows["spike_times"]):
                np.testing.assert_array_equal(times, t[i == node] / 1000.0)
        for name, (t, ids, v) in v_m.items():
            series = nwb.processing["simulation"][f"{name}_V_m"]
            np.testing.assert_array_equal(series.data[:], v)
            assert series.unit == "volts" and series.conversion == 1e-3
            assert series.rate == pytest.approx(2000.0) and series.starting_time == pytest.approx(t[0] / 1000)
            assert str(ids.tolist()) in series.comments
        notes = json.loads(nwb.notes)
        names = [p["name"] for p in notes["model"]["populations"]]
        assert names == ["cortex@0", "cortex@12", "cortex@18", "ext"]
        assert notes["run"]["dt_ms"] == sn.DT and notes["run"]["status"] == "done"
        assert nwb.units.resolution == pytest.approx(sn.DT / 1000)
    messages = list(inspect_nwbfile(nwbfile_path=str(out)))
    severe = [m for m in messages if m.importance in (Importance.ERROR, Importance.PYNWB_VALIDATION,
                                                      Importance.CRITICAL)]
    assert severe == [], severe


def test_export_needs_an_output(archived):
    from bigbrain.export import export

    with pytest.raises(bb.ModelError, match="^export: name an output"):
        export(archived[0])
