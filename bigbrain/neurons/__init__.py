"""Neuron models, one module per family with NEST's names (:mod:`.iaf_psc`: current-based
integrate-and-fire; :mod:`.iaf_cond`, :mod:`.aeif_cond`: conductance-based; :mod:`.relays`:
spike sources and parrots), and what they share (:mod:`.base`). A population's model is looked up by name in :data:`MODELS`.
"""
from . import aeif_cond, iaf_cond, iaf_psc, relays
from .base import Block, BlockGroup, NeuronModel, initial_values

MODELS = {**iaf_psc.MODELS, **iaf_cond.MODELS, **aeif_cond.MODELS, **relays.MODELS}

__all__ = ["MODELS", "Block", "BlockGroup", "NeuronModel", "initial_values"]
