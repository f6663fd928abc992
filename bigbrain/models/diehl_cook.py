"""Unsupervised digit learning after Diehl & Cook (2015, Front. Comput. Neurosci. 9:99).

One Poisson source per pixel (one generator group with a rate per generator, at most one
spike per step as the paper's Brian ``PoissonGroup``: ``per_step="bernoulli"``; each relayed
by a ``parrot_neuron`` so that every excitatory neuron sees the same train: a generator
gives each of its synapses its own train, as NEST's), rate ∝ intensity (63.75 Hz at full intensity, the paper's
255/4 Hz; sklearn's 0–16 digits scaled to it); an excitatory layer of
``iaf_cond_exp_adaptive`` neurons with all-to-all plastic input (``bb.TripletSTDP`` set up as
Diehl & Cook's rule, see README); an inhibitory layer driven one-to-one that inhibits every
other excitatory neuron. Each sample is shown for 350 ms, then 150 ms of rest; when the
excitatory layer answers with fewer than 5 spikes the sample is shown again with the
maximal rate raised by 31.875 Hz (their intensity step). Before each sample each
excitatory neuron's summed input weight is normalised to ``weight_sum`` (``conn.normalise``;
``conn.get`` / ``conn.set`` with the hardware model), then quantised and perturbed as :class:`bigbrain.models.synapses.Hardware`
says (where the weights are written). Neuron labels: the class with the highest mean
response over the last epoch; a sample is classified by the label whose neurons answer
most on average. Evaluation runs a copy of the network with the learned weights and
thresholds frozen, the paper's test mode (static synapses; the excitatory neurons' theta
held at the learned one: no adaptation, no decay). ``lockout_ms``: the paper's threshold
lockout (its Brian ``timer``: no threshold crossing for 50 ms after a spike, V integrating
once the 5 ms refractory period is over), in training and in the test mode; 50 by default,
0 for none (``iaf_cond_exp_adaptive``'s ``t_lockout``).

Units: ms, mV, nS (weights are peak conductances; g_L = 1 nS makes them the paper's
dimensionless conductances), Hz. ``present_ms`` / ``rest_ms`` shorten the presentation
for tests.
"""
import math
import time

import numpy as np

from ..errors import ModelError
from .synapses import Hardware

#: Diehl & Cook's neuron parameters (their Brian code): membrane time constants 100 ms
#: (excitatory) and 10 ms (inhibitory) as C_m / g_L with g_L = 1 nS. Substeps of 0.25 ms
#: (``h_max``; their Brian code takes Euler steps of 0.5 ms): the fastest time constant is
#: about 0.8 ms (an inhibitory neuron during an excitatory input), and V_m stays within
#: 2e-3 mV of the integration at 0.05 ms (tests/test_cond.py) at a fifth of its cost.
EXCITATORY = dict(E_L=-65.0, V_reset=-65.0, V_th=-52.0, V_m=-65.0, t_ref=5.0, C_m=100.0,
                  g_L=1.0, E_ex=0.0, E_in=-100.0, tau_syn_ex=1.0, tau_syn_in=2.0,
                  theta_plus=0.05, tau_theta=1e7, tau_minus=20.0, tau_minus_triplet=40.0,
                  h_max=0.25)
INHIBITORY = dict(E_L=-60.0, V_reset=-45.0, V_th=-40.0, V_m=-60.0, t_ref=2.0, C_m=10.0,
                  g_L=1.0, E_ex=0.0, E_in=-85.0, tau_syn_ex=1.0, tau_syn_in=2.0, h_max=0.25)
PRESENT_MS, REST_MS = 350.0, 150.0
#: tau_theta (ms) of the test mode, whose theta must not decay: the largest double (tau_theta
#: must be finite), for which exp(−dt/tau_theta) rounds to 1 exactly (dt below 1e292 ms).
NO_DECAY = float(np.finfo(np.float64).max)
MAX_RATE, RATE_STEP, MIN_SPIKES, MAX_TRIES = 63.75, 31.875, 5, 20


