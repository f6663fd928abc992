"""The purposes of random streams (counter word c2, high half); see kernels/philox.py."""
import enum


class Purpose(enum.IntEnum):
    INITIAL_STATE = 1   # aux: population index; id: gid; index: 0
    CONNECT = 2         # aux: projection index; id: post gid; index: draw; sub: round
    WEIGHT = 3          # aux: projection index; id: post gid; index: synapse ordinal
    DELAY = 4           # aux: projection index; id: post gid; index: synapse ordinal
    POISSON = 5         # aux: projection index; id: post gid; index: step // 4; sub: ordinal
    TOTAL_NUMBER = 6    # aux: projection index; numpy Philox key for the multinomial split
    NEURON_PARAMETER = 7  # aux: population index; id: gid; index: parameter position
    SET_NEURON = 8      # aux: population index; id: gid; index: step * 64 + parameter position
    SET_SYNAPSE = 9     # aux: connection index; id: position in Result.weights order; index: step
