"""Run a table of bad inputs and report the error of each, on every rank.

    bad_input_table.py OUT_DIR

Each rank writes OUT_DIR/rank<R>.json: {case: [error class name, message, whether it is a
ModelError]}. The same bad input must give the same class and message on any rank count.
"""
import json
import math
import sys
from pathlib import Path

from mpi4py import MPI

import bigbrain as bb

OUT = Path(sys.argv[1])


def network(**kwargs):
    net = bb.Network(dt=0.1, seed=1, **kwargs)
    return net, net.population("E", 20, "iaf_psc_delta")


def connected(**connect):
    net, exc = network()
    net.connect(exc, exc, rule=connect.pop("rule", "fixed_indegree"), **connect)
    net.run(1.0)


def poisson_onto(target, rate):
    net, exc = network()
    net.connect(net.poisson("P", rate=rate), target(exc), weight=0.1)
    net.run(1.0)


def vm_interval():
    net, exc = network()
    net.record(exc, "V_m", interval=0.25)


def run_twice(t):
    net, _ = network()
    net.run(1.0)
    net.run(t)


def tsodyks_set(**values):
    """Set tsodyks_synapse variables of a built network (arrays: one value per synapse)."""
    net, exc = network()
    conn = net.connect(exc, exc, rule="fixed_indegree", indegree=2, synapse=bb.TsodyksSynapse())
    net.run(1.0)
    net.set(conn, **{k: v(40) if callable(v) else v for k, v in values.items()})


CASES = {
    # raised while building, on every rank
    "tsodyks_U_nan": lambda: connected(indegree=5, synapse=bb.TsodyksSynapse(U=math.nan)),
    # only the last synapse (onto the last neuron, on the last rank) breaks x + y <= 1
    "tsodyks_y_on_one_rank": lambda: tsodyks_set(y=lambda n: [0.0] * (n - 1) + [0.5]),
    "tsodyks_U_drawn_above_1": lambda: tsodyks_set(U=bb.uniform(0.5, 1.5)),
    "rate_above_700_per_step": lambda: poisson_onto(lambda e: e[1:2], 1e7),
    "drawn_delay_below_dt": lambda: connected(indegree=5, delay=bb.normal(0.4, 0.2)),
    "nan_normal": lambda: connected(indegree=5, delay=bb.normal(math.nan, 1.0)),
    "impossible_clipped_normal": lambda: connected(indegree=5, weight=bb.clipped_normal(0, 1, 50, 51)),
    "distribution_string": lambda: connected(indegree=5, weight=bb.normal("1", 1.0)),
    "scalar_nan_delay": lambda: connected(delay=math.nan, rule="all_to_all"),
    "inf_delay": lambda: connected(delay=math.inf, rule="all_to_all"),
    "nan_explicit_delay": lambda: connected(rule="explicit", sources=[0, 1], targets=[0, 1],
                                            delay=[1.0, math.nan]),
    "fractional_explicit_sources": lambda: connected(rule="explicit", sources=[0, 1.5], targets=[0, 1]),
    "nan_explicit_targets": lambda: connected(rule="explicit", sources=[0, 1], targets=[0, math.nan]),
    "rate_inf": lambda: poisson_onto(lambda e: e, math.inf),
    "rate_string": lambda: poisson_onto(lambda e: e, "fast"),
    "index_out_of_range": lambda: poisson_onto(lambda e: e[5000], 10.0),
    "slice_out_of_range": lambda: poisson_onto(lambda e: e[200:300], 10.0),
    "run_not_multiple_of_dt": lambda: run_twice(0.25),
    "vm_interval_not_multiple_of_dt": vm_interval,
    "E_L_inf": lambda: bb.Network().population("E", 2, "iaf_psc_delta", E_L=math.inf),
    "V_m_nan": lambda: bb.Network().population("E", 2, "iaf_psc_exp", V_m=[0.0, math.nan]),
    "partition_rates": lambda: network(partition={"name": "graph", "rates": {"E": "fast"}})[0].run(1.0),
    "resume_missing": lambda: bb.resume(OUT.parent / "missing.zarr"),
    # raised on rank 0 only (it creates the store)
    "archive_unwritable": lambda: network(archive="/proc/bigbrain-test.zarr")[0].run(1.0),
}


def report(case):
    try:
        CASES[case]()
    except Exception as err:  # noqa: BLE001 - the error is what is reported
        return [type(err).__name__, str(err), isinstance(err, bb.ModelError)]
    return ["no error", "", False]


def ranks_disagree():
    """Every rank raises a ModelError of its own: a RankError that is still a ModelError."""
    comm = bb.Network().comm
    try:
        comm.agree(lambda: (_ for _ in ()).throw(bb.ModelError("x", f"rank {comm.rank}")))
    except Exception as err:  # noqa: BLE001
        return [type(err).__name__, str(err), isinstance(err, bb.ModelError), getattr(err, "field", None)]


results = {case: report(case) for case in CASES}
results["ranks_disagree"] = ranks_disagree()
(OUT / f"rank{MPI.COMM_WORLD.rank}.json").write_text(json.dumps(results))
