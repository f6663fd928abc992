"""The Diehl & Cook network of bigbrain.models.diehl_cook written for Brian2: a training
sample timed beside bigbrain's on the same core (``speed``, set beside benchmarks/digits.py
speed) and the held-out accuracy of the same network on the same split (``accuracy``, set
beside benchmarks/digits.py accuracy).

    python benchmarks/digits_brian2.py [speed] --neurons 400 --samples 20 [--target cython]
    python benchmarks/digits_brian2.py accuracy --neurons 400 --epochs 1 --train 1497 --test 300

Same network, with bigbrain's settings for the digits (``DIGITS`` of
bigbrain.models.diehl_cook, the nominal weights and learning rates: see below; options
override them): 64 Poisson inputs (rate = intensity ·
``--max-rate``; ``PoissonGroup``: at most one spike per step, as bigbrain's model input,
``per_step="bernoulli"``), an excitatory layer of conductance-based neurons with the adaptive threshold
(V_th + theta, theta += ``--theta-plus`` per spike, decay ``--tau-theta``) and plastic
input (Diehl & Cook's triplet rule written as NEST's stdp_triplet_synapse with pair
potentiation and triplet depression off: traces incremented by 1, tau_plus = tau_minus =
20 ms, tau_minus_triplet = 40 ms, ``--nu-pre``, ``--nu-post``, wmax 1), an inhibitory layer
driven one-to-one (10.4 nS), inhibition of every other excitatory neuron (17 nS), all delays
1 ms, dt = 0.5 ms; before each presentation the summed input weight of each excitatory
neuron normalised to ``--weight-sum`` in Python, 350 ms shown, 150 ms rest. Two parts of
the paper's code: the excitatory threshold blocked for 50 ms after each spike (their
``timer``, as bigbrain's model; ``--lockout 0`` for none), and, with ``--nearest``, STDP
traces set to 1 at a spike instead of raised by 1.

``accuracy`` follows bigbrain's loop: a sample answered with fewer than 5 excitatory spikes
is shown again with the maximal rate raised by 31.875 Hz (at most 20 times); labels from each
neuron's highest mean response to the training samples in the last epoch; then the test
samples with plasticity and threshold adaptation off (the learned theta held fixed), each
classified by the label whose neurons answer most on average. Prints Markdown rows as
benchmarks/digits.py does.

Brian2 integrates with its default method for these equations (exact for the conductances;
V by exponential Euler at 0.5 ms, each conductance held over the step and an event added
after the update), so each event gives V 1.271 times the exact conductance integral with
tau_syn 1 ms (1.130 with 2 ms): with the paper's nominal weights and learning rates it runs
the network bigbrain's ``DIGITS`` describes, whose weights and rates are the nominal ones
scaled so (``as_simulated``; docs/digits.md, "The Brian2 gap"); the work per sample is the same. ``--method
rk4`` integrates all of it by Runge-Kutta at 0.5 ms instead: each event's conductance
integral within 0.1 % of the exact one, as in bigbrain. Runs in an environment with Brian2 (it needs numpy < 2.4); not a bigbrain import.
``speed`` prints wall-clock and CPU seconds per sample (means over the timed samples, after
two untimed ones that include code generation and compilation), the spikes of the last and
their mean over the timed samples.
"""
import argparse
import time

import numpy as np

#: bigbrain.models.diehl_cook.DIGITS with the nominal weights and learning rates (see above;
#: this script does not import bigbrain)
DIGITS = dict(weight_sum=6.4, max_rate=318.75, theta_plus=0.25, tau_theta=2e6, nu_pre=1e-4,
              nu_post=1e-2)
RATE_STEP, MIN_SPIKES, MAX_TRIES = 31.875, 5, 20


