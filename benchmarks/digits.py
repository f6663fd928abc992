"""Diehl & Cook digit learning on scikit-learn's digits (bigbrain.models.diehl_cook).

    python benchmarks/digits.py accuracy --neurons 100 400 --epochs 1 --train 200 --test 100
    python benchmarks/digits.py bits --neurons 100 --train 200 --test 100 [--stochastic] [--bits 2 4 float64]
    python benchmarks/digits.py overhead --neurons 400 6400
    python benchmarks/digits.py speed --neurons 400 --samples 20

``accuracy``: held-out accuracy and training time per sample for each size; ``bits``:
accuracy against weight bits (``--bits``, default 1, 2, 3, 4, 6, 8, float64), weights
quantised after each sample's normalisation; ``overhead``: per-sample cost (CPU µs) of changing the 64 rates,
normalising the weights (get + set), reading the spike counts, and an empty run call,
beside the CPU seconds of one presentation (350 + 150 ms) and the overhead's share of it;
``speed``: wall-clock and CPU seconds per training sample (normalise, 350 ms shown, 150 ms
rest) after two untimed samples, the spikes of the last and their mean over the timed ones,
to set beside benchmarks/digits_brian2.py (Brian2, same network) run on the same core.
Prints one line per configuration (Markdown table rows).
"""
import argparse
import time

import numpy as np

import bigbrain as bb
from bigbrain.models import diehl_cook as dc
from bigbrain.models.synapses import Hardware


