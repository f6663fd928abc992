"""Train a tiny Diehl & Cook network (bigbrain.models.diehl_cook) and save weights, theta,
responses and test predictions to ``argv[1]`` (.npz, rank 0). ``argv[2]``: "train" (4
samples, then evaluate) or "resume" (continue ``argv[3]``'s archive from its checkpoint)
or "start" (2 samples into that archive, checkpointed, then stop)."""
import sys

import numpy as np

from bigbrain.models import diehl_cook as dc
from bigbrain.models.synapses import Hardware

out, mode = sys.argv[1], sys.argv[2]
x, y, xt, yt = dc.load_digits()
args = dict(dc.DIGITS, n_neurons=6, out=None, present_ms=60.0, rest_ms=20.0,
            hardware=Hardware(bits=3, stochastic=True, noise=0.05))
if mode == "train":
    r = dc.diehl_cook(x[:4], y[:4], xt[:3], yt[:3], **args)
elif mode == "start":
    r = dc.diehl_cook(x[:4], y[:4], xt[:3], yt[:3], archive=sys.argv[3], checkpoint_every=1,
                      stop_after=2, **args)
else:
    r = dc.diehl_cook(x[:4], y[:4], xt[:3], yt[:3], archive=sys.argv[3], checkpoint_every=1,
                      resume=True, **args)
if r["network"].rank == 0:
    np.savez(out, weights=r["weights"], theta=r["theta"], responses=r["state"].responses,
             predictions=r.get("predictions", np.zeros(0)))
