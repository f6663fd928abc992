"""examples/analysis.ipynb executes end to end and draws its figures: on its synthetic
archive, and on real archives written by ``bigbrain run`` (static and with STDP), as
docs/analysis.md promises for ``BIGBRAIN_ARCHIVE``."""

import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parent.parent / "examples" / "analysis.ipynb"
EXAMPLE = Path(__file__).parent.parent / "examples" / "model.toml"
# (model, run arguments, figures: raster, statistics and, when plastic, weights)
REAL = {"static": (EXAMPLE, ["--t", "150"], 2),
        "stdp": ("brunel-ai-stdp", ["--set", "builder.N=1000", "--t", "150"], 3)}


def execute(tmp_path, monkeypatch, archive=None):
    """Run the notebook (BIGBRAIN_ARCHIVE = archive); return the outputs of its code cells."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if archive is None:
        monkeypatch.delenv("BIGBRAIN_ARCHIVE", raising=False)
    else:
        monkeypatch.setenv("BIGBRAIN_ARCHIVE", str(archive))
    monkeypatch.setenv("TMPDIR", str(tmp_path))           # a synthetic archive goes here
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def images(outputs):
    return [o for o in outputs if "image/png" in o.get("data", {})]


def test_example_notebook_runs(tmp_path, monkeypatch):
    assert len(images(execute(tmp_path, monkeypatch))) >= 3    # raster, statistics, weights
    assert list(tmp_path.glob("*/run.zarr.report/index.html"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", REAL)
def test_example_notebook_runs_on_an_archive_of_bigbrain_run(tmp_path, monkeypatch, kind):
    model, args, figures = REAL[kind]
    archive = tmp_path / "run.zarr"
    exe = Path(sys.executable).parent / "bigbrain"
    subprocess.run([str(exe), "run", str(model), *args, "--out", str(archive), "--progress-every", "0"],
                   check=True, capture_output=True, timeout=300)
    outputs = execute(tmp_path, monkeypatch, archive)
    assert len(images(outputs)) == figures
    text = "".join(o.get("text", "") for o in outputs)
    assert "population E: recorded from 0.0 to 150.0 ms" in text
    if kind == "static":
        assert "has no plastic connection" in text
    assert (tmp_path / "run.zarr.report" / "index.html").is_file()
