"""Current input of stimulation devices (:mod:`bigbrain.stimulation`) into the ring buffer."""
import numba


@numba.njit(cache=True)
def add_currents(t0, n_steps, post, delay, weight, lo, base, scale, z, m_of, ring_cur):
    """Add to ``ring_cur`` (float64, pA, slot = step % L) the current that synapse i
    (column ``post[i]``, ``delay[i]`` steps, ``weight[i]``) carries into each step s of
    t0 … t0+n_steps−1: ``weight[i] · (base[j] + scale[j] · z[i, m_of[j]])`` with
    j = s − delay[i] − lo, the device step's offset. Synapse by synapse, so that the
    contributions to a slot are summed in the order of the synapses."""
    L = ring_cur.shape[0]
    for i in range(post.shape[0]):
        col = post[i]
        for s in range(t0, t0 + n_steps):
            j = s - delay[i] - lo
            ring_cur[s % L, col] += weight[i] * (base[j] + scale[j] * z[i, m_of[j]])
