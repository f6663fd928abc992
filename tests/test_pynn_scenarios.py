"""PyNN's own system test scenarios (test/system/scenarios of its sdist) on bigbrain.pynn.

Every scenario function that takes the simulator module runs with ``bigbrain.pynn``;
those that need what the engine lacks are listed in :data:`SKIPPED` with the reason.
"""
import importlib
import inspect
import sys

import pytest

pytest.importorskip("pyNN")
import bigbrain.pynn as sim  # noqa: E402  (before the scenarios change the working directory)
from pynn_sources import pynn_source  # noqa: E402

#: Scenarios that do not apply to the engine: "module::function" -> why.
SKIPPED = {
    "test_recording::test_issue259": "checks off-grid spike times to 1e-17 (spike_precision="
        "'off_grid', NEST's precise models; PyNN runs it on NEST and NEURON only): the "
        "engine's spikes lie on the dt grid",
}


def _scenarios():
    try:
        root = pynn_source()
    except BaseException:  # pytest.skip while collecting
        return []
    sys.path.insert(0, str(root / "test" / "system"))
    found = []
    for path in sorted((root / "test" / "system" / "scenarios").glob("test_*.py")):
        module = importlib.import_module(f"scenarios.{path.stem}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test") and fn.__module__ == module.__name__ and \
                    list(inspect.signature(fn).parameters)[:1] == ["sim"]:
                found.append((f"{path.stem}::{name}", fn))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("key, scenario", _scenarios(), ids=lambda v: v if isinstance(v, str) else "")
def test_scenario(key, scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # scenarios that save data write to ./Results
    if key in SKIPPED:
        pytest.skip(SKIPPED[key])
    scenario(sim)
