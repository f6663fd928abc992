"""CuPy launchers for the CUDA kernels in ``kernels/cuda``: the GPU form of the Numba kernels.

:class:`CudaKernels` has one method per CPU kernel, with the CPU kernel's name and arguments
(:mod:`.lif`, :mod:`.cond`, :mod:`.hh`, :mod:`.delivery`, :mod:`.stdp`), taking CuPy arrays
for the arrays (host arrays are copied to the device). Neuron parameters may be numbers or
per-neuron arrays, as on the CPU: every kernel (``lif.cu``, ``cond.cu``, ``hh.cu``) reads them
through the parameter tables of :mod:`.gpu_params` (kernels/cuda/params.cuh). The
sources are compiled at first use by NVRTC with ``--fmad=false``, so every double operation
rounds as on the CPU, and the results are the CPU kernels' bit for bit:

* all populations of a neuron model advance in one launch (``<model>_segments``, a
  :class:`SegmentTable` of their arguments, kernels/cuda/segments.cuh), which appends the
  spikes to a :class:`SpikeLog` on the device with an atomic counter: nothing waits for
  the device; :meth:`SpikeLog.read` brings them back in one copy when the host needs
  them (the simulation puts them in the CPU's order: population, step, neuron);
* ring-buffer additions are int64 atomics (order-independent, exact); all static
  projections of a rank are delivered by one launch, from host spikes (``deliver_all``)
  or from the spike log on the device (``deliver_log``);
* exponentials of step differences come from tables filled by the CPU's libm
  (:mod:`.exp_tables`);
* STDP groups the interval's spikes by source row: each thread applies its synapse's spikes
  in time order, as the CPU does; weight-recorder events are sorted into the CPU's order.
  Where the spikes are in the device's spike log (one rank), the grouping
  (:meth:`CudaKernels.device_spike_groups`) and the post-synaptic history
  (:meth:`CudaKernels.record_post_spikes`) are computed on the device: nothing uploaded.

Two STDP settings leave the device's own libdevice functions, whose last bit can differ
from glibc's, and so may change weights and spikes; :func:`inexact_stdp` names them and the
simulation warns at the build: ``mu_plus`` / ``mu_minus`` other than 0 and 1 (``w**mu``
from the device's ``pow``), and a time constant so long that its table is cut at
``exp_tables.MAX_LENGTH`` entries before reaching 0 (longer gaps: the device's ``exp``).
So do ``aeif_cond_exp``, ``aeif_cond_alpha`` and ``hh_cond_exp_traub``
(:func:`inexact_model`): their exponential terms (aeif: and spike-time estimate; hh: rate
functions) call ``exp`` and ``pow`` of the state itself, which no host table can hold.

:class:`CudaKernels` works on an array module ``xp`` with a ``launch`` function; the
default is CuPy with :func:`launch` (NVRTC-compiled modules on the current device). The
tests pass NumPy and a launcher that runs the same CUDA sources compiled for the CPU
(tests/cuda_host.py), so everything here except the device itself is checked without a GPU.
"""
import contextlib
import functools
import re
from pathlib import Path

import numpy as np

from . import cond, hh, multisynapse, stiff
from .exp_tables import MAX_LENGTH, exp_div, per_column
from .gpu_params import DeviceParams, address as _address

SOURCES = Path(__file__).resolve().parent / "cuda"
OPTIONS = ("--fmad=false", "--std=c++17", f"-I{SOURCES}")
THREADS = 256
#: Blocks of a deliver_log launch (at most): its blocks stride over the (spike,
#: projection) pairs, whose number the host does not know.
LOG_BLOCKS = 4096
#: Argument tables of batched launches kept on the device, found by their content.
TABLES = 64
MAX_BLOCKS = 2**31 - 1
_NULL = np.uint64(0)
_INDEX_TYPES = {np.dtype(np.uint16): "unsigned short", np.dtype(np.uint32): "unsigned int",
                np.dtype(np.uint8): "unsigned char"}
_TEMPLATE_ARGS = [("unsigned short", "unsigned char"), ("unsigned short", "unsigned short"),
                  ("unsigned int", "unsigned char"), ("unsigned int", "unsigned short")]
_TEMPLATES = {"delivery": "deliver", "stdp": "stdp_synapses"}


def kernel_names():
    """{source: names of its kernels, template instances included} for every
    ``kernels/cuda/*.cu`` (what a device check compiles)."""
    out = {}
    for path in sorted(SOURCES.glob("*.cu")):
        names = re.findall(r'extern "C" __global__ void (\w+)', path.read_text())
        template = _TEMPLATES.get(path.stem)
        out[path.stem] = names + ([f"{template}<{p}, {d}>" for p, d in _TEMPLATE_ARGS]
                                  if template else [])
    return out