class Config:
    """Parameters of the model: sizes, learning rates (nu_pre, nu_post), the summed input
    weight each excitatory neuron is normalised to (``weight_sum``; None: the paper's 0.1
    per input, 78.4 for MNIST's 784, their 78), weights E→I and I→E (nS), dt (ms), seed, hardware synapses,
    threshold adaptation (theta_plus mV per spike, decay tau_theta ms), the threshold lockout
    after a spike (``lockout_ms``, ms; the paper's code's 50 by default, 0: none), what an input train
    carries into a step (``per_step``: ``"bernoulli"``, at most one spike, as Brian's
    ``PoissonGroup`` in the paper's code, or ``"poisson"``, NEST's ``poisson_generator``).
    Defaults: the paper's (MNIST); :data:`DIGITS` for scikit-learn's digits."""

    def __init__(self, n_neurons=100, nu_pre=1e-4, nu_post=1e-2, wmax=1.0, weight_sum=None,
                 w_ei=10.4, w_ie=17.0, dt=0.5, seed=1, hardware=None, max_rate=MAX_RATE,
                 present_ms=PRESENT_MS, rest_ms=REST_MS, theta_plus=0.05, tau_theta=1e7,
                 per_step="bernoulli", lockout_ms=50.0):
        if isinstance(n_neurons, bool) or not isinstance(n_neurons, (int, np.integer)) \
                or n_neurons < 1:
            raise ModelError("n_neurons", f"must be an integer >= 1, got {n_neurons!r}")
        self.n_neurons, self.nu_pre, self.nu_post, self.wmax = int(n_neurons), nu_pre, nu_post, wmax
        self.weight_sum, self.w_ei, self.w_ie, self.dt, self.seed = weight_sum, w_ei, w_ie, dt, seed
        self.hardware = hardware or Hardware()
        self.max_rate, self.present_ms, self.rest_ms = max_rate, present_ms, rest_ms
        self.theta_plus, self.tau_theta, self.per_step = theta_plus, tau_theta, per_step
        self.lockout_ms = lockout_ms


def held_drive(tau_syn, dt=0.5):
    """How much conductance integral one spike gives V, relative to the exact one (τ·w), in
    a simulation that holds each conductance at its value at the start of an Euler step of
    ``dt`` ms, the spike added at the end of its step (the paper's Brian code at 0.5 ms;
    Brian2's exponential Euler): dt·Σ_k e^(−k·dt/τ) / τ = (dt/τ) / (1 − e^(−dt/τ)).
    1.271 for ``tau_syn`` = 1 ms, 1.130 for 2 ms."""
    x = dt / tau_syn
    return x / -math.expm1(-x)


def as_simulated(weight_sum):
    """The paper's weights (nS; :class:`Config`'s defaults, ``weight_sum`` given) and
    learning rates as its Euler steps of dt delivered them (:func:`held_drive`): input
    weights, their learning rates and E→I × 1.271 (excitatory conductances, tau_syn 1 ms),
    I→E × 1.130 (inhibitory, 2 ms). bigbrain integrates the conductances exactly, so the
    nominal values give a weaker network than the one whose accuracy the paper reports (and
    Brian2 runs)."""
    paper = Config()
    ex = held_drive(EXCITATORY["tau_syn_ex"], paper.dt)
    return dict(weight_sum=weight_sum * ex, nu_pre=paper.nu_pre * ex,
                nu_post=paper.nu_post * ex, wmax=paper.wmax * ex,
                w_ei=paper.w_ei * held_drive(INHIBITORY["tau_syn_ex"], paper.dt),
                w_ie=paper.w_ie * held_drive(EXCITATORY["tau_syn_in"], paper.dt))


