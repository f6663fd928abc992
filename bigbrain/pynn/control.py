"""setup, run, reset, end and the state queries of PyNN's procedural API."""
from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator

#: setup() keywords passed to bigbrain.Network.
NETWORK_OPTIONS = ("partition", "exchange", "backend", "device", "archive")


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a simulation: ``timestep`` (ms); ``min_delay`` (ms, or "auto": one step);
    ``seed`` (bigbrain's seed of every random number of the network, default 1) and
    bigbrain.Network's ``partition``, ``exchange``, ``backend``, ``device``, ``archive``."""
    max_delay = extra_params.get("max_delay", 10.0)
    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay_auto = min_delay == "auto"
    state.min_delay = state.dt if state.min_delay_auto else float(min_delay)
    state.max_delay = max_delay if max_delay != "auto" else 10.0
    state.seed = int(extra_params.get("seed", extra_params.get("rng_seed", 1)))
    state.network_options = {k: extra_params[k] for k in NETWORK_OPTIONS if k in extra_params}
    return rank()


def end(compatible_output=True):
    """Write the files asked for by ``record(..., to_file)``. The records stay readable
    (``get_data`` after ``end``, as in pyNN.nest) until the next ``setup``."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
