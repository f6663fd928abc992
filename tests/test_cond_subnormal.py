"""Conductances that decay into the subnormal range (below 2^-1022 nS, where a product
costs the processor a microcode assist) and stay there (kernels/cond.py,
``_set_aside_tiny``): such a conductance acts on V as 0 and decays as before; the kernel's
bits are those of that arithmetic done plainly, here in Python's IEEE doubles."""
import numpy as np
import pytest

from bigbrain.kernels import cond
from test_cond import block_of

TINY = 2.0 ** -1022


def plain_substep(V, ge, gi, a, h, aside=True):
    """V, g_ex, g_in after one substep of h ms of an iaf_cond_exp neuron (no input, not
    refractory), the kernel's operations in its order: conductances exact, RK4 of V, in
    which a subnormal conductance acts as 0 (``aside``; else as itself)."""
    P = dict(zip(cond.PARAMS, a))

    def acting(g, P_half, P_whole):  # on V at the substep's start, middle and end
        return (0.0, 0.0, 0.0) if aside and 0 < abs(g) < TINY else (g, g * P_half, g * P_whole)

    ge0, ge1, ge2 = acting(ge, P["P_ex_half"], P["P_ex"])
    gi0, gi1, gi2 = acting(gi, P["P_in_half"], P["P_in"])

    def slope(v, g_ex, g_in):
        v = min(v, P["V_clamp"] + 0.0)
        return (-P["g_L"] * (v - P["E_L"]) + 0.0 - g_ex * (v - P["E_ex"])
                - g_in * (v - P["E_in"]) - 0.0 + (P["I_e"] + 0.0)) / P["C_m"]

    half = 0.5 * h
    k1 = slope(V, ge0, gi0)
    k2 = slope(V + half * k1, ge1, gi1)
    k3 = slope(V + half * k2, ge1, gi1)
    k4 = slope(V + h * k3, ge2, gi2)
    return V + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), ge * P["P_ex"], gi * P["P_in"]


@pytest.mark.parametrize("h_max", [0.05, 0.1])
@pytest.mark.parametrize("E_L", [-70.0, 0.0])
def test_subnormal_conductances_give_the_bits_of_the_plain_arithmetic(E_L, h_max):
    """Neurons with subnormal g_ex or g_in (the smallest ones, which their decay rounds back
    to, larger ones, which decay, and 0), beside normal ones in the same vectorized loop,
    some at V = E_L exactly (where the products are not negligible): 40 steps give the
    V, g_ex and g_in bits of the plain arithmetic in which they act on V as 0. At
    E_L = V = 0 mV they would move V (to subnormal potentials), at -70 mV they would not."""
    sub = [5e-324, 1e-323, 3e-320, 2e-310, 1.5e-308, 0.0, 1e-3, 2.0]
    n = len(sub) ** 2
    block, step = block_of("iaf_cond_exp", n=n, h_max=h_max, E_L=E_L, V_m=E_L, V_th=E_L + 15.0,
                           V_reset=E_L - 10.0)
    block.g_ex[:] = np.repeat(sub, len(sub))
    block.g_in[:] = np.tile(sub, len(sub))
    block.V[:] = np.where(np.arange(n) % 3 == 0, E_L, E_L + np.linspace(-5.0, 5.0, n))
    assert (np.abs(block.g_ex) < TINY).sum() > n // 2
    V, ge, gi = (list(map(float, x)) for x in (block.V, block.g_ex, block.g_in))
    V_acting = list(V)  # the subnormal conductances acting on V
    a = block.kernel_args()[11]
    n_sub, h = a[cond.PARAMS.index("n_sub")], a[cond.PARAMS.index("h")]
    for _ in range(40):
        step()
        for i in range(n):
            for _ in range(n_sub):
                V_acting[i] = plain_substep(V_acting[i], ge[i], gi[i], a, h, aside=False)[0]
                V[i], ge[i], gi[i] = plain_substep(V[i], ge[i], gi[i], a, h)
            ge[i], gi[i] = ge[i] + 0.0, gi[i] + -(0.0)
    assert np.array_equal(block.V.view(np.int64), np.array(V).view(np.int64))
    assert (V_acting != block.V).any() == (E_L == 0.0)
    assert np.array_equal(block.g_ex.view(np.int64), np.array(ge).view(np.int64))
    assert np.array_equal(block.g_in.view(np.int64), np.array(gi).view(np.int64))
    assert block.g_ex[0] == 5e-324  # stuck: its decay rounds back to it


def test_bits_is_the_ieee_pattern():
    """kernels/bits.py: a double's binary64 pattern, as NumPy's view gives it (a subnormal
    m·2^-1074 has pattern m)."""
    import numba
    from bigbrain.kernels.bits import bits

    values = np.array([0.0, -0.0, 5e-324, 3 * 5e-324, TINY, 1.0, -2.5, np.inf])
    patterns = numba.njit(lambda x: np.array([bits(v) for v in x]))(values)
    assert np.array_equal(patterns, values.view(np.int64))
    assert patterns[2] == 1 and patterns[3] == 3