#: Parameters for scikit-learn's 8×8 digits (README, "Parameters for the digits"): the
#: paper's 0.1 nS per input (weight_sum 6.4 for 64, their 78 for 784) and its other weights
#: and learning rates as its simulation delivered them (:func:`as_simulated`); the maximal
#: rate ×5 (318.75 Hz) so that the summed input rate (64 pixels of mean intensity 0.30) is
#: about MNIST's (784 of mean 0.13 at 63.75 Hz), which gives a neuron MNIST's number of
#: input spikes per threshold crossing; theta_plus ×5 and tau_theta /5, so that ~1,500
#: samples adapt the thresholds as the paper's 60,000 do while the equilibrium threshold
#: (theta_plus × rate × tau_theta) stays the paper's.
DIGITS = dict(as_simulated(6.4), max_rate=318.75, theta_plus=0.25, tau_theta=2e6)


def check_data(images, labels, where="images"):
    """(images as float64 (n, pixels) in [0, 1], labels as int64) or a ModelError naming the
    argument: images 2-D or 3-D, finite, non-negative; labels one per image."""
    x = np.asarray(images, dtype=np.float64) if images is not None else None
    if x is None or x.ndim not in (2, 3) or x.shape[0] == 0 or x.size == 0:
        raise ModelError(where, "expected an array of images (n, height, width) or (n, pixels), "
                         f"got shape {None if x is None else x.shape}")
    x = x.reshape(len(x), -1)
    if not np.isfinite(x).all():
        raise ModelError(where, "contains NaN or infinite intensities")
    if (x < 0).any():
        raise ModelError(where, f"intensities must be >= 0, got {x.min()}")
    label_where = where.replace("images", "labels")
    if labels is None:
        raise ModelError(label_where, "missing: give one label per image")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ModelError(label_where, f"has {y.size} labels for {len(x)} images")
    if y.dtype.kind not in "iu":
        raise ModelError(label_where, f"must be integers, got dtype {y.dtype}")
    peak = x.max()
    return (x / peak if peak > 0 else x), y.astype(np.int64)


