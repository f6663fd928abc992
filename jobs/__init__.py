"""SLURM and mpiexec job templates (templates/), their rendering and submission (batch).

Installed as ``bigbrain.jobs``; ``local-slurm/`` holds scripts that start and stop a
single-node SLURM for tests (not installed).
"""
