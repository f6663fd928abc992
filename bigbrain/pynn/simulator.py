"""The state of a PyNN session on bigbrain (PyNN's ``simulator`` module contract).

PyNN objects (populations, projections, current sources, recorders) only *describe* the
network; the first ``run`` after ``setup`` or ``reset`` replays that description onto a
fresh :class:`bigbrain.Network` and runs it. Connectivity and every random number come
from bigbrain's counter-based streams, so a replay after ``reset`` makes the same network
and a script gives the same spikes on any number of MPI ranks.
"""
from mpi4py import MPI
from pyNN import common

from ..errors import ModelError

name = "bigbrain"


class ID(int, common.IDMixin):
    """A PyNN cell id: an int numbering cells in creation order."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """Time, resolution, the objects described so far and the bigbrain network built."""

    def __init__(self):
        super().__init__()
        comm = MPI.COMM_WORLD
        self.comm = comm
        self.mpi_rank, self.num_processes = comm.Get_rank(), comm.Get_size()
        self.dt, self.min_delay, self.max_delay, self.seed = 0.1, 0.1, 10.0, 1
        self.network_options, self.min_delay_auto = {}, False
        self.clear()

    def clear(self):
        """Forget every object (``setup`` and ``end``)."""
        self.populations, self.projections, self.current_sources = [], [], []
        self.recorders = set()
        self.id_counter = 0
        self.segment_counter = -1
        self.reset()

    def reset(self):
        """Time back to 0; the next run rebuilds the network from its description."""
        self.net = self.result = None
        self.running = False
        self.t = self.t_start = 0.0
        self.segment_counter += 1

    @property
    def built(self):
        """Whether the network runs (a description alone is not built)."""
        return self.net is not None and self.net._simulation is not None

    def not_built(self, what):
        """Refuse to change ``what`` once the network runs (bigbrain fixes the description
        at the first run; PyNN's ``reset()`` makes it editable again); before, drop the
        description made so far (``Projection.get`` describes the network)."""
        if self.built:
            raise ModelError(what, "not supported by bigbrain.pynn after the first run: "
                             "call sim.reset() first")
        self.net = None

    def network(self):
        """The bigbrain network, built from the description on first use."""
        if self.net is None:
            from .. import Network
            net = Network(dt=self.dt, seed=self.seed, **self.network_options)
            for pop in self.populations:
                pop._describe(net)
            for source in self.current_sources:
                source._describe(net)
            for prj in self.projections:
                prj._describe(net)
            for pop in self.populations:  # in creation order: the same on every rank
                pop.recorder._describe(net)
            self.net = net
        return self.net

    def run(self, simtime):
        writes = [prj._writes for prj in self.projections]
        if self.num_processes > 1 and self.projections:   # each rank wrote its own
            writes = [sum(parts, []) for parts in zip(*self.comm.allgather(writes))]
        for prj, mine in zip(self.projections, writes):
            prj.apply_writes(mine)
        net = self.network()
        steps = net.steps("run.simtime", simtime)
        self.result = net.run(steps * self.dt)
        for prj in self.projections:
            prj._built_values = {}  # plastic weights and synapse state changed
        self.t = net.time
        if self.min_delay_auto and net._simulation.ring_length > 0 and net.connections:
            self.min_delay = net._simulation.interval * self.dt
        self.running = True

    def run_until(self, tstop):
        self.run(max(tstop - self.t, 0.0))


state = State()