class DiehlCook:
    """The network (built on ``net``) and its training loop. ``net`` may be a network
    resumed from a checkpoint: then ``resumed=True`` looks the parts up by name."""

    def __init__(self, net, config, n_inputs, resumed=False, frozen=None):
        """``frozen``: None (plastic input) or (weights, theta) of a trained network, kept fixed."""
        import bigbrain as bb
        self.net, self.config, self.n_inputs = net, config, n_inputs
        c = config
        if resumed:
            self.gen = net.populations["input"]
            self.E = net.populations["E"]
            self.conn = net.connections[1]
            return
        self.gen = net.poisson("input", rate=0.0, size=n_inputs,   # one rate per pixel
                               per_step=c.per_step)
        X = net.population("X", n_inputs, "parrot_neuron")
        net.connect(self.gen, X, rule="one_to_one", weight=1.0, delay=c.dt)
        adaptation = dict(theta_plus=c.theta_plus, tau_theta=c.tau_theta) if frozen is None \
            else dict(theta=np.asarray(frozen[1], np.float64), theta_plus=0.0,  # test mode:
                      tau_theta=NO_DECAY)                                   # theta held
        self.E = net.population("E", c.n_neurons, "iaf_cond_exp_adaptive", **{
            **EXCITATORY, **adaptation, "t_lockout": c.lockout_ms})
        inh = net.population("I", c.n_neurons, "iaf_cond_exp", **INHIBITORY)
        rule = None if frozen is not None else bb.TripletSTDP(
            tau_plus=20.0, Aplus=0.0, Aminus=c.nu_pre, Aplus_triplet=c.nu_post,
            Aminus_triplet=0.0, Wmax=c.wmax)
        self.conn = net.connect(X, self.E, weight=bb.uniform(0.003, 0.303), delay=1.0,
                                synapse=rule)
        net.connect(self.E, inh, rule="one_to_one", weight=c.w_ei, delay=1.0)
        pre, post = np.nonzero(~np.eye(c.n_neurons, dtype=bool))   # every other neuron
        if len(pre):
            net.connect(inh, self.E, rule="explicit", sources=pre, targets=post,
                        weight=-c.w_ie, delay=1.0)
        net.record(self.E, "spikes")
        if frozen is not None:
            net.build()
            self.conn.set(weight=np.asarray(frozen[0]).ravel())

    @property
    def target_sum(self):
        c = self.config
        return c.weight_sum if c.weight_sum is not None else 0.1 * self.n_inputs

    def normalise(self, sample_index):
        """Scale each excitatory neuron's input weights to sum to the target, then write them
        through the hardware model (quantisation, write noise). Ideal synapses are scaled
        where they are stored (``conn.normalise``: the same bits, nothing gathered)."""
        if self.config.hardware.ideal:
            self.conn.normalise(self.target_sum, self.config.wmax)
            return
        w = self.conn.get("weight").reshape(self.config.n_neurons, self.n_inputs)
        sums = w.sum(axis=1, keepdims=True)
        w = np.where(sums > 0, w * (self.target_sum / np.where(sums > 0, sums, 1.0)), w)
        w = self.config.hardware.write(np.clip(w, 0.0, self.config.wmax), self.config.wmax,
                                       self.config.seed, sample_index)
        self.conn.set(weight=w.ravel())

    def respond(self, image, before=None):
        """Present ``image`` (:meth:`present`), again with the maximal rate raised by
        RATE_STEP while the layer answers with fewer than MIN_SPIKES spikes (at most
        MAX_TRIES times); ``before()`` runs before each presentation. Returns the counts."""
        rate = self.config.max_rate
        for _ in range(MAX_TRIES):
            if before is not None:
                before()
            r = self.present(image, rate)
            if r.sum() >= MIN_SPIKES:
                break
            rate += RATE_STEP
        return r

    def present(self, image, rate):
        """Show ``image`` (intensities in [0, 1]) at maximal rate ``rate`` Hz for 350 ms
        (``present_ms``), rest 150 ms (``rest_ms``); return each excitatory neuron's spike
        count during the presentation."""
        self.net.set(self.gen, rate=np.asarray(image, np.float64) * rate)
        start = self.net.time
        result = self.net.run(self.config.present_ms)
        self.net.set(self.gen, rate=0.0)
        self.net.run(self.config.rest_ms)
        return counts(result, "E", start, start + self.config.present_ms, self.config.n_neurons)


def counts(result, name, since, until, n):
    """Spikes per neuron of population ``name`` with time stamps in (since, until] (ms); an
    archive's result reads later records too, hence the upper bound."""
    times, ids = result.spikes(name)
    lo, hi = np.searchsorted(times, [since, until], side="right")
    return np.bincount(ids[lo:hi], minlength=n)


def assign_labels(responses, labels, n_classes=10):
    """Each neuron's label: the class with its highest mean response (responses: samples ×
    neurons)."""
    means = np.stack([responses[labels == k].mean(axis=0) if (labels == k).any()
                      else np.full(responses.shape[1], -1.0) for k in range(n_classes)])
    return means.argmax(axis=0)


def predict(responses, assignments, n_classes=10):
    """Class of each sample: the label whose neurons answered most on average."""
    scores = np.stack([responses[:, assignments == k].mean(axis=1) if (assignments == k).any()
                       else np.full(len(responses), -1.0) for k in range(n_classes)], axis=1)
    return scores.argmax(axis=1)


class Progress:
    """Prints samples per second and the running accuracy (rank 0)."""

    def __init__(self, total, rank, every=50, out=print):
        self.total, self.rank, self.every, self.out = total, rank, every, out
        self.t0, self.done = time.perf_counter(), 0

    def step(self, epoch, index, correct):
        self.done += 1
        if self.rank == 0 and self.out and (self.done % self.every == 0 or self.done == self.total):
            rate = self.done / (time.perf_counter() - self.t0)
            acc = f"{100 * np.mean(correct[-500:]):.1f} %" if correct else "-"
            self.out(f"epoch {epoch} sample {index + 1}: {rate:.2f} samples/s, running "
                     f"accuracy {acc} (last {min(len(correct), 500)})")


