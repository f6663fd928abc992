"""The Brunel network (classic parameters) fires like NEST's: mean rate and ISI CV within 10 %.

NEST's figures are in tests/data/nest_brunel_stats.json, produced by
``python benchmarks/nest_brunel.py --stats --seeds 1 2 3 --threads 2`` (NEST 3.10.0):
mean rate 37.60 Hz, mean CV 0.422 over all 12,500 neurons, spikes after 100 ms of 1 s.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.models import brunel

NEST = json.loads((Path(__file__).parent / "data" / "nest_brunel_stats.json").read_text())


def rate_and_cv(times, gids, n, t_start, t_stop):
    """Mean rate (Hz) over n neurons and mean ISI CV (ddof 0) over neurons with >= 3 spikes."""
    keep = times > t_start
    times, gids = times[keep], gids[keep]
    order = np.lexsort((times, gids))
    t, g = times[order], gids[order]
    isi, same = np.diff(t), g[1:] == g[:-1]
    owner = g[1:][same]
    count = np.bincount(owner, minlength=n)
    mean = np.bincount(owner, isi[same], minlength=n) / np.maximum(count, 1)
    var = np.bincount(owner, isi[same] ** 2, minlength=n) / np.maximum(count, 1) - mean**2
    ok = count >= 2
    cv = np.sqrt(np.maximum(var[ok], 0)) / mean[ok]
    return len(t) / n / ((t_stop - t_start) * 1e-3), cv.mean()


@pytest.mark.slow
def test_rate_and_cv_match_nest():
    net = bb.Network(dt=NEST["dt_ms"], seed=1)
    exc, inh = brunel(net, N=NEST["N"], g=5.0, eta=2.0, J=0.1, delay=1.5)
    net.record(exc, "spikes")
    net.record(inh, "spikes")
    result = net.run(NEST["t_sim_ms"])
    t_e, i_e = result.spikes("E")
    t_i, i_i = result.spikes("I")
    times = np.concatenate([t_e, t_i])
    gids = np.concatenate([i_e, i_i + exc.size])
    rate, cv = rate_and_cv(times, gids, NEST["N"], *NEST["window_ms"])
    assert rate == pytest.approx(NEST["mean"]["rate_hz"], rel=0.10)
    assert cv == pytest.approx(NEST["mean"]["cv_isi"], rel=0.10)
