#!/usr/bin/env bash
# GPU checks and measurements on a machine with a CUDA device (about 10 minutes on one H200):
#   pip install -e ".[gpu,test]" && bash benchmarks/gpu_check.sh
# Runs the GPU test lane, then benchmarks/gpu.py; results in $OUT/gpu_benchmark.json.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import cupy; print(cupy.cuda.runtime.getDeviceCount(), 'CUDA device(s)')"
pytest -q -m gpu -rs tests/test_gpu.py
python benchmarks/gpu.py --json "${OUT:-.}/gpu_benchmark.json"