class TrainingState:
    """Where training stands: epoch, next sample, write counter, last responses per training
    sample (samples × neurons), which rows hold one, running predictions (1/0)."""

    def __init__(self, n_train, n_neurons):
        self.epoch = self.index = self.writes = 0
        self.responses = np.zeros((n_train, n_neurons), np.int64)
        self.seen = np.zeros(n_train, bool)
        self.correct = []

    def save(self, path, step):
        """Rank 0: store the state in the archive beside checkpoint ``step``."""
        import zarr
        root = zarr.open_group(path, mode="r+", zarr_format=3)
        group = root.require_group("training").create_group(str(step), overwrite=True)
        for name in ("responses", "seen"):
            value = getattr(self, name)
            group.create_array(name, shape=value.shape, dtype=value.dtype)[...] = value
        group.attrs.update(epoch=self.epoch, index=self.index, writes=self.writes,
                           correct=list(map(int, self.correct)))

    @classmethod
    def load(cls, path, step):
        import zarr
        group = zarr.open_group(path, mode="r", zarr_format=3)[f"training/{step}"]
        state = cls(*group["responses"].shape)
        state.responses, state.seen = group["responses"][...], group["seen"][...]
        for key in ("epoch", "index", "writes", "correct"):
            setattr(state, key, group.attrs[key])
        return state


def train(model, images, labels, epochs, state, checkpoint_every=None, stop_after=None,
          out=print):
    """Train ``model`` for ``epochs`` epochs from ``state``; checkpoint (archive and training
    state) every ``checkpoint_every`` samples; return after ``stop_after`` samples if given
    (for tests of resume). Returns the state."""
    net = model.net
    progress = Progress(epochs * len(images) - state.epoch * len(images) - state.index,
                        net.rank, out=out)
    done = 0
    while state.epoch < epochs:
        while state.index < len(images):
            i = state.index

            def write():
                model.normalise(state.writes)
                state.writes += 1

            r = model.respond(images[i], before=write)
            if state.seen.any():
                assigned = assign_labels(state.responses[state.seen], labels[state.seen])
                state.correct.append(int(predict(r[None], assigned)[0] == labels[i]))
            state.responses[i], state.seen[i] = r, True
            state.index += 1
            done += 1
            progress.step(state.epoch, i, state.correct)
            if checkpoint_every and done % checkpoint_every == 0:
                checkpoint(model, state)
            if stop_after is not None and done >= stop_after:
                return state
        state.epoch, state.index = state.epoch + 1, 0
    return state


def checkpoint(model, state):
    """Write an archive checkpoint now and the training state beside it (collective)."""
    sim = model.net._simulation
    sim.archive.checkpointer.write(sim.step, "training")
    if model.net.rank == 0:
        state.save(sim.archive.path, sim.step)
    model.net.comm.mpi.Barrier()


def evaluate(model, images):
    """Responses (samples × neurons) of a frozen copy of ``model`` to ``images``."""
    import bigbrain as bb
    c = model.config
    frozen = (model.conn.get("weight"), model.net.get(model.E, "theta"))
    net = bb.Network(dt=c.dt, seed=c.seed + 1, comm=model.net.comm.mpi)
    test = DiehlCook(net, c, model.n_inputs, frozen=frozen)
    out = np.zeros((len(images), c.n_neurons), np.int64)
    for i, image in enumerate(images):
        out[i] = test.respond(image)
    return out


