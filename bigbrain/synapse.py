"""What every synapse model other than NEST's ``static_synapse`` is to a connection.

A connection's ``synapse`` is None (static) or an instance of a subclass of
:class:`SynapseModel`: the plastic rules (:mod:`bigbrain.stdp`, :mod:`bigbrain.tsodyks`)
and ``bernoulli_synapse`` (:mod:`bigbrain.bernoulli`). The connection checks its weights
through it; the models' runtimes live in their own modules.
"""


class SynapseModel:
    """A synapse model: ``describe()`` gives its NEST name under ``"model"``."""

    #: Whether the synapses need the post-synaptic spike history (bigbrain.plasticity).
    needs_history = False

    def check_weights(self, field, weights):
        """Raise ModelError for weights the model cannot take (static synapses take any)."""

    def describe(self):
        raise NotImplementedError
