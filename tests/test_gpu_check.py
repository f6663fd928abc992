"""benchmarks/gpu_check.sh runs every stage and writes each stage's result, with the CUDA
sources compiled for the CPU standing in for the device (no GPU needed)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import cuda_host

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
STAGES = ("preflight", "kernels", "networks", "wide", "models", "microcircuit_check")


@pytest.mark.slow
@pytest.mark.skipif(cuda_host.nvcc() is None, reason="nvcc is not on PATH")
def test_gpu_check_writes_every_stage_on_the_host_stand_in(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "BIGBRAIN_GPU_STANDIN": "host",
           "BIGBRAIN_GPU_CHECK_TINY": "1", "BIGBRAIN_GPU_CHECK_WHEELS": str(tmp_path),
           "GPU_CHECK_SLOWDOWN": "3"}  # 2 shared cores, not a GPU machine
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=1300)
    out = tmp_path / "out"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in STAGES} == dict.fromkeys(STAGES, 0)
    for name in STAGES:
        assert (out / f"{name}.json").exists() and (out / f"{name}.log").exists()
    preflight = json.loads((out / "preflight.json").read_text())[0]
    assert preflight["ok"] and preflight["kernels"]["lif"][:2] == ["iaf_psc_delta", "iaf_psc_exp"]
    for name in ("kernels", "networks", "wide", "models"):
        xml = (out / f"{name}.xml").read_text()
        assert 'failures="0"' in xml and 'errors="0"' in xml
    assert 'tests="1"' in (out / "wide.xml").read_text()
    assert 'tests="6"' in (out / "kernels.xml").read_text()  # the sample (TINY)
    assert "kept_on_the_device" in (out / "networks.xml").read_text()
    mc = json.loads((out / "microcircuit_check.json").read_text())[0]
    assert mc["identical"] and mc["n_spikes"] > 0 and mc["rtf"] > 0
