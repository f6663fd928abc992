"""Hardware-aware plastic synapses: weights stored in k levels and written with noise, as in
the in-memory computing of neuromorphic chips.

Applied where the learning loop writes weights (:meth:`DiehlCook.normalise`, after each
sample's normalisation): the simulation's own STDP updates stay float64 in between, as an
analogue device accumulates updates that are stored when written back.

Levels: ``k`` values equally spaced on [0, wmax] (``bits`` b gives k = 2^b). Rounding is
to the nearest level (``stochastic=False``) or up with probability equal to the fraction of
the step (``stochastic=True``, unbiased: E[q(w)] = w). Write noise multiplies each written
weight by 1 + ``noise`` · z, z standard normal, before rounding, and clips to [0, wmax].
Random numbers come from the counter-based streams (:attr:`Purpose.QUANTISE`: id = synapse
position in ``Result.weights`` order, index = sample number, sub 0 for rounding, 1 and 2 for
noise), so they do not depend on the ranks.
"""
import numpy as np

from ..distributions import Stream
from ..errors import ModelError
from ..streams import Purpose


class Hardware:
    """``bits`` (None: float64) or ``levels``; ``stochastic`` rounding; ``noise`` (relative
    std of the write noise, >= 0)."""

    def __init__(self, bits=None, levels=None, stochastic=False, noise=0.0):
        if bits is not None and levels is not None:
            raise ModelError("levels", "give bits or levels, not both")
        if bits is not None:
            if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
                raise ModelError("bits", f"must be an integer 1 … 16, got {bits!r}")
            levels = 2 ** int(bits)
        if levels is not None and (isinstance(levels, bool) or not isinstance(levels, (int, np.integer))
                                   or levels < 2):
            raise ModelError("levels", f"must be an integer >= 2, got {levels!r}")
        if not (np.isfinite(noise) and noise >= 0):
            raise ModelError("noise", f"must be a finite number >= 0, got {noise!r}")
        self.levels, self.stochastic, self.noise = levels, bool(stochastic), float(noise)

    @property
    def ideal(self):
        """Whether writes store the weights unchanged (no levels, no write noise)."""
        return self.levels is None and self.noise == 0

    def write(self, w, wmax, seed, sample):
        """The weights ``w`` (any shape, in [0, wmax]) as stored after write number ``sample``."""
        stream = Stream(seed, Purpose.QUANTISE, 0)
        ids = np.arange(w.size, dtype=np.uint64)
        w = np.asarray(w, np.float64).copy()
        if self.noise > 0:
            u1 = stream.uniform(ids, np.uint64(sample), 1)
            u2 = stream.uniform(ids, np.uint64(sample), 2)
            z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
            w = np.clip(w * (1.0 + self.noise * z.reshape(w.shape)), 0.0, wmax)
        if self.levels is None:
            return w
        return quantise(w, wmax, self.levels, stream.uniform(ids, np.uint64(sample), 0).reshape(w.shape)
                        if self.stochastic else None)


def quantise(w, wmax, levels, u=None):
    """``w`` on ``levels`` equally spaced values of [0, wmax]: nearest (``u`` None) or up with
    probability equal to the fraction (``u``: uniforms on [0, 1), one per weight)."""
    step = wmax / (levels - 1)
    x = np.clip(w / step, 0.0, levels - 1)
    low = np.floor(x)
    up = (x - low > 0.5) if u is None else (u < x - low)
    return np.minimum(low + up, levels - 1) * step
