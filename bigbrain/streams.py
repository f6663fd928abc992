"""The purposes of random streams (counter word c2, high half); see kernels/philox.py."""
import enum


class Purpose(enum.IntEnum):
    INITIAL_STATE = 1   # aux: population index; id: gid; index: 0
    CONNECT = 2         # aux: projection index; id: post gid; index: draw (spatial: source position); sub: round
    WEIGHT = 3          # aux: projection index; id: post gid; index: synapse ordinal
    DELAY = 4           # aux: projection index; id: post gid; index: synapse ordinal
    POISSON = 5         # aux: projection index; id: post gid; index: step // 4; sub: ordinal
    TOTAL_NUMBER = 6    # aux: projection index; numpy Philox key for the multinomial split
    OUTDEGREE = 7       # aux: projection index; id: pre gid (Poisson: position); index: draw; sub: round
    POSITION = 8        # aux: population index; id: gid; index: dimension
    NOISE = 9           # aux: projection index; id: post gid; index: interval; sub: ordinal
    NEURON_PARAMETER = 10 # aux: population index; id: gid; index: parameter position
    SET_NEURON = 11     # aux: population index; id: gid; index: step * 64 + parameter position
    SET_SYNAPSE = 12    # aux: connection index; id: position in Result.weights order; index: step
    QUANTISE = 13       # aux: 0; id: synapse position in Result.weights order; index: sample; sub: 0 rounding, 1-2 noise
    SUPERPOSITION = 14  # aux: connection index; id: post gid; index: step; sub: ordinal · blocks + block
    BERNOULLI = 15      # aux: connection index; id: post gid; index: emission step; sub: ordinal | copy block << 24
