"""Build a network with one bad field (named by CASE) and report the error on every rank.

    bad_input.py CASE OUT_DIR [uncaught]

Each rank writes ``ErrorType: message`` to OUT_DIR/rank<R>.txt. With ``uncaught`` the
error is left to propagate (the job must end, not hang).
"""
import sys
from pathlib import Path

from mpi4py import MPI

import bigbrain as bb

CASE, OUT = sys.argv[1], Path(sys.argv[2])


def build():
    net = bb.Network(dt=0.1, seed=1)
    tau_m = -5.0 if CASE == "negative_tau" else 20.0
    params = {"tau_mem": 20.0} if CASE == "unknown_parameter" else {"tau_m": tau_m}
    exc = net.population("E", 200, "iaf_psc_delta", **params)
    pre = "X" if CASE == "unknown_population" else exc
    if CASE == "indegree_too_large":
        net.connect(exc, exc, rule="fixed_indegree", indegree=300, allow_multapses=False)
    elif CASE == "probability_above_one":
        net.connect(exc, exc, rule="pairwise_bernoulli", p=1.5)
    elif CASE == "delay_below_dt":
        net.connect(exc, exc, rule="fixed_indegree", indegree=10, delay=0.04)
    elif CASE == "drawn_delay_below_dt":
        net.connect(exc, exc, rule="fixed_indegree", indegree=10, delay=bb.normal(0.4, 0.2))
    else:
        net.connect(pre, exc, rule="fixed_indegree", indegree=10)
    net.run(10.0)


if len(sys.argv) > 3 and sys.argv[3] == "uncaught":
    build()
try:
    build()
    report = "no error"
except (bb.ModelError, bb.RankError) as err:
    report = f"{type(err).__name__}: {err}"
(OUT / f"rank{MPI.COMM_WORLD.rank}.txt").write_text(report)
