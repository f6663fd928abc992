"""A PyNN 0.13 backend: ``import bigbrain.pynn as sim`` runs PyNN scripts on bigbrain.

    import bigbrain.pynn as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(100, sim.IF_curr_exp(), initial_values={"v": -65.0})
    ...
    sim.run(1000.0)
    block = cells.get_data()         # a Neo Block with units
    sim.end()

The same script runs under ``mpiexec -n 4`` with the same spikes. Needs the ``PyNN``
package (``pip install "bigbrain[pynn]"``). What the engine lacks fails at the call with
a :class:`bigbrain.ModelError` naming it.
"""
from .deferred import defer_imports

defer_imports()   # Neo and quantities are imported when records are made (see .deferred)
try:
    import pyNN  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise ImportError("bigbrain.pynn needs PyNN: pip install 'bigbrain[pynn]'") from err

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import (AllToAllConnector, ArrayConnector,  # noqa: F401
                             DistanceDependentProbabilityConnector,
                             FixedNumberPostConnector, FixedNumberPreConnector,
                             FixedProbabilityConnector, FixedTotalNumberConnector,
                             FromListConnector, OneToOneConnector)
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType
from pyNN import common

from .control import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                      get_time_step, initialize, num_processes, rank, reset, run,
                      run_for, run_until, setup)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels import *  # noqa: F401,F403
from .standardmodels import StaticSynapse, native_cell_type  # noqa: F401

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(__import__(__name__ + ".simulator", fromlist=["state"]))


def record_v(source, filename):
    return record(["v"], source, filename)


def __getattr__(name):
    """PyNN's ``Network``, imported on first use (its module imports ``neo.io`` at once)."""
    if name == "Network":
        from pyNN.network import Network
        return Network
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def list_standard_models():
    """The standard cell types this backend runs."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
