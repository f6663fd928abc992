"""The Potjans & Diesmann (2014) microcircuit: structure, and rates at scale 0.1."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain.models.microcircuit import (K_EXT, POPULATIONS, RATES, SIZES, TRANSIENT_MS, full_synapse_numbers,
                                          mean_weights, microcircuit, psc_over_psp)


def test_published_numbers():
    assert SIZES.sum() == 77_169
    assert 0.15 * psc_over_psp(250.0, 10.0, 0.5) == pytest.approx(87.8, abs=0.05)   # pA
    W = mean_weights()
    assert W[0, 2] == pytest.approx(2 * W[1, 2]) and W[3, 1] == pytest.approx(-4 * W[3, 0])
    assert full_synapse_numbers().sum() == pytest.approx(2.99e8, rel=0.01)


def test_scaled_network_has_scaled_sizes_and_synapses():
    net = bb.Network(dt=0.1, seed=1)
    pops = microcircuit(net, scale=0.02)
    assert [pops[n].size for n in POPULATIONS] == list(np.round(SIZES * 0.02).astype(int))
    n_syn = sum(c.rule.N for c in net.connections if c.rule.name == "fixed_total_number")
    assert n_syn == pytest.approx(full_synapse_numbers().sum() * 0.02 ** 2, rel=0.01)
    poisson = [c for c in net.connections if c.rule.name == "all_to_all"]
    assert [c.pre.rate for c in poisson] == list(8.0 * np.round(K_EXT * 0.02))


@pytest.mark.slow
def test_rates_at_scale_0_1_lie_within_bounds_of_the_published_ones():
    """Scale 0.1 in neurons and in-degrees with DC compensation (NEST's example). Rates at
    this scale are 10–55 % below the full-scale ones (reference notes): each population must
    lie in [0.35, 1.15] × its published rate, and the order of the layers' rates holds."""
    net = bb.Network(dt=0.1, seed=55)
    pops = microcircuit(net, scale=0.1)
    result = net.run(TRANSIENT_MS + 500.0)
    rates = np.array([np.count_nonzero(result.spikes(n)[0] > TRANSIENT_MS) / pops[n].size / 0.5
                      for n in POPULATIONS])
    print(dict(zip(POPULATIONS, rates.round(3))))
    assert np.all(rates >= 0.35 * RATES) and np.all(rates <= 1.15 * RATES), rates
    assert np.argmin(rates) == 0 and np.all(rates[1::2] > rates[0::2])    # L23E lowest; I above E
