"""``bigbrain learn digits``: train, label and evaluate the Diehl & Cook (2015) network
(:mod:`bigbrain.models.diehl_cook`) on scikit-learn's digits or on local MNIST idx files,
writing an archive with the learned weights and a report (receptive fields, confusion
matrix)."""
import numpy as np

from .errors import ModelError


def add_parser(sub):
    """Register ``learn`` on the subcommand parser ``sub``."""
    p = sub.add_parser("learn", help="unsupervised digit learning (Diehl & Cook 2015)")
    p.add_argument("dataset", choices=["digits", "mnist"])
    p.add_argument("--neurons", type=int, default=100, help="excitatory neurons (default 100)")
    p.add_argument("--epochs", type=int, default=1, help="passes over the training set")
    p.add_argument("--train", type=int, default=None, help="use the first N training samples")
    p.add_argument("--test", type=int, default=None, help="use the first N test samples")
    p.add_argument("--out", default="digits.zarr", help="archive (weights, checkpoints)")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="SAMPLES")
    p.add_argument("--resume", action="store_true", help="continue --out from its checkpoint")
    p.add_argument("--bits", type=int, default=None, help="weight bits (default float64)")
    p.add_argument("--stochastic", action="store_true", help="stochastic rounding")
    p.add_argument("--write-noise", type=float, default=0.0, help="relative write noise std")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--per-step", choices=["poisson", "bernoulli"], default=None,
                   help="input spikes per step: at most one (Brian's PoissonGroup, the paper's; "
                        "default) or a Poisson count (NEST's poisson_generator)")
    p.add_argument("--lockout", dest="lockout_ms", type=float, default=None, metavar="MS",
                   help="no threshold crossing for MS ms after a spike (default 50, the paper's code; 0: none)")
    p.add_argument("--mnist", nargs=4, metavar=("TRAIN_IMAGES", "TRAIN_LABELS", "TEST_IMAGES",
                   "TEST_LABELS"), help="MNIST idx files (dataset mnist)")
    p.set_defaults(func=cmd_learn)


def cmd_learn(args):
    from .models.diehl_cook import DIGITS, diehl_cook, load_digits, read_idx
    from .models.synapses import Hardware
    if args.dataset == "mnist":
        if not args.mnist:
            raise ModelError("mnist", "give the four idx files: --mnist TRAIN_IMAGES TRAIN_LABELS "
                             "TEST_IMAGES TEST_LABELS")
        x, y, xt, yt = map(read_idx, args.mnist)
        learning = {}                                   # the paper's parameters
    else:
        x, y, xt, yt = load_digits()
        learning = DIGITS
    x, y, xt, yt = x[:args.train], y[:args.train], xt[:args.test], yt[:args.test]
    hardware = Hardware(bits=args.bits, stochastic=args.stochastic, noise=args.write_noise)
    given = {k: getattr(args, k) for k in ("per_step", "lockout_ms") if getattr(args, k) is not None}
    r = diehl_cook(x, y, xt, yt, n_neurons=args.neurons, epochs=args.epochs, archive=args.out,
                   checkpoint_every=args.checkpoint_every, resume=args.resume,
                   hardware=hardware, seed=args.seed, **learning, **given)
    if r["network"].rank == 0:
        from .analysis.digits import write_report
        folder = write_report(r, args.out)
        print(f"accuracy {100 * r['accuracy']:.1f} % on {len(yt)} held-out samples; "
              f"training {r['train_time_s']:.1f} s; report {folder}")
        np.save(f"{args.out}.weights.npy", r["weights"])
    return 0