@functools.lru_cache(maxsize=None)
def module(name):
    """The compiled ``kernels/cuda/<name>.cu``, with its template kernels instantiated."""
    import cupy
    templates = _TEMPLATES.get(name)
    names = [f"{templates}<{p}, {d}>" for p, d in _TEMPLATE_ARGS] if templates else None
    return cupy.RawModule(code=(SOURCES / f"{name}.cu").read_text(), options=OPTIONS,
                          name_expressions=names)


@functools.lru_cache(maxsize=None)
def function(source, kernel):
    """The kernel object of ``kernel`` in ``kernels/cuda/<source>.cu`` (looked up once)."""
    return module(source).get_function(kernel)


def launch(source, kernel, grid, block, args):
    """Run ``kernel`` of ``kernels/cuda/<source>.cu`` on the current device."""
    function(source, kernel)(grid, block, args)


def inexact_stdp(mu_plus, mu_minus, tau_plus, tau_minus, dt):
    """Why STDP with these parameters (``tau_minus``: of the post-synaptic neurons; ms) may
    differ from the CPU's in the last bit on the device, or None (see the module doc)."""
    why = [f"{name} = {mu}: w**mu comes from the device's pow, not the CPU's libm"
           for name, mu in (("mu_plus", mu_plus), ("mu_minus", mu_minus)) if mu not in (0.0, 1.0)]
    cut = [f"{name} = {tau} ms" for name, tau in [("tau_plus", tau_plus)] +
           [("tau_minus", t) for t in sorted(set(tau_minus))]
           if np.isfinite(tau) and np.exp(-(MAX_LENGTH - 1) * dt / tau) != 0.0]
    if cut:
        why.append(f"{', '.join(cut)}: exponentials of gaps over {MAX_LENGTH} steps come from "
                   "the device's exp, not the CPU's libm")
    return "; ".join(why) or None


def inexact_model(model):
    """Why a population of ``model`` may differ from the CPU's in the last bit on the
    device, or None: the aeif models' exponential term and its spike-time estimate within a
    substep call exp and pow, hh_cond_exp_traub's rate functions exp, which are the
    device's (libdevice), not the CPU's libm; the other models use + − × ÷ and
    propagators computed on the host only."""
    if model == "hh_cond_exp_traub":
        return "its rate functions use the device's exp, not the CPU's libm"
    if model not in ("aeif_cond_exp", "aeif_cond_alpha"):
        return None
    return ("its exponential term and spike-time estimate use the device's exp and pow, "
            "not the CPU's libm")


def template_name(kernel, post, delay):
    """``kernel<Post, Delay>`` for the dtypes of the post and delay arrays (an empty delay
    array, homogeneous delays, takes the uint8 instance)."""
    delay_type = _INDEX_TYPES[delay.dtype] if delay.size else "unsigned char"
    return f"{kernel}<{_INDEX_TYPES[post.dtype]}, {delay_type}>"


