#!/bin/bash
# A bigbrain run as a SLURM batch job. `bigbrain submit` renders this template: every
# value put in double braces is checked against a strict pattern or shell-quoted. Copy and
# edit it freely.
#
# Surviving time limits and preemption: SLURM sends SIGUSR1 to this script {{warning_s}} s
# before the time limit (--signal=B:USR1@...). The trap below then tells the ranks to
# checkpoint and stop (SIGTERM; bigbrain writes a checkpoint at the end of the current
# block and exits), waits for them, and requeues the job; the requeued job continues the
# archive from that checkpoint (`bigbrain run --resume` runs `bigbrain resume` when the
# archive holds an intact checkpoint, and starts afresh otherwise). Preemption sends
# SIGTERM to the ranks directly; they checkpoint and SLURM requeues the job (--requeue).
#SBATCH --job-name={{job_name}}
#SBATCH --nodes={{nodes}}
#SBATCH --ntasks-per-node={{ntasks_per_node}}
#SBATCH --time={{time}}
#SBATCH --signal=B:USR1@{{warning_s}}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output={{log}}
{{directives}}
set -u
{{sweep}}
requeue=0
trap 'requeue=1; scancel --signal=TERM "$SLURM_JOB_ID"' USR1   # TERM to the ranks, not srun
trap 'scancel --signal=TERM "$SLURM_JOB_ID"' TERM
echo "bigbrain: job ${SLURM_JOB_ID} restart ${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NODELIST}: $ARCHIVE"
srun {{bigbrain}} run {{model}} --t {{t}} --out "$ARCHIVE" --resume --progress-every {{progress_s}} \
    {{settings}} "${SWEEP[@]}" &
step=$!
while :; do                      # a trap interrupts wait: wait again until the step ends
  wait "$step"; rc=$?
  kill -0 "$step" 2>/dev/null || break
done
if [ "$requeue" = 1 ]; then
  echo "bigbrain: checkpointed on the warning signal; requeueing job ${SLURM_JOB_ID}"
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
