#!/bin/bash
# A bigbrain run on one machine with mpiexec: copy and edit.
#
#   bash mpiexec.sh [MODEL] [RANKS] [bigbrain run options...]
#   bash mpiexec.sh brunel-ai 4 --t 2000 --out brunel.zarr
#
# MODEL is a .toml model file or a shipped model (bigbrain run --help); mpiexec comes with
# the mpich wheel, beside the Python that runs bigbrain.
set -euo pipefail
MODEL="${1:-brunel-ai}"
RANKS="${2:-2}"
shift $(( $# < 2 ? $# : 2 ))
exec mpiexec -n "$RANKS" bigbrain run "$MODEL" "$@"
