"""How much memory a rank needs for a network, estimated from its description alone.

Used before the build, so that a network too large for a GPU, or for the CPU's memory,
fails at once with the estimate instead of running out of memory half-way. The estimate
follows the storage layout (:mod:`bigbrain.neurons`, :mod:`bigbrain.projection`,
:mod:`bigbrain.plasticity`) for the busiest rank, with neurons spread evenly over ranks and
the expected number of synapses of each rule:

* neuron state: 24 B per ``iaf_psc_delta`` neuron, 32 B per ``iaf_psc_exp`` neuron, 56 B
  per ``iaf_psc_alpha`` neuron;
* ring buffers: 2 × 8 B × (maximum delay in steps) per local node and receptor port (those
  above 1 that connections use have their own), plus the spike flags of one interval (1 B
  per node and step);
* static synapses: target column (2 B up to 65,536 local nodes, else 4 B), weight (4 B
  unless homogeneous), delay (1 B up to 255 steps, else 2 B, unless homogeneous), and 8 B
  per source row, one per source the rank needs (the expected distinct sources of its
  synapses, not the pre selection's whole range): its gid and row pointer (an upper bound
  on the CPU, whose pointers take 1–4 B in blocks, :class:`~bigbrain.kernels.csr.BlockPointers`);
* plastic synapses: the same with an 8 B weight always, and 25 B per source row (row
  pointer, trace, last spike, active flag), plus the exp tables of the STDP kernels;
* Poisson synapses: 40 B (column, gid, ordinal, delay, weight).
"""
import math
import os

import numpy as np

from ..distributions import Distribution
from ..kernels.exp_tables import MAX_LENGTH

STATE_BYTES = {"iaf_psc_delta": 24, "iaf_psc_exp": 32, "iaf_psc_alpha": 56}
POISSON_SYNAPSE_BYTES = 40
PLASTIC_ROW_BYTES = 25
EXP_UNDERFLOW = 745.2   # exp(-x) is 0.0 in double precision beyond this x


def physical_memory():
    """Bytes of memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_memory():
    """Bytes of memory available to new allocations on this node (Linux ``MemAvailable``,
    else the free physical pages)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


class Estimate:
    """Bytes needed on one rank, by part (``parts``), and the expected synapse count."""

    def __init__(self, parts, n_synapses):
        self.parts, self.n_synapses = parts, n_synapses

    @property
    def total(self):
        return sum(self.parts.values())

    @property
    def bytes_per_synapse(self):
        """Bytes of synapse storage (synapses, rows, Poisson) per synapse."""
        syn = sum(self.parts[k] for k in ("synapses", "rows", "poisson synapses"))
        return syn / max(self.n_synapses, 1)

    def describe(self):
        detail = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in self.parts.items() if v)
        return (f"{self.total / 2**30:.2f} GiB per rank ({detail} GiB; "
                f"{self.n_synapses:.3g} synapses)")


def _heterogeneous(value):
    return isinstance(value, Distribution) or np.ndim(value) > 0


def _delay_bounds(delay):
    """(lowest, highest) delay (ms) of a constant, an array (0, 0 if empty) or a distribution."""
    if isinstance(delay, Distribution):
        return delay.bounds()
    values = np.asarray(delay, np.float64)
    return (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)


def _delay_steps_max(conn, dt):
    hi = _delay_bounds(conn.delay)[1]
    return int(round(hi / dt)) if math.isfinite(hi) else 255


def _exp_table_bytes(dt, tau):
    return 8 * min(MAX_LENGTH, math.ceil(EXP_UNDERFLOW * tau / dt) + 1)


def estimate(net, n_ranks):
    """The :class:`Estimate` for the busiest rank of ``net`` (a :class:`bigbrain.Network`,
    described but not built) run on ``n_ranks`` ranks."""
    share = lambda n: -(-int(n) // n_ranks)  # noqa: E731 - neurons of the busiest rank
    pops = net.node_populations()
    columns = sum(share(p.size) for p in pops)
    post_bytes = 2 if columns <= 65536 else 4
    parts = dict.fromkeys(("neurons", "ring buffers", "synapses", "rows", "poisson synapses",
                           "exp tables"), 0)
    parts["neurons"] = sum(STATE_BYTES.get(p.model.name, 0) * share(p.size) for p in pops)
    n_synapses, max_delay, min_delay = 0.0, 1, None
    for conn in net.connections:
        n = conn.rule.expected_per_target * share(len(conn.post))
        n_synapses += n
        if conn.pre_gids is None:  # generators: synapses of Poisson and current devices
            parts["poisson synapses"] += POISSON_SYNAPSE_BYTES * n
            continue
        d_max = _delay_steps_max(conn, net.dt)
        max_delay = max(max_delay, d_max)
        lo = _delay_bounds(conn.delay)[0]
        lo_steps = int(round(lo / net.dt)) if math.isfinite(lo) else 1
        min_delay = min(min_delay or d_max, max(1, lo_steps))
        rows = _needed_sources(len(conn.pre), n)
        delay_bytes = (1 if d_max < 256 else 2) if _heterogeneous(conn.delay) else 0
        if conn.synapse is None:
            weight_bytes = 4 if _heterogeneous(conn.weight) else 0
            parts["synapses"] += (post_bytes + weight_bytes + delay_bytes) * n
            parts["rows"] += 8 * rows
        elif hasattr(conn.synapse, "SYNAPSE_BYTES"):   # bernoulli_synapse
            parts["synapses"] += conn.synapse.SYNAPSE_BYTES * n
            parts["rows"] += 8 * rows
        else:
            variables = len(getattr(conn.synapse, "VARIABLES", ()))  # tsodyks: 8 bytes each
            parts["synapses"] += (post_bytes + 8 * (1 + variables) + delay_bytes) * n
            parts["rows"] += PLASTIC_ROW_BYTES * rows
            if not conn.synapse.needs_history:
                continue
            parts["exp tables"] += _exp_table_bytes(net.dt, conn.synapse.tau_plus)
            if hasattr(conn.synapse, "tau_plus_triplet"):  # K+₃ per row and its table
                parts["rows"] += 8 * rows
                parts["exp tables"] += _exp_table_bytes(net.dt, conn.synapse.tau_plus_triplet)
    if any(getattr(c.synapse, "needs_history", False) for c in net.connections):
        taus = {p.params.get("tau_minus") for p in pops if "tau_minus" in p.params}
        parts["exp tables"] += sum(_exp_table_bytes(net.dt, t) for t in taus)
    ports = max([1] + [conn.receptor for conn in net.connections])   # receptor ports' rings
    parts["ring buffers"] = 16 * max_delay * columns * ports + (min_delay or 10) * columns
    return Estimate({k: int(v) for k, v in parts.items()}, n_synapses)


def _needed_sources(n_pre, n_synapses):
    """Expected distinct sources among ``n_synapses`` drawn uniformly from ``n_pre``: the
    rows a rank keeps for a projection (never more than either)."""
    if n_pre == 0:
        return 0
    return int(round(n_pre * -math.expm1(-n_synapses / n_pre)))
