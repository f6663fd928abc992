"""Neuron models, one module per family with NEST's names (:mod:`.iaf_psc`: current-based
integrate-and-fire; :mod:`.iaf_cond`, :mod:`.aeif_cond`: conductance-based; :mod:`.hh_cond`:
Hodgkin–Huxley; :mod:`.multisynapse`: receptor ports; :mod:`.relays`: spike sources and
parrots), and what they share
(:mod:`.base`). A population's model is looked up by name in :data:`MODELS`.
"""
from . import aeif_cond, hh_cond, iaf_cond, iaf_psc, multisynapse, relays
from .base import Block, BlockGroup, NeuronModel, initial_values, is_per_neuron, neuron_parameters
from .multisynapse import PortBlock

MODELS = {**iaf_psc.MODELS, **iaf_cond.MODELS, **aeif_cond.MODELS, **hh_cond.MODELS,
          **multisynapse.MODELS, **relays.MODELS}

__all__ = ["MODELS", "Block", "BlockGroup", "NeuronModel", "PortBlock", "initial_values",
           "is_per_neuron", "neuron_parameters"]
