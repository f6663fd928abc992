"""Networks for the exchange and partition tests (imported by the scripts beside it)."""
import bigbrain as bb

PARTITIONS = ("round_robin", "blocks", "population", "graph")
STRATEGIES = ("alltoall", "sparse", "mesh")


def clusters(net, n_clusters=10, n_exc=160, n_inh=40, k_exc=40, k_inh=10, k_next=8):
    """Spatially local clusters on a ring: cluster k is E[k·n_exc …] and I[k·n_inh …];
    inside a cluster, fixed in-degrees from E (k_exc) and I (k_inh); E of cluster k also
    projects to cluster k+1 (k_next). Delays 1–2 ms; every neuron gets Poisson input."""
    lif = dict(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, C_m=1.0, t_ref=2.0, V_m=bb.uniform(0.0, 20.0))
    exc = net.population("E", n_clusters * n_exc, "iaf_psc_delta", **lif)
    inh = net.population("I", n_clusters * n_inh, "iaf_psc_delta", **lif)
    noise = net.poisson("noise", rate=15_000.0)
    delay = bb.uniform(1.0, 2.0)
    for k in range(n_clusters):
        nxt = (k + 1) % n_clusters
        e, i = exc[k * n_exc:(k + 1) * n_exc], inh[k * n_inh:(k + 1) * n_inh]
        e_next, i_next = exc[nxt * n_exc:(nxt + 1) * n_exc], inh[nxt * n_inh:(nxt + 1) * n_inh]
        net.connect(e, e | i, rule="fixed_indegree", indegree=k_exc, weight=0.2, delay=delay)
        net.connect(i, e | i, rule="fixed_indegree", indegree=k_inh, weight=-1.0, delay=delay)
        net.connect(e, e_next | i_next, rule="fixed_indegree", indegree=k_next, weight=0.2, delay=delay)
    net.connect(noise, exc | inh, rule="all_to_all", weight=0.1, delay=1.5)
    return exc, inh
