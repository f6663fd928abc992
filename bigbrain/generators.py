"""The stimulation devices (generators) by NEST name: the registry that networks, model files,
descriptions and the PyNN layer create devices from.

The kinds live in their own modules (current generators and the inhomogeneous Poisson
generator in :mod:`bigbrain.stimulation`, the superposition generators in
:mod:`bigbrain.superposition`); this module only gathers them, so neither imports the
other's registry. bigbrain's own ``poisson`` source is a population kind
(:class:`bigbrain.population.PoissonGenerators`), not a device.
"""
from . import stimulation, superposition

#: Device classes by NEST model name.
KINDS = {**stimulation.KINDS, **superposition.KINDS}
