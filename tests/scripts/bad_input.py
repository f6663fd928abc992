"""Build a network with one bad field (named by CASE) and report the error on every rank.

    bad_input.py CASE [uncaught]

Each rank prints ``rank R: ErrorType: message``. With ``uncaught`` the error is left to
propagate (the job must end, not hang).
"""
import sys

import bigbrain as bb

CASE = sys.argv[1]


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


if len(sys.argv) > 2 and sys.argv[2] == "uncaught":
    build()
try:
    build()
    print(f"rank {bb.Network().rank}: no error", flush=True)
except (bb.ModelError, bb.RankError) as err:
    from mpi4py import MPI
    print(f"rank {MPI.COMM_WORLD.rank}: {type(err).__name__}: {err}", flush=True)
