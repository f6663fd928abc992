"""PyNN's own system test scenarios (test/system/scenarios of its sdist) on bigbrain.pynn.

Every scenario function that takes the simulator module runs with ``bigbrain.pynn``;
those that need what the engine lacks are listed in :data:`SKIPPED` with the reason.
"""
import importlib
import inspect
import sys

import pytest

pytest.importorskip("pyNN")
from pynn_sources import pynn_source  # noqa: E402

SKIPPED = {}  # "module::function" -> why it does not apply


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
def test_scenario(key, scenario):
    if key in SKIPPED:
        pytest.skip(SKIPPED[key])
    import bigbrain.pynn as sim
    scenario(sim)