def _blocks(n, threads=THREADS):
    return (max(1, min(MAX_BLOCKS, -(-int(n) // threads))),)


def _i64(*values):
    return tuple(np.int64(v) for v in values)


def _f64(*values):
    return tuple(np.float64(v) for v in values)


def spike_groups(src_gid, src_step, gid_lo, span):
    """The spikes (time-ordered) of sources with a row here, grouped by row: (rows, group
    pointers, stamps and positions in the time-ordered list of the grouped spikes)."""
    rows = src_gid - gid_lo
    pos = np.flatnonzero((rows >= 0) & (rows < span))
    pos = pos[np.argsort(rows[pos], kind="stable")]
    first = np.r_[True, rows[pos][1:] != rows[pos][:-1]] if len(pos) else np.zeros(0, bool)
    group_ptr = np.r_[np.flatnonzero(first), len(pos)].astype(np.int64)
    return rows[pos][first], group_ptr, src_step[pos] + 1, pos


#: What :attr:`CudaKernels.counts` counts: kernel launches, waits for the device,
#: device-to-host and host-to-device copies (the backend's to_host / asarray included).
COUNTS = ("launches", "syncs", "to_host", "to_device")


class CudaKernels:
    """The kernels on a device: array module ``xp`` (CuPy), ``launch(source, kernel, grid,
    block, args)``. Caches the exp tables it uploads; ``counts`` (:data:`COUNTS`) counts
    what a step costs in launches, syncs and transfers."""

    def __init__(self, xp=None, launch=launch):
        if xp is None:
            import cupy as xp
        self.xp, self._launch = xp, launch
        self._tables = {}
        self._poisson_calls = None  # the calls held by batched_poisson
        self.counts = dict.fromkeys(COUNTS, 0)
        self.params = DeviceParams(self.put)

    def launch(self, source, kernel, grid, block, args):
        """``launch`` (counted)."""
        self.counts["launches"] += 1
        self._launch(source, kernel, grid, block, args)

    def read(self, arr):
        """``arr`` copied to the host (counted: a device-to-host copy, which waits for the
        device)."""
        self.counts["to_host"] += 1
        self.counts["syncs"] += 1
        return arr.get() if hasattr(arr, "get") else np.asarray(arr)

    def put(self, arr):
        """``arr`` on the device (counted where it is copied from the host)."""
        if not isinstance(arr, self.xp.ndarray):
            self.counts["to_device"] += 1
        return self.xp.asarray(arr)

    def zero(self, arr):
        """Set a device array to 0 (counted: a launch)."""
        self.counts["launches"] += 1
        arr[...] = 0

    inexact_stdp = staticmethod(inexact_stdp)

    def _pointer(self, arr):
        """A device array, or a null pointer for an empty one (homogeneous values)."""
        return self.put(arr) if arr.size else _NULL

    def _exp_div(self, dt, tau):
        key = ("div", float(dt), float(tau))
        if key not in self._tables:
            self._tables[key] = self.put(exp_div(dt, tau))
        return self._tables[key]

    def _exp_minus(self, dt, inv_tau_minus):
        """Concatenated tables exp(−m·dt·inv_tau) of each column's inv_tau_minus, with each
        column's start and length (device arrays), cached per array."""
        key = ("mul", float(dt), id(inv_tau_minus))
        if key not in self._tables:
            arrays = per_column(dt, self.read(inv_tau_minus))
            self._tables[key] = (inv_tau_minus, *(self.put(a) for a in arrays))
        return self._tables[key][1:]

    # ------------------------------------------------------------------ neurons
    def _spikes(self, flags, out_idx, out_off):
        """Write the spikes of a (step, neuron) flag array in the CPU's order; their number."""
        off, idx = self.xp.nonzero(flags)
        self.counts["syncs"] += 1  # nonzero reads the number of non-zeros on the host
        k = int(idx.size)
        out_idx[:k] = idx
        out_off[:k] = off
        return k

    #: model -> (its source in kernels/cuda, its one-population kernel, number of state
    #: arrays, the method giving the kernel's arguments after n_steps from the CPU kernel's
    #: parameters, rec_idx and rec_v). The source also has ``<kernel>_segments``, all
    #: populations in one launch (kernels/cuda/segments.cuh); each model gets a
    #: ``<model>_blocks`` method from its entry here.
    MODELS = {"iaf_psc_delta": ("lif", "iaf_psc_delta", 4, "_delta_args"),
              "iaf_psc_exp": ("lif", "iaf_psc_exp", 5, "_lif_args"),
              "iaf_psc_alpha": ("lif", "iaf_psc_alpha", 7, "_lif_args"),
              **{model: ("cond", "cond", 10, "_cond_args") for model in cond.MODELS},
              "hh_cond_exp_traub": ("hh", "hh_cond_exp_traub", 8, "_hh_args")}
    #: Models with no device kernel (:mod:`.multisynapse`: receptor ports): having no
    #: ``<model>_blocks``, the build refuses them on the GPU, naming the model.
    CPU_ONLY = multisynapse.MODELS

    def _delta_args(self, params, rec_idx, rec_v):
        """iaf_psc_delta: P30 … E_L and each neuron's refractory decay table start as a
        parameter table (kernels/cuda/params.cuh), refractory_input, the decay tables."""
        P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input, h, tau_m, E_L = params
        decay, start = self._refr_decay(h, tau_m, refr_counts, refractory_input)
        return (*self.params((P30, P33, I_e, theta, V_reset, V_min, refr_counts, E_L, start)),
                np.int32(refractory_input), decay, rec_idx, np.int64(rec_idx.size), rec_v)

    def _lif_args(self, params, rec_idx, rec_v):
        """iaf_psc_exp, iaf_psc_alpha: every parameter in a parameter table."""
        return (*self.params(tuple(params)), rec_idx, np.int64(rec_idx.size), rec_v)

    def _cond_args(self, params, rec_idx, rec_v):
        """kernels/cond.py's models: the parameters up to lock_counts in a parameter table,
        then the substeps, their length, the detection mode, the dominance bound, the
        stiffness bound and the most halvings of a substep."""
        (p,) = params
        per = cond.PARAMS.index("lock_counts") + 1
        n_sub, h, detect_each = p[per:]
        return (*self.params(p[:per]), np.int64(n_sub), np.float64(h), np.int32(detect_each),
                np.float64(cond.DOMINANCE), np.float64(stiff.STIFF), np.int64(stiff.MAX_LEVEL),
                rec_idx, *_i64(rec_idx.size, rec_v.shape[2]), rec_v)

    def _hh_args(self, params, rec_idx, rec_v):
        """kernels/hh.py: the parameters up to refr_counts in a parameter table, then the
        substeps, their length, the stiffness bound and the most halvings of a substep."""
        (p,) = params
        per = hh.PARAMS.index("refr_counts") + 1
        n_sub, h = p[per:]
        return (*self.params(p[:per]), np.int64(n_sub), np.float64(h), np.float64(stiff.STIFF),
                np.int64(stiff.MAX_LEVEL), rec_idx,
                *_i64(rec_idx.size, rec_v.shape[2]), rec_v)

    def _refr_decay(self, h, tau_m, refr_counts, refractory_input):
        """iaf_psc_delta's refractory decay: tables exp(−m·h/tau_m) for m = 0 …
        max(refr_counts) (the CPU's libm; zeros past an underflow, where libm's table
        ends) of each distinct tau_m, concatenated on the device, and each neuron's table
        start (a number or per-neuron array); none without refractory input."""
        if not refractory_input:
            return _NULL, 0.0

        def make():
            length = int(np.max(refr_counts)) + 1
            values, which = np.unique(np.asarray(tau_m, np.float64), return_inverse=True)
            tables = np.zeros((len(values), length))
            for row, tau in zip(tables, values):
                table = exp_div(h, tau, length)
                row[:len(table)] = table
            start = (length * which.ravel()).astype(np.float64)
            return self.put(tables.ravel()), start if np.ndim(tau_m) else 0.0
        return self.params.cached(("refr_decay", h, tau_m, refr_counts), make)

    def _kernel_args(self, model, state, rings, col0, t0, n_steps, params, rec_idx, rec_v, flags):
        """The arguments of the one-population kernel of ``model`` (kernels/cuda/lif.cu's
        contract: n, state (None: a null pointer), ring buffers with their sizes, col0, t0,
        n_steps, parameters, recording, flags) from the CPU kernel's; ``rec_idx`` on the
        device."""
        ring_ex, _, ring_cur = rings
        return (np.int64(state[0].shape[0]), *(_NULL if a is None else a for a in state), *rings,
                *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps),
                *getattr(self, self.MODELS[model][3])(params, rec_idx, rec_v), flags)

    def _population(self, model, args):
        """The CPU kernel ``model`` (kernels/lif.py, kernels/cond.py) with its arguments
        ``args`` on the device, one launch; the spikes compacted into its outputs; their
        number."""
        source, kernel, n_state, _ = self.MODELS[model]
        state, rings, (col0, t0, n_steps) = args[:n_state], args[n_state:n_state + 3], \
            args[n_state + 3:n_state + 6]
        *params, rec_idx, rec_v, out_idx, out_off = args[n_state + 6:]
        n = state[0].shape[0]
        flags = self.xp.zeros((n_steps, n), np.uint8)
        self.launch(source, kernel, _blocks(n), (THREADS,), self._kernel_args(
            model, state, rings, col0, t0, n_steps, params, self.put(rec_idx), rec_v, flags))
        return self._spikes(flags, out_idx, out_off)

    def iaf_psc_delta(self, *args):
        """kernels/lif.py::iaf_psc_delta on the device (same arguments, numbers or
        per-neuron arrays); returns the number of spikes."""
        return self._population("iaf_psc_delta", args)

    def iaf_psc_exp(self, *args):
        """kernels/lif.py::iaf_psc_exp on the device; returns the number of spikes."""
        return self._population("iaf_psc_exp", args)

    def iaf_psc_alpha(self, *args):
        """kernels/lif.py::iaf_psc_alpha on the device; returns the number of spikes."""
        return self._population("iaf_psc_alpha", args)

    def cond(self, *args):
        """kernels/cond.py::cond on the device (any of its models: they share the kernel);
        returns the number of spikes."""
        return self._population(next(iter(cond.MODELS)), args)

    def hh_cond_exp_traub(self, *args):
        """kernels/hh.py::hh_cond_exp_traub on the device; returns the number of spikes."""
        return self._population("hh_cond_exp_traub", args)

    inexact_model = staticmethod(inexact_model)

    def block_table(self, blocks):
        """kernels/lif.py::block_table: a :class:`SegmentTable` of the populations (their
        arguments (state…, col0, parameters…, rec_idx, rec_v) with rec_idx on the device)."""
        return SegmentTable(self, [(*args[:-2], self.put(args[-2]), args[-1]) for args in blocks])

    def spike_log(self, capacity, per_interval):
        """A :class:`SpikeLog` on the device (room for ``capacity`` spikes, at most
        ``per_interval`` of them in one interval)."""
        return SpikeLog(self, capacity, per_interval)

    def _segments(self, model, table, rings, t0, n_steps, log):
        """Advance every population of ``table`` (model ``model``) by ``n_steps`` steps
        from step ``t0`` in one launch; their spikes go to ``log`` (a :class:`SpikeLog`)."""
        source, kernel, n_state, _ = self.MODELS[model]
        start, words = table.words(model, rings, n_steps)
        t0_at = 1 + 1 + n_state + 3 + 3 + 1  # after i, n, state, rings, their sizes, col0
        self.launch(source, kernel + "_segments", _blocks(table.n), (THREADS,), (
            np.int64(len(start) - 1), start, words, np.int64(t0_at), *_i64(t0, n_steps),
            log.buffer, np.int64(log.capacity)))

    # ------------------------------------------------------------------ delivery
    def deliver(self, src_gid, src_step, gid_lo, ptr, post, weight, shift, weight_all, delay,
                delay_all, ring_ex, ring_in):
        """kernels/delivery.py::deliver on the device (one block per spike)."""
        n = len(src_gid)
        if n == 0 or post.size == 0:
            return
        self.launch("delivery", template_name("deliver", post, delay), _blocks(n, 1), (128,), (
            self.put(src_gid), self.put(src_step), *_i64(n, gid_lo), ptr,
            np.int64(ptr.shape[0] - 1), post, self._pointer(weight), *_i64(shift, weight_all),
            self._pointer(delay), np.int64(delay_all), ring_ex, ring_in, *_i64(*ring_ex.shape)))

    def table(self, projections):
        """kernels/delivery.py::table: the projections' arrays by address and their scalars,
        as device arrays for ``deliver_all`` (the projections' arrays must stay where they
        are), with the argument tuples (which keep the arrays alive)."""
        projections = list(projections)
        columns = [[] for _ in range(10)]
        for gid_lo, ptr, post, weight, shift, weight_all, delay, delay_all in projections:
            if delay.size and delay.itemsize not in (1, 2) or post.itemsize not in (2, 4):
                raise ValueError(f"deliver_all takes 2- or 4-byte targets and 1- or 2-byte "
                                 f"delays, not {post.dtype} and {delay.dtype}")
            for column, value in zip(columns, (
                    gid_lo, ptr.shape[0] - 1, _address(ptr), _address(post), post.itemsize,
                    _address(weight), shift, weight_all, _address(delay), delay.itemsize)):
                column.append(value)
        delay_all = [args[7] for args in projections]
        types = [np.int64, np.int64, np.uint64, np.uint64, np.int64, np.uint64, np.int64,
                 np.int64, np.uint64, np.int64]
        arrays = [self.put(np.array(c, t)) for c, t in zip(columns, types)]
        return projections, (*arrays, self.put(np.array(delay_all, np.int64)))

    def deliver_table(self, src_gid, src_step, table, ring_ex, ring_in):
        """kernels/delivery.py::deliver_table: every projection in one launch (a block per
        spike and projection)."""
        projections, arrays = table
        n, n_proj = len(src_gid), len(projections)
        if n == 0 or n_proj == 0:
            return
        self.launch("delivery", "deliver_all", _blocks(n * n_proj, 1), (128,), (
            self.put(src_gid), self.put(src_step), *_i64(n, n_proj), *arrays, ring_ex, ring_in,
            *_i64(*ring_ex.shape)))

    def deliver_log(self, log, source_of, table, ring_ex, ring_in):
        """Deliver the spikes that ``log`` (a :class:`SpikeLog`) received since the last
        call through every projection of ``table`` (:meth:`table`), in one launch that
        reads the range from the log on the device (nothing read back);
        ``source_of``: the source position (:func:`bigbrain.projection.source_positions`)
        of each rank column, −1 for none."""
        projections, arrays = table
        if not projections:
            return
        grid = _blocks(min(log.per_interval * len(projections), LOG_BLOCKS), 1)
        self.launch("delivery", "deliver_log", grid, (128,), (
            log.buffer, np.int64(log.parity), np.int64(log.capacity), source_of,
            np.int64(len(projections)), *arrays, ring_ex, ring_in, *_i64(*ring_ex.shape)))
        log.parity ^= 1

    def poisson_input(self, t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, guide,
                      k0, k1, c2, ring_ex, ring_in):
        """kernels/poisson.py::poisson_input on the device (one thread per synapse); inside
        :meth:`batched_poisson`, kept for one launch with the other calls."""
        n = post.shape[0]
        if n == 0:
            return
        args = (*_i64(t0, n_steps), post, post_gid, ordinal, delay, weight, cdf,
                np.int64(cdf.size), guide, np.int64(guide.size), np.uint32(k0), np.uint32(k1),
                np.uint32(c2), ring_ex, ring_in, *_i64(*ring_ex.shape))
        if self._poisson_calls is not None:
            self._poisson_calls.append((n, args))
            return
        self.launch("delivery", "poisson_input", _blocks(n), (THREADS,), (np.int64(n), *args))

    @contextlib.contextmanager
    def batched_poisson(self):
        """The ``poisson_input`` calls made inside the block run at its end, in one launch
        where they all have the same steps (``poisson_calls``), else one launch each. The
        table of the calls' arguments is uploaded once and then found by its content."""
        self._poisson_calls = []
        try:
            yield
            calls = self._poisson_calls
        finally:
            self._poisson_calls = None
        if len({args[:2] for _, args in calls}) > 1:
            for n, args in calls:
                self.launch("delivery", "poisson_input", _blocks(n), (THREADS,),
                            (np.int64(n), *args))
        elif calls:
            start, words = self._call_table(calls)
            self.launch("delivery", "poisson_calls", _blocks(int(start[-1])), (THREADS,), (
                np.int64(len(calls)), self._device_table(start), self._device_table(words),
                *calls[0][1][:2]))

    def _call_table(self, calls):
        """(first thread of each call and the end, the calls' argument words with the steps
        zeroed) of (threads, arguments) pairs."""
        start = np.r_[0, np.cumsum([n for n, _ in calls])].astype(np.int64)
        words = np.array([[_word(a) for a in (*_i64(0, 0), *args[2:])] for _, args in calls],
                         np.uint64)
        return start, words

    def _device_table(self, table):
        """``table`` (a host array) on the device, uploaded once per content (at most
        :data:`TABLES` kept)."""
        key = ("table", table.dtype.str, table.tobytes())
        if key not in self._tables:
            if sum(1 for k in self._tables if k[0] == "table") >= TABLES:
                for k in [k for k in self._tables if k[0] == "table"]:
                    del self._tables[k]
            self._tables[key] = self.put(table)
        return self._tables[key]

    # ------------------------------------------------------------------ STDP
    def deliver_stdp(self, src_gid, src_step, gid_lo, ptr, post, weight, delay, delay_all, kplus,
                     t_last, h, hf, minus_tables, minus_start, minus_length, inv_tau_minus, dt,
                     exp_plus, tau_plus, lam, alpha, mu_plus, mu_minus, w_max, mode, ring_ex,
                     ring_in, rec_row, rec_syn, out_stamp, out_syn, out_w, triplet=None,
                     n_groups=None):
        """kernels/stdp.py::deliver on the device (also ``deliver_triplet_stdp``, with
        ``triplet``); ``src_*`` in time order, on the host, or on the device with
        ``n_groups`` (the number of distinct rows among them, which the host knows) and
        then grouped there (:meth:`device_spike_groups`: nothing uploaded). Returns the
        number of weight-recorder events written to ``out_*`` (read back only where a
        synapse is recorded). Each thread computes K− itself (not remembered in ``h``) and
        the exponentials come from full device tables (not the CPU's shorter ``exp_plus``,
        ``minus_*`` and triplet table), so that every value is libm's."""
        span = ptr.shape[0] - 1
        if n_groups is None:
            group_row, group_ptr, stamp, pos = spike_groups(
                np.asarray(src_gid), np.asarray(src_step), gid_lo, span)
            n_groups = len(group_row)
        elif n_groups:
            group_row, group_ptr, stamp, pos = self.device_spike_groups(
                src_gid if gid_lo == 0 else src_gid - gid_lo, src_step, n_groups, span)
        if n_groups == 0:
            return 0
        xp = self.xp
        groups = (np.int64(len(group_row)), *(self.put(a) for a in (group_row, group_ptr, stamp)))
        exp_plus = self._exp_div(dt, tau_plus)
        rule = (*_f64(dt, tau_plus, lam, alpha, mu_plus, mu_minus, w_max), exp_plus,
                np.int64(exp_plus.size), *self._exp_minus(dt, inv_tau_minus), inv_tau_minus,
                *self._triplet_rule(dt, triplet))
        n_out, out_pos = xp.zeros(1, np.int64), xp.zeros(len(out_stamp), np.int64)
        rec_syn = self.put(rec_syn)
        self.launch("stdp", template_name("stdp_synapses", post, delay),
                    _blocks(len(group_row), 1), (128,), (
            *groups, self.put(pos), ptr, post, weight, self._pointer(delay), np.int64(delay_all),
            kplus, t_last, h, hf, np.int64(h.shape[1]), *rule,
            np.int32(mode), ring_ex,
            ring_in, *_i64(*ring_ex.shape), self.put(rec_row).astype(np.uint8, copy=False), rec_syn,
            np.int64(rec_syn.size), n_out, out_pos, out_stamp, out_syn, out_w))
        self.launch("stdp", "stdp_rows", _blocks(len(group_row)), (THREADS,), (
            *groups, kplus, t_last, *rule))
        if rec_syn.size == 0:
            return 0
        return self._sorted_events(int(self.read(n_out)[0]), out_pos, out_stamp, out_syn, out_w)

    deliver_triplet_stdp = deliver_stdp

    def gather(self, table, index):
        """``table[index]`` of device arrays (counted: a launch)."""
        self.counts["launches"] += 1
        return table[index]

    def device_spike_groups(self, rows, steps, n_groups, span):
        """:func:`spike_groups` of device arrays (rows: −1 or beyond ``span`` for none),
        computed on the device: ``n_groups`` distinct rows, told by the host, give every
        size, so nothing waits for the device (7 array operations, counted as launches)."""
        xp, n = self.xp, rows.shape[0]
        key = xp.where((rows >= 0) & (rows < span), rows, span)
        pos = xp.lexsort(xp.stack([xp.arange(n), key]))  # by row, then in time order
        key = key[pos]
        first = xp.concatenate([xp.ones(1, bool), key[1:] != key[:-1]])
        group_ptr = xp.searchsorted(xp.cumsum(first) - 1, xp.arange(n_groups + 1))
        self.counts["launches"] += 7
        return key[group_ptr[:-1]], group_ptr, steps[pos] + 1, pos

    def record_post_spikes(self, cols, stamps, tracked, bound, h, hf, traces, triplet=None):
        """kernels/stdp.py::record_post_spikes on the device, for post-synaptic spikes
        (device arrays ``cols``, ``stamps``, any order) that fit the rows (the host has
        checked): ``traces`` (K− and last stamp per column, 1/tau_minus on the device),
        ``triplet`` None or (K−₃, 1/tau_minus_triplet, ht). One thread per column, which
        records its spikes in time order (sorted here: counted as two launches)."""
        xp, n, dt = self.xp, cols.shape[0], traces[3]
        if n == 0:
            return
        order = xp.lexsort(xp.stack([stamps, cols]))
        self.counts["launches"] += 2
        kminus, last_stamp, inv_tau_minus = traces[:3]
        if triplet is None:
            third = (np.int32(0), _NULL, _NULL, _NULL, _NULL, _NULL, _NULL, np.int64(0))
        else:
            k3, inv_tau3, ht = triplet
            third = (np.int32(1), *self._exp_minus(dt, inv_tau3), inv_tau3, k3, ht,
                     np.int64(ht.shape[1]))
        self.launch("stdp", "stdp_record_post", _blocks(h.shape[0]), (THREADS,), (
            np.int64(n), cols[order], stamps[order], np.int64(h.shape[0]), tracked,
            np.int64(bound), h, hf, np.int64(h.shape[1]), np.float64(dt),
            *self._exp_minus(dt, inv_tau_minus), inv_tau_minus, kminus, last_stamp, *third))

    def _triplet_rule(self, dt, triplet):
        """The triplet fields of kernels/cuda/stdp.cu's StdpRule (triplet = 0: none)."""
        if triplet is None:
            return (np.int32(0), *_f64(0, 0, 0, 0, 0), _NULL, np.int64(0), _NULL, _NULL,
                    np.int64(0))
        kplus_triplet, ht, _, tau_x, a_plus, a_minus, a_plus3, a_minus3 = triplet
        exp_x = self._exp_div(dt, tau_x)
        return (np.int32(1), *_f64(tau_x, a_plus, a_minus, a_plus3, a_minus3), exp_x,
                np.int64(exp_x.size), kplus_triplet, ht, np.int64(ht.shape[1]))

    def _sorted_events(self, n, out_pos, out_stamp, out_syn, out_w):
        """Put the n recorded events in the CPU's order: spike position, then synapse."""
        if n:
            order = self.xp.lexsort(self.xp.stack([out_syn[:n], out_pos[:n]]))
            for arr in (out_stamp, out_syn, out_w):
                arr[:n] = arr[:n][order]
        return n


def _word(value):
    """A kernel argument as the 64-bit word kernels/cuda/segments.cuh reads: an array's
    address, a double's bits, an integer's two's complement."""
    if not isinstance(value, np.generic):
        return np.uint64(_address(value))
    if isinstance(value, np.floating):
        return np.float64(value).view(np.uint64)
    return np.uint64(int(value) % 2**64)


class SegmentTable:
    """The populations of one model on a rank, for a ``<kernel>_segments`` launch
    (kernels/cuda/segments.cuh): ``blocks``, each population's arguments (state…, col0,
    parameters…, rec_idx, rec_v) as the ``*_blocks`` of kernels/lif.py and kernels/cond.py
    take them (numbers or per-neuron arrays, mixed freely); ``n``: their neurons. The
    arrays must stay where they are (the launch reads them by address; the table keeps the
    parameter tables it reads)."""

    def __init__(self, kernels, blocks):
        self.kernels, self.blocks = kernels, blocks
        self.n = sum(int(args[0].shape[0]) for args in blocks)
        self._built = None  # (ring addresses, steps, segment starts, words, kernel arguments)

    def words(self, model, rings, n_steps):
        """(segment starts, argument words) on the device for intervals of up to
        ``n_steps`` steps, built at the first call (again only for longer intervals or
        other ring buffers), with a spike-flag buffer of ``n_steps`` per neuron."""
        key = tuple(_address(r) for r in rings)
        if self._built is None or self._built[0] != key or self._built[1] < n_steps:
            self._built = (key, n_steps, *self._build(model, rings, n_steps))
        return self._built[2:4]

    def _build(self, model, rings, n_steps):
        kernels, n_state = self.kernels, self.kernels.MODELS[model][2]
        sizes = [int(args[0].shape[0]) for args in self.blocks]
        start = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        flags = kernels.xp.zeros(n_steps * self.n, np.uint8)
        arguments = []
        for args, lo, n in zip(self.blocks, start, sizes):
            col0, *params, rec_idx, rec_v = args[n_state:]
            arguments.append(kernels._kernel_args(
                model, args[:n_state], rings, col0, 0, 0, params, rec_idx, rec_v,
                flags[n_steps * lo:n_steps * (lo + n)]))
        words = np.array([[_word(a) for a in args] for args in arguments], np.uint64)
        return kernels.put(start), kernels.put(words), arguments


class SpikeLog:
    """The spikes that the neuron kernels of a rank append on the device
    (kernels/cuda/segments.cuh): one int64 buffer, a header (count, the interval marks of
    ``deliver_log``) and then (rank column, step) pairs, room for ``capacity`` spikes.
    ``per_interval``: the most spikes one interval can append (every neuron, every step)."""

    HEADER = 4

    def __init__(self, kernels, capacity, per_interval):
        self.kernels, self.capacity, self.per_interval = kernels, int(capacity), int(per_interval)
        self.buffer = kernels.xp.zeros(self.HEADER + 2 * self.capacity, np.int64)
        self.parity = 0  # of the interval that deliver_log delivers next
        self.ahead = min(self.capacity, 256)  # spikes read with the count in the same copy

    def read(self):
        """(rank columns, steps) of the spikes appended since the last read, on the host in
        the order they were appended, and empty the log: one device-to-host copy while they
        fit the spikes read ahead (which then grow to the most seen), else two."""
        head = self.kernels.read(self.buffer[:self.HEADER + 2 * self.ahead])
        n = int(head[0])
        if n > self.capacity:
            raise RuntimeError(f"spike log overflow: {n} spikes, room for {self.capacity}")
        if n > self.ahead:
            self.ahead = min(self.capacity, max(n, 2 * self.ahead))
            head = self.kernels.read(self.buffer[:self.HEADER + 2 * n])
        self.kernels.zero(self.buffer[:self.HEADER])
        self.parity = 0
        #: the same spikes on the device (a view: valid until the neuron kernels run again)
        self.last = self.buffer[self.HEADER:self.HEADER + 2 * n].reshape(n, 2)
        pairs = np.array(head[self.HEADER:self.HEADER + 2 * n]).reshape(n, 2)  # kept: copied
        return pairs[:, 0], pairs[:, 1]

    def in_order(self, emission):
        """The spikes of the last :meth:`read` on the device, in the order the host delivers
        them (step, then the CPU kernels' order: ``emission`` of the column, its kernel
        call, then column): (columns, steps, stamps), device arrays (6 array operations,
        counted as launches)."""
        xp, cols, steps = self.kernels.xp, self.last[:, 0], self.last[:, 1]
        order = xp.lexsort(xp.stack([cols, emission[cols], steps]))
        self.kernels.counts["launches"] += 6
        return cols[order], steps[order], steps[order] + 1


def _blocks_method(model):
    """``CudaKernels.<model>_blocks``: the device's form of the CPU's ``<model>_blocks``
    (kernels/lif.py, kernels/cond.py)."""
    def blocks(self, table, ring_ex, ring_in, ring_cur, t0, n_steps, log):
        self._segments(model, table, (ring_ex, ring_in, ring_cur), t0, n_steps, log)
    blocks.__name__ = model + "_blocks"
    blocks.__doc__ = (f"Every population of ``table`` (:meth:`block_table`, model {model}) in "
                      "one launch, the spikes to ``log`` (a :class:`SpikeLog`).")
    return blocks


for _model in CudaKernels.MODELS:  # the entry points that bigbrain.neurons.base.BlockGroup calls
    setattr(CudaKernels, _model + "_blocks", _blocks_method(_model))