class Network:
    """The network in Brian2; ``plastic`` (1 or 0) switches STDP and threshold adaptation."""

    def __init__(self, b2, n, seed, p):
        self.b2, self.n, self.p = b2, n, p
        b2.seed(seed)
        b2.defaultclock.dt = 0.5 * b2.ms
        ms, mV = b2.ms, b2.mV
        exc = b2.NeuronGroup(n, """
            dv/dt = (-(v - E_L) - ge * v - gi * (v - E_in)) / tau_m : volt (unless refractory)
            dge/dt = -ge / (1 * ms) : 1
            dgi/dt = -gi / (2 * ms) : 1
            dtheta/dt = -plastic * theta / tau_theta : volt
            E_L : volt (shared)
            E_in : volt (shared)
            tau_m : second (shared)
            tau_theta : second (shared)
            theta_plus : volt (shared)
            plastic : 1 (shared)
            lockout : second (shared)
            """, threshold="v > -52 * mV + theta and t - lastspike > lockout",
            reset="v = -65 * mV; theta += plastic * theta_plus", refractory=5 * ms,
            method=p["method"])
        exc.E_L, exc.E_in, exc.tau_m, exc.v = -65 * mV, -100 * mV, 100 * ms, -65 * mV
        exc.tau_theta, exc.theta_plus, exc.plastic = p["tau_theta"] * ms, p["theta_plus"] * mV, 1
        exc.lockout = p["lockout"] * ms
        inh = b2.NeuronGroup(n, """
            dv/dt = (-(v + 60 * mV) - ge * v - gi * (v + 85 * mV)) / (10 * ms) : volt (unless refractory)
            dge/dt = -ge / (1 * ms) : 1
            dgi/dt = -gi / (2 * ms) : 1
            """, threshold="v > -40 * mV", reset="v = -45 * mV", refractory=2 * ms,
            method=p["method"])
        inh.v = -60 * mV
        self.inp = b2.PoissonGroup(64, rates=np.zeros(64) * b2.Hz)
        spike = "= 1" if p["nearest"] else "+= 1"   # a trace set to 1 (nearest spike) or raised by 1
        self.syn = b2.Synapses(self.inp, exc, """
            w : 1
            nu_minus : 1 (shared)
            nu_plus : 1 (shared)
            dpre/dt = -pre / (20 * ms) : 1 (event-driven)
            dpost1/dt = -post1 / (20 * ms) : 1 (event-driven)
            dpost2/dt = -post2 / (40 * ms) : 1 (event-driven)
            """, on_pre=f"ge_post += w; w = clip(w - nu_minus * post1, 0, 1); pre {spike}",
            on_post=f"w = clip(w + nu_plus * pre * post2, 0, 1); post1 {spike}; post2 {spike}",
            delay=1 * ms)
        self.syn.connect()
        self.syn.w = "0.003 + 0.3 * rand()"
        self.syn.nu_minus, self.syn.nu_plus = p["nu_pre"], p["nu_post"]
        ei = b2.Synapses(exc, inh, on_pre="ge_post += 10.4", delay=1 * ms)
        ei.connect(j="i")
        ie = b2.Synapses(inh, exc, on_pre="gi_post += 17.0", delay=1 * ms)
        ie.connect(condition="i != j")
        self.exc, self.spikes = exc, b2.SpikeMonitor(exc, record=False)
        self.net = b2.Network(exc, inh, self.inp, self.syn, ei, ie, self.spikes)
        self.post = np.asarray(self.syn.j[:])

    def freeze(self):
        """Test mode: weights and thresholds fixed."""
        self.syn.nu_minus, self.syn.nu_plus, self.exc.plastic = 0.0, 0.0, 0

    def normalise(self):
        w = np.asarray(self.syn.w[:])
        sums = np.bincount(self.post, w, minlength=self.n)
        self.syn.w[:] = w * (self.p["weight_sum"] / sums[self.post])

    def present(self, image, rate):
        """Each excitatory neuron's spikes during 350 ms of ``image`` at ``rate`` Hz (then
        150 ms of rest)."""
        b2 = self.b2
        before = np.asarray(self.spikes.count[:]).copy()
        self.inp.rates = image * rate * b2.Hz
        self.net.run(350 * b2.ms)
        counts = np.asarray(self.spikes.count[:]) - before
        self.inp.rates = 0 * b2.Hz
        self.net.run(150 * b2.ms)
        return counts

    def respond(self, image, plastic=True):
        """bigbrain's DiehlCook.respond: shown again at a higher rate while too silent."""
        rate = self.p["max_rate"]
        for _ in range(MAX_TRIES):
            if plastic:
                self.normalise()
            r = self.present(image, rate)
            if r.sum() >= MIN_SPIKES:
                break
            rate += RATE_STEP
        return r


