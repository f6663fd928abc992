"""A recurrent network of iaf_psc_exp_multisynapse and aeif_cond_alpha_multisynapse
neurons: Poisson input and recurrent connections on each of three receptor ports (random
delays up to 4 ms, so that the port ring buffers hold input across intervals and
checkpoints).

    multisynapse_ranks.py OUT_DIR [ARCHIVE]

Rank 0 writes OUT_DIR/result.npz (spikes and V_m of both populations). With ARCHIVE the
run is archived there with a checkpoint every 10 ms.
"""
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import bigbrain as bb

OUT = Path(sys.argv[1])


def network(archive=None):
    net = bb.Network(dt=0.1, seed=11, archive=archive)
    noise = net.poisson("noise", 800.0)
    iaf = net.population("I", 7, "iaf_psc_exp_multisynapse", tau_syn=[1.0, 20.0, 1.5],
                         I_e=300.0, V_m=bb.uniform(-70.0, -56.0))
    aeif = net.population("A", 5, "aeif_cond_alpha_multisynapse", tau_syn=[1.0, 20.0, 1.5],
                          E_rev=[0.0, 0.0, -70.0], I_e=500.0)
    for port, (w_iaf, w_aeif) in enumerate(((400.0, 8.0), (30.0, 1.0), (-300.0, 5.0)), 1):
        net.connect(noise, iaf, weight=w_iaf, delay=1.0, receptor=port)
        net.connect(noise, aeif, weight=w_aeif, delay=1.0, receptor=port)
        net.connect(iaf, aeif, rule="fixed_indegree", indegree=2, weight=w_aeif,
                    delay=bb.uniform(0.5, 4.0), receptor=port)
        net.connect(aeif, iaf, rule="pairwise_bernoulli", p=0.5, weight=w_iaf,
                    delay=bb.uniform(0.5, 4.0), receptor=port)
    for pop in ("I", "A"):
        net.record(pop)
        net.record(pop, "V_m")
    return net


if __name__ == "__main__":
    archive = bb.Archive(sys.argv[2], checkpoint_every=10.0) if len(sys.argv) > 2 else None
    result = network(archive).run(40.0)
    if MPI.COMM_WORLD.rank == 0:
        np.savez(OUT / "result.npz", **{f"{k}_{p}": v for p in ("I", "A")
                                        for k, v in zip(("t", "i"), result.spikes(p))},
                 V_I=result.V_m("I")[2], V_A=result.V_m("A")[2])
