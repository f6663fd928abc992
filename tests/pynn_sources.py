"""PyNN's source distribution (its system test scenarios and examples) for the tests of
bigbrain.pynn, fetched at test time as pip fetches an sdist, into a cache directory
(``$BIGBRAIN_PYNN_SDIST`` or ~/.cache/bigbrain); nothing of PyNN is copied into this
repository. Tests skip when the sdist cannot be had (no network, no index)."""
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

VERSION = "0.13.0"


def pynn_source():
    """The unpacked PyNN sdist directory (downloaded once)."""
    cache = pathlib.Path(os.environ.get("BIGBRAIN_PYNN_SDIST",
                                        pathlib.Path.home() / ".cache" / "bigbrain" / "pynn-sdist"))
    root = cache / f"pynn-{VERSION}"
    if (root / "test" / "system" / "scenarios").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                           ":all:", f"PyNN=={VERSION}", "-d", str(cache)],
                          capture_output=True, text=True)
    archives = sorted(cache.glob(f"[Pp]y[Nn][Nn]-{VERSION}.tar.gz"))
    if not archives:
        pytest.skip(f"PyNN {VERSION} sdist unavailable: {proc.stderr.strip()[-200:]}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(cache, filter="data")
    extracted = next(p for p in cache.iterdir() if p.is_dir() and p.name.lower() == f"pynn-{VERSION}")
    return extracted