def diehl_cook(images, labels, test_images, test_labels, n_neurons=100, epochs=1,
               archive=None, checkpoint_every=None, resume=False, comm=None, out=print,
               stop_after=None, **config):
    """Train on (images, labels), assign labels, evaluate on (test_images, test_labels).

    ``archive``: a zarr path for the learned weights (group ``learned``); with
    ``checkpoint_every`` (samples) it is the run's bigbrain archive, checkpointed then (its
    records cost about 0.1–0.3 s per ``run`` call on a loaded machine, hence off otherwise);
    ``resume``: continue the archive's run from its latest checkpoint (any rank count). ``config``:
    :class:`Config`'s parameters. Returns a dict: weights (neurons × pixels), theta (mV),
    assignments, predictions, accuracy, confusion (true × predicted), train_time_s,
    samples."""
    import bigbrain as bb
    x, y = check_data(images, labels, "images")
    xt, yt = check_data(test_images, test_labels, "test_images")
    if xt.shape[1] != x.shape[1]:
        raise ModelError("test_images", f"have {xt.shape[1]} pixels, the training images "
                         f"{x.shape[1]}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ModelError("epochs", f"must be an integer >= 1, got {epochs!r}")
    c = Config(n_neurons=n_neurons, **config)
    if resume:
        net = bb.resume(archive, comm=comm)
        model = DiehlCook(net, c, x.shape[1], resumed=True)
        state = TrainingState.load(archive, net._simulation.step)
    else:
        store = None if archive is None or not checkpoint_every else bb.Archive(archive, overwrite=True, checkpoint_at_end=False,
                                                          flush_every=c.present_ms + c.rest_ms)
        net = bb.Network(dt=c.dt, seed=c.seed, comm=comm, archive=store)
        model = DiehlCook(net, c, x.shape[1])
        net.build()
        state = TrainingState(len(x), c.n_neurons)
    t0 = time.perf_counter()
    state = train(model, x, y, epochs, state, checkpoint_every, stop_after, out)
    train_time = time.perf_counter() - t0
    weights = model.conn.get("weight").reshape(c.n_neurons, x.shape[1])
    result = dict(weights=weights, theta=net.get(model.E, "theta"), train_time_s=train_time,
                  state=state, network=net)
    if stop_after is not None:
        return result
    assignments = assign_labels(state.responses[state.seen], y[state.seen])
    responses = evaluate(model, xt)
    predictions = predict(responses, assignments)
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (yt, predictions), 1)
    result.update(assignments=assignments, predictions=predictions, confusion=confusion,
                  accuracy=float(np.mean(predictions == yt)), test_labels=yt)
    if archive is not None and net.rank == 0:
        save_learned(archive, result)
    return result


def save_learned(path, result):
    """Write group ``learned`` (weights neurons × pixels, theta mV, assignments, confusion,
    accuracy) into the zarr store at ``path`` (the run's archive, or a new store)."""
    import zarr
    root = zarr.open_group(str(path), mode="a", zarr_format=3)
    group = root.create_group("learned", overwrite=True)
    for name in ("weights", "theta", "assignments", "confusion"):
        value = np.asarray(result[name])
        group.create_array(name, shape=value.shape, dtype=value.dtype)[...] = value
    group.attrs.update(accuracy=result["accuracy"], train_time_s=result["train_time_s"])


def load_digits(n_test=300):
    """scikit-learn's bundled digits (8×8, 0–16, 1,797 images): the first 1,797 − ``n_test``
    train, the last ``n_test`` test (a fixed split). Returns (x, y, x_test, y_test)."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise ModelError("dataset", "the digits need scikit-learn: pip install 'bigbrain[learn]'") from None
    d = sk_digits()
    cut = len(d.images) - n_test
    return d.images[:cut], d.target[:cut], d.images[cut:], d.target[cut:]


def read_idx(path):
    """An array from an MNIST idx file (uncompressed or .gz) at ``path``."""
    import gzip
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ModelError("mnist", f"cannot read {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ModelError("mnist", f"{path} is not an idx file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != np.prod(shape):
        raise ModelError("mnist", f"{path}: expected {np.prod(shape)} values, found {body.size}")
    return body.reshape(shape)