def accuracy(args, bits=(None,)):
    """One training run per size and bits, evaluated on the held-out samples after each
    epoch up to the largest of ``--epochs`` (the epochs listed are printed)."""
    x, y, xt, yt = dc.load_digits()
    x, y = dc.check_data(x[:args.train], y[:args.train])
    xt, yt = dc.check_data(xt[:args.test], yt[:args.test], "test_images")
    print("| neurons | epochs | bits | train samples | test samples | accuracy | s per training sample |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.neurons:
        for b in bits:
            config = dc.Config(n_neurons=n, hardware=Hardware(bits=b, stochastic=args.stochastic),
                               **learning(args))
            net = bb.Network(dt=config.dt, seed=config.seed)
            model = dc.DiehlCook(net, config, x.shape[1])
            net.build()
            state, train_s = dc.TrainingState(len(x), n), 0.0
            for epochs in range(1, max(args.epochs) + 1):
                t0 = time.perf_counter()
                dc.train(model, x, y, epochs, state, out=print if args.progress else None)
                train_s += time.perf_counter() - t0
                if epochs not in args.epochs:
                    continue
                assigned = dc.assign_labels(state.responses, y)
                correct = dc.predict(dc.evaluate(model, xt), assigned) == yt
                print(f"| {n} | {epochs} | {b or 'float64'} | {len(x)} | {len(xt)} | "
                      f"{100 * correct.mean():.1f} % | {train_s / (epochs * len(x)):.2f} |", flush=True)


def learning(args):
    """The digits' learning parameters (``dc.DIGITS``), with the options given instead."""
    given = {k: getattr(args, k) for k in ("nu_pre", "nu_post", "theta_plus", "tau_theta",
                                           "weight_sum", "max_rate", "wmax", "w_ei", "w_ie",
                                           "seed", "per_step", "lockout_ms")
             if getattr(args, k) is not None}
    return {**dc.DIGITS, **given}


def overhead(args, repeats=20):
    """CPU time (``time.process_time``: a loaded machine inflates wall time) of each
    per-sample call and of one presentation."""
    x, *_ = dc.load_digits()
    image = x[0].ravel() / 16.0
    print("| neurons | set 64 rates (µs) | normalise (µs) | spike counts (µs) | run(0) (µs) | "
          "present 350+150 ms (CPU s) | overhead share |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.neurons:
        net = bb.Network(dt=0.5, seed=1)
        model = dc.DiehlCook(net, dc.Config(n_neurons=n, **learning(args)), 64)
        net.build()
        rate = model.config.max_rate
        model.present(image, rate)                 # compiles and warms the loop
        c0 = time.process_time()
        model.present(image, rate)
        sample = time.process_time() - c0
        timings = {}
        for name, call in (
                ("rates", lambda: net.set(model.gen, rate=image * rate)),
                ("normalise", lambda: model.normalise(0)),
                ("counts", lambda: dc.counts(net.run(0.0), "E", 0.0, net.time, n)),
                ("run", lambda: net.run(0.0))):
            call()                                 # once-per-run caches (row order) built
            c0 = time.process_time()
            for _ in range(repeats):
                call()
            timings[name] = (time.process_time() - c0) / repeats * 1e6
        # a sample pays: two rate changes, one normalisation, the counts, two runs
        per_sample = 2 * timings["rates"] + timings["normalise"] + timings["counts"] \
            + timings["run"]
        print(f"| {n} | {timings['rates']:.0f} | {timings['normalise']:.0f} | "
              f"{timings['counts'] - timings['run']:.0f} | {timings['run']:.0f} | {sample:.3f} | "
              f"{100 * per_sample * 1e-6 / sample:.1f} % |", flush=True)


def speed(args):
    x, *_ = dc.load_digits()
    images = x.reshape(len(x), -1) / 16.0
    for n in args.neurons:
        config = dc.Config(n_neurons=n, **learning(args))
        net = bb.Network(dt=config.dt, seed=config.seed)
        model = dc.DiehlCook(net, config, 64)
        net.build()
        times, spikes = [], []
        for k in range(args.samples + 2):
            t0, c0 = time.perf_counter(), time.process_time()
            model.normalise(k)
            spikes.append(model.present(images[k], config.max_rate).sum())
            times.append((time.perf_counter() - t0, time.process_time() - c0))
        wall, cpu = np.mean(times[2:], axis=0)
        print(f"| bigbrain {bb.__version__} | {n} | {wall:.3f} | {cpu:.3f} | {spikes[-1]} | "
              f"{np.mean(spikes[2:]):.1f} |", flush=True)


def weight_bits(text):
    """``--bits`` value: an integer, or None for ``float64``."""
    return None if text == "float64" else int(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["accuracy", "bits", "overhead", "speed"])
    p.add_argument("--neurons", type=int, nargs="+", default=[100])
    p.add_argument("--epochs", type=int, nargs="+", default=[1])
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--test", type=int, default=100)
    p.add_argument("--samples", type=int, default=20, help="timed samples (speed)")
    p.add_argument("--stochastic", action="store_true")
    p.add_argument("--bits", type=weight_bits, nargs="+", default=[1, 2, 3, 4, 6, 8, None],
                   help="weight bits (bits), in the order given; float64: unquantised")
    p.add_argument("--progress", action="store_true", help="print samples/s while training")
    p.add_argument("--nu-pre", type=float, help="depression rate (digits 1.27e-4, paper 1e-4)")
    p.add_argument("--nu-post", type=float, help="potentiation rate (digits 1.27e-2, paper 1e-2)")
    p.add_argument("--theta-plus", type=float, help="mV (digits 0.25, paper 0.05)")
    p.add_argument("--tau-theta", type=float, help="ms (digits 2e6, paper 1e7)")
    p.add_argument("--weight-sum", type=float,
                   help="summed input weight per neuron, nS (digits 8.13, paper 78 for 784)")
    p.add_argument("--max-rate", type=float, help="Hz at full intensity (digits 318.75, paper 63.75)")
    p.add_argument("--wmax", type=float, help="largest input weight, nS (digits 1.27, paper 1)")
    p.add_argument("--w-ei", type=float, help="weight E→I, nS (digits 13.2, paper 10.4)")
    p.add_argument("--w-ie", type=float, help="weight I→E, nS (digits 19.2, paper 17)")
    p.add_argument("--seed", type=int, help="the network's seed (default 1)")
    p.add_argument("--per-step", choices=["poisson", "bernoulli"],
                   help="input spikes per step: at most one (Brian's PoissonGroup, the paper's; "
                        "default) or a Poisson count (NEST's poisson_generator)")
    p.add_argument("--lockout", dest="lockout_ms", type=float, metavar="MS",
                   help="no threshold crossing for MS ms after a spike (default 50, the paper's code; 0: none)")
    args = p.parse_args()
    if args.what == "overhead":
        overhead(args)
    elif args.what == "speed":
        speed(args)
    elif args.what == "bits":
        accuracy(args, bits=args.bits)
    else:
        accuracy(args)


if __name__ == "__main__":
    main()