def assign_labels(responses, labels):
    """Each neuron's class of highest mean response (bigbrain's assign_labels)."""
    means = np.stack([responses[labels == k].mean(axis=0) if (labels == k).any()
                      else np.full(responses.shape[1], -1.0) for k in range(10)])
    return means.argmax(axis=0)


def predict(responses, assignments):
    """The class whose neurons answer most on average (bigbrain's predict)."""
    scores = np.stack([responses[:, assignments == k].mean(axis=1) if (assignments == k).any()
                       else np.full(len(responses), -1.0) for k in range(10)], axis=1)
    return scores.argmax(axis=1)


def digits(n_test=300):
    """bigbrain's load_digits: the first 1,797 - n_test train, the last n_test test."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.images.reshape(len(d.images), -1) / d.images.max()
    cut = len(x) - n_test
    return x[:cut], d.target[:cut], x[cut:], d.target[cut:]


def accuracy(args, b2, p):
    x, y, xt, yt = digits()
    x, y, xt, yt = x[:args.train], y[:args.train], xt[:args.test], yt[:args.test]
    model = Network(b2, args.neurons, args.seed, p)
    responses = np.zeros((len(x), args.neurons), np.int64)
    t0 = time.perf_counter()
    for epoch in range(max(args.epochs)):
        for i in range(len(x)):
            responses[i] = model.respond(x[i])
            if args.progress and (i + 1) % 100 == 0:
                print(f"epoch {epoch} sample {i + 1}: "
                      f"{(epoch * len(x) + i + 1) / (time.perf_counter() - t0):.2f} samples/s",
                      flush=True)
    train_s = time.perf_counter() - t0
    model.freeze()
    test = np.stack([model.respond(image, plastic=False) for image in xt])
    correct = predict(test, assign_labels(responses, y)) == yt
    print("| neurons | epochs | train samples | test samples | accuracy | s per training sample |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {args.neurons} | {max(args.epochs)} | {len(x)} | {len(xt)} | "
          f"{100 * correct.mean():.1f} % | {train_s / (max(args.epochs) * len(x)):.2f} |")


def speed(args, b2, p):
    images = digits(0)[0]
    model = Network(b2, args.neurons, args.seed, p)
    times, spikes = [], []
    for k in range(args.samples + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        model.normalise()
        spikes.append(int(model.present(images[k], p["max_rate"]).sum()))
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = np.mean(times[2:], axis=0)
    print(f"| Brian2 {b2.__version__} ({args.target}) | {args.neurons} | {wall:.3f} | {cpu:.3f} | "
          f"{spikes[-1]} | {np.mean(spikes[2:]):.1f} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="?", default="speed", choices=["speed", "accuracy"])
    p.add_argument("--neurons", type=int, default=400)
    p.add_argument("--samples", type=int, default=20, help="timed samples (speed)")
    p.add_argument("--epochs", type=int, nargs="+", default=[1], help="accuracy: the largest")
    p.add_argument("--train", type=int, default=1497)
    p.add_argument("--test", type=int, default=300)
    p.add_argument("--progress", action="store_true")
    p.add_argument("--target", default="cython", choices=["cython", "numpy"])
    p.add_argument("--seed", type=int, default=1)
    for name in DIGITS:
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None)
    p.add_argument("--lockout", type=float, default=50.0,
                   help="ms after a spike in which the excitatory threshold is blocked "
                        "(default 50, the paper's code, as bigbrain's --lockout; 0: none)")
    p.add_argument("--method", default="exponential_euler", choices=["exponential_euler", "rk4"],
                   help="Brian2's integrator (rk4: the conductance integrals within 0.1 %% of "
                        "the exact ones, as bigbrain's)")
    p.add_argument("--nearest", action="store_true",
                   help="STDP traces set to 1 at a spike (the paper's code) instead of raised by 1")
    args = p.parse_args()
    import brian2 as b2
    b2.prefs.codegen.target = args.target
    params = {k: getattr(args, k) if getattr(args, k) is not None else v
              for k, v in DIGITS.items()}
    params.update(lockout=args.lockout, nearest=args.nearest, method=args.method)
    (accuracy if args.what == "accuracy" else speed)(args, b2, params)


if __name__ == "__main__":
    main()
