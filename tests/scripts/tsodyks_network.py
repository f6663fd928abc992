"""A small recurrent network with facilitating and depressing tsodyks_synapse connections,
archived with checkpoints; U is redrawn between runs. Saves its records (rank 0).

    mpiexec -n K python tsodyks_network.py OUT.npz ARCHIVE
"""
import sys

import numpy as np

import bigbrain as bb

T_FIRST, T_END = 30.0, 70.0
#: Facilitating (Markram et al. 1998's F-type) and depressing (D-type) parameter sets.
FACILITATING = dict(U=0.1, tau_psc=2.0, tau_fac=500.0, tau_rec=100.0)
DEPRESSING = dict(U=0.6, tau_psc=2.0, tau_fac=0.0, tau_rec=600.0)


def network(archive):
    """60 excitatory and 20 inhibitory iaf_psc_exp cells driven by Poisson input."""
    net = bb.Network(dt=0.1, seed=7, archive=archive)
    cell = dict(tau_syn_ex=2.0, tau_syn_in=2.0, V_m=bb.uniform(-70.0, -55.0))
    exc = net.population("E", 60, "iaf_psc_exp", **cell)
    inh = net.population("I", 20, "iaf_psc_exp", **cell)
    net.connect(net.poisson("noise", rate=8000.0), exc | inh, weight=60.0, delay=1.0)
    ee = net.connect(exc, exc | inh, rule="fixed_indegree", indegree=12, weight=bb.uniform(200.0, 400.0),
                     delay=bb.uniform(0.5, 2.0), synapse=bb.TsodyksSynapse(**FACILITATING))
    ie = net.connect(inh, exc, rule="fixed_indegree", indegree=6, weight=-300.0, delay=0.8,
                     synapse=bb.TsodyksSynapse(**DEPRESSING))
    net.record(exc, "spikes")
    net.record(inh, "spikes")
    return net, ee, ie


def records(net, result, conns):
    """Spikes and every synapse's state, on every rank."""
    out = {}
    for pop in ("E", "I"):
        out[f"{pop}_t"], out[f"{pop}_i"] = result.spikes(pop)
    for k, conn in enumerate(conns):
        for name in ("weight", "U", "x", "y", "u"):
            out[f"{k}_{name}"] = net.get(conn, name)
    return out


def main(out, archive):
    net, ee, ie = network(bb.Archive(archive, checkpoint_every=50.0))
    net.run(T_FIRST)
    net.set(ee, U=bb.uniform(0.05, 0.3))
    result = net.run(T_END - T_FIRST)
    data = records(net, result, (ee, ie))
    if net.rank == 0:
        np.savez(out, **data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
