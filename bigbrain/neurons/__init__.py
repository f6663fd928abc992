"""Neuron models, one module per family with NEST's names (:mod:`.iaf_psc`: current-based
integrate-and-fire; :mod:`.relays`: spike sources and parrots), and what they share
(:mod:`.base`). A population's model is looked up by name in :data:`MODELS`.
"""
from . import iaf_psc, relays
from .base import Block, BlockGroup, NeuronModel, initial_values, is_per_neuron, neuron_parameters

MODELS = {**iaf_psc.MODELS, **relays.MODELS}

__all__ = ["MODELS", "Block", "BlockGroup", "NeuronModel", "initial_values", "is_per_neuron",
           "neuron_parameters"]
