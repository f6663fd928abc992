#!/usr/bin/env bash
# The GPU check: on a machine with one CUDA device, in at most 7 minutes, installing nothing
# from the network. Results go to $OUT (default ./gpu_check), stage by stage, so that a
# stage that runs out of time loses only itself:
#   preflight.json            CuPy, driver, NVRTC, every kernel of kernels/cuda compiled
#   kernels.json/.xml         tests/test_cuda_sources.py on the device (bits = Numba's)
#   networks.json/.xml        Brunel (static, per-synapse weights) and STDP: NumPy vs CuPy
#   wide.json/.xml            > 65,536 columns (32-bit targets), per-synapse weights and
#                             delays, multiplicative STDP: NumPy vs CuPy
#   models.json/.xml          every neuron model's kernel on the device (bits = Numba's), the
#                             conductance-based models and per-neuron parameters: NumPy vs CuPy
#   microcircuit_check.json   full-scale microcircuit: real-time factor, spikes vs the CPU
# (each stage also leaves <stage>.log; summary.json lists every stage's exit status).
#
# The machine is expected to have Python >= 3.12 with CuPy (CUDA 12 or 13, with NVRTC),
# Numba, NumPy and mpi4py. Whatever else bigbrain and the tests import (zarr, numcodecs,
# google-crc32c, tomli-w, pytest and their dependencies) comes from wheel files in
# benchmarks/wheels/ (or $BIGBRAIN_GPU_CHECK_WHEELS; not in git; about 12 MiB), fetched beforehand on a machine with an
# index:
#   pip download --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux_2_28_x86_64 -d benchmarks/wheels \
#     zarr numcodecs google-crc32c tomli-w pytest && rm -f benchmarks/wheels/numpy-*
# bigbrain itself is imported from this tree (a link farm in a temporary folder: nothing is
# built). BIGBRAIN_GPU_STANDIN=host runs every stage on the CUDA sources compiled for the
# CPU instead of a device (compiled once for all stages), which is how
# tests/test_gpu_check.py tests this script without a GPU; with BIGBRAIN_GPU_CHECK_TINY=1
# the networks are small and the kernel bit tests a sample of tests/test_cuda_sources.py
# (the test suite runs all of them on the host build).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$PWD/gpu_check}"
# 400 s in all; GPU_CHECK_SLOWDOWN=k gives every stage and the whole k times as long (the
# host stand-in on a small machine)
SLOWDOWN="${GPU_CHECK_SLOWDOWN:-1}"
BUDGET=$((400 * SLOWDOWN))
mkdir -p "$OUT"
START=$SECONDS
cd "$ROOT"

SHIM="$(mktemp -d)"
trap 'rm -rf "$SHIM"' EXIT
mkdir -p "$SHIM/bigbrain" "$SHIM/site"
for entry in "$ROOT"/bigbrain/*; do ln -s "$entry" "$SHIM/bigbrain/"; done
for sub in partition kernels jobs; do ln -s "$ROOT/$sub" "$SHIM/bigbrain/$sub"; done
# the wheels go to a temporary folder on the path: the machine's environment is not changed
WHEELS="${BIGBRAIN_GPU_CHECK_WHEELS:-benchmarks/wheels}"
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    python -m pip install -q --no-index --no-deps --target "$SHIM/site" "$WHEELS"/*.whl \
        >"$OUT/install.log" 2>&1 || echo "installing $WHEELS failed (see install.log)"
fi
# PYTHONSAFEPATH: `python -m` must not put the checkout first (its bigbrain/ lacks kernels/)
export PYTHONSAFEPATH=1
export PYTHONPATH="$SHIM:$SHIM/site:$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}"
export BIGBRAIN_KERNEL_TARGET=device
if [ "${BIGBRAIN_GPU_STANDIN:-}" = host ]; then
    export BIGBRAIN_KERNEL_TARGET=host BIGBRAIN_CUDA_HOST_CACHE="$SHIM/cuda"
fi
KERNEL_SAMPLE="" MODEL_SAMPLE=""
if [ "${BIGBRAIN_GPU_CHECK_TINY:-}" = 1 ]; then
    KERNEL_SAMPLE=" and (philox_words or deliver_log or stdp_deliver or record_post)"
    MODEL_SAMPLE=" and (not model_kernel or iaf_cond_alpha)"
fi

STATUS=()
# stage NAME LIMIT_S COMMAND...: run with what is left of the budget (at most LIMIT_S),
# writing NAME.log and NAME.json {stage, rc, seconds} (a Python stage writes its own JSON).
stage() {
    local name=$1 limit=$(($2 * SLOWDOWN)); shift 2
    local left=$((BUDGET - (SECONDS - START)))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -le 5 ]; then
        echo "{\"stage\": \"$name\", \"rc\": null, \"error\": \"no time left\"}" >"$OUT/$name.json"
        STATUS+=("\"$name\": null"); return
    fi
    local t0=$SECONDS
    STAGE_LIMIT_S=$limit timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    [ -f "$OUT/$name.json" ] || echo "{\"stage\": \"$name\", \"rc\": $rc, \"seconds\": $((SECONDS - t0))}" >"$OUT/$name.json"
    echo "$name: exit $rc ($((SECONDS - t0)) s)"
    STATUS+=("\"$name\": $rc")
}

stage preflight 60 python benchmarks/gpu.py --only preflight --json "$OUT/preflight.json"
MODELS="model_kernel or conductance or aeif or per_neuron"
stage kernels 90 python -m pytest -q -p no:cacheprovider tests/test_cuda_sources.py \
    -k "not ($MODELS)$KERNEL_SAMPLE" --junitxml "$OUT/kernels.xml"
stage networks 90 python -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py \
    -k "not wide and not ($MODELS)" --junitxml "$OUT/networks.xml"
stage wide 60 python -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py -k wide \
    --junitxml "$OUT/wide.xml"
# (models compiles the Numba reference of every conductance model with an empty cache: the
# longest compilation: 3 minutes on a 2-core CI machine, where it failed at 60 s × 3)
stage models 120 python -m pytest -q -p no:cacheprovider tests/test_cuda_sources.py \
    tests/test_gpu.py -k "($MODELS)$MODEL_SAMPLE" --junitxml "$OUT/models.xml"
stage microcircuit_check 240 python benchmarks/gpu.py --only microcircuit_check \
    --json "$OUT/microcircuit_check.json"

(IFS=,; echo "{${STATUS[*]}, \"seconds\": $((SECONDS - START))}") >"$OUT/summary.json"
cat "$OUT/summary.json"
for s in "${STATUS[@]}"; do [ "${s##*: }" = 0 ] || exit 1; done
