"""CuPy launchers for the CUDA kernels in ``kernels/cuda``: the GPU form of the Numba kernels.

:class:`CudaKernels` has one method per CPU kernel, with the CPU kernel's name and arguments
(:mod:`.lif`, :mod:`.cond`, :mod:`.delivery`, :mod:`.stdp`), taking CuPy arrays for the arrays
(host arrays are copied to the device). Neuron parameters may be numbers or per-neuron
arrays, as on the CPU: with any array a LIF model runs ``lif_per_neuron.cu``, and
``cond.cu`` always reads its parameters through the tables of :mod:`.gpu_params`. The
sources are compiled at first use by NVRTC with ``--fmad=false``, so every double operation
rounds as on the CPU, and the results are the CPU kernels' bit for bit:

* neuron updates write a spike flag per (step, neuron), all populations of a model into
  one buffer; one ``xp.flatnonzero`` lists the spikes in the CPU's order (population,
  step, neuron): one wait for the device per model and interval;
* ring-buffer additions are int64 atomics (order-independent, exact); all static
  projections of a rank are delivered by one launch (``deliver_all``);
* exponentials of step differences come from tables filled by the CPU's libm
  (:mod:`.exp_tables`);
* STDP groups the interval's spikes by source row: each thread applies its synapse's spikes
  in time order, as the CPU does; weight-recorder events are sorted into the CPU's order.

Two STDP settings leave the device's own libdevice functions, whose last bit can differ
from glibc's, and so may change weights and spikes; :func:`inexact_stdp` names them and the
simulation warns at the build: ``mu_plus`` / ``mu_minus`` other than 0 and 1 (``w**mu``
from the device's ``pow``), and a time constant so long that its table is cut at
``exp_tables.MAX_LENGTH`` entries before reaching 0 (longer gaps: the device's ``exp``).
So does ``aeif_cond_exp`` (:func:`inexact_model`): its exponential term and spike-time
estimate call ``exp`` and ``pow`` of the state itself, which no host table can hold.

:class:`CudaKernels` works on an array module ``xp`` with a ``launch`` function; the
default is CuPy with :func:`launch` (NVRTC-compiled modules on the current device). The
tests pass NumPy and a launcher that runs the same CUDA sources compiled for the CPU
(tests/cuda_host.py), so everything here except the device itself is checked without a GPU.
"""
import functools
import re
from pathlib import Path

import numpy as np

from . import cond
from .exp_tables import MAX_LENGTH, exp_div, per_column
from .gpu_params import DeviceParams, address as _address, per_neuron

SOURCES = Path(__file__).resolve().parent / "cuda"
OPTIONS = ("--fmad=false", "--std=c++17", f"-I{SOURCES}")
THREADS = 256
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
    device, or None: aeif_cond_exp's exponential term and its spike-time estimate within a
    substep call exp and pow, which are the device's (libdevice), not the CPU's libm; the
    other models use + − × ÷ and propagators computed on the host only."""
    if model != "aeif_cond_exp":
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

    def iaf_psc_delta(self, y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                      P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input, h,
                      tau_m, E_L, rec_idx, rec_v, out_idx, out_off, flags=None):
        """kernels/lif.py::iaf_psc_delta on the device; returns the number of spikes (with
        ``flags``, an (n_steps, n) uint8 array, only the spike flags: written there)."""
        n = y3.shape[0]
        compact = flags is None
        flags = self.xp.zeros((n_steps, n), np.uint8) if compact else flags
        rec_idx = self.put(rec_idx)
        state = (np.int64(n), y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur,
                 *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps))
        params = (P30, P33, I_e, theta, V_reset, V_min, refr_counts, E_L)
        decay, start = self._refr_decay(h, tau_m, refr_counts, refractory_input)
        if per_neuron(params + (tau_m,)):
            self.launch("lif_per_neuron", "iaf_psc_delta_per_neuron", _blocks(n), (THREADS,), (
                *state, *self.params(params + (start,)), np.int32(refractory_input), decay,
                rec_idx, np.int64(rec_idx.size), rec_v, flags))
        else:
            self.launch("lif", "iaf_psc_delta", _blocks(n), (THREADS,), (
                *state, *_f64(P30, P33, I_e, theta, V_reset, V_min), np.int64(refr_counts),
                np.int32(refractory_input), decay, np.float64(E_L), rec_idx,
                np.int64(rec_idx.size), rec_v, flags))
        return self._spikes(flags, out_idx, out_off) if compact else None

    def iaf_psc_exp(self, V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                    P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts, E_L,
                    rec_idx, rec_v, out_idx, out_off, flags=None):
        """kernels/lif.py::iaf_psc_exp on the device; returns the number of spikes (with
        ``flags``: see :meth:`iaf_psc_delta`)."""
        n = V.shape[0]
        compact = flags is None
        flags = self.xp.zeros((n_steps, n), np.uint8) if compact else flags
        rec_idx = self.put(rec_idx)
        state = (np.int64(n), V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur,
                 *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps))
        params = (P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts, E_L)
        if per_neuron(params):
            self.launch("lif_per_neuron", "iaf_psc_exp_per_neuron", _blocks(n), (THREADS,), (
                *state, *self.params(params), rec_idx, np.int64(rec_idx.size), rec_v, flags))
        else:
            self.launch("lif", "iaf_psc_exp", _blocks(n), (THREADS,), (
                *state, *_f64(*params[:9]), np.int64(refr_counts), np.float64(E_L), rec_idx,
                np.int64(rec_idx.size), rec_v, flags))
        return self._spikes(flags, out_idx, out_off) if compact else None

    def iaf_psc_alpha(self, y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur,
                      col0, t0, n_steps, P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in,
                      P21in, P31in, P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts, E_L,
                      rec_idx, rec_v, out_idx, out_off, flags=None):
        """kernels/lif.py::iaf_psc_alpha on the device; returns the number of spikes (with
        ``flags``: see :meth:`iaf_psc_delta`)."""
        n = y3.shape[0]
        compact = flags is None
        flags = self.xp.zeros((n_steps, n), np.uint8) if compact else flags
        rec_idx = self.put(rec_idx)
        state = (np.int64(n), y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur,
                 *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps))
        params = (P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in, P21in, P31in, P32in,
                  IPSC, I_e, theta, V_reset, V_min, refr_counts, E_L)
        if per_neuron(params):
            self.launch("lif_per_neuron", "iaf_psc_alpha_per_neuron", _blocks(n), (THREADS,), (
                *state, *self.params(params), rec_idx, np.int64(rec_idx.size), rec_v, flags))
        else:
            self.launch("lif", "iaf_psc_alpha", _blocks(n), (THREADS,), (
                *state, *_f64(*params[:16]), np.int64(refr_counts), np.float64(E_L), rec_idx,
                np.int64(rec_idx.size), rec_v, flags))
        return self._spikes(flags, out_idx, out_off) if compact else None

    def block_table(self, blocks):
        """kernels/lif.py::block_table: here the argument tuples themselves, the recorded
        indices (second to last) put on the device once."""
        return [(*args[:-2], self.put(args[-2]), args[-1]) for args in blocks]

    def _each_population(self, kernel, n_state, blocks, rings, t0, n_steps, out_col, out_off):
        """``kernel`` (its first ``n_state`` arguments the state arrays) for each population,
        one launch each, writing the spike flags of all into one buffer, then the spike
        output of kernels/lif.py::iaf_psc_delta_blocks from one compaction (one wait for
        the device); ``rings``: (ring_ex, ring_in, ring_cur)."""
        sizes = np.array([args[0].shape[0] for args in blocks], np.int64)
        starts = n_steps * (np.cumsum(sizes) - sizes)  # of each population's flags
        flags = self.xp.zeros(n_steps * int(sizes.sum()), np.uint8)
        for args, start, n in zip(blocks, starts, sizes):
            col0, *rest = args[n_state:]
            kernel(*args[:n_state], *rings, col0, t0, n_steps, *rest, out_col, out_off,
                   flags=flags[start:start + n_steps * n].reshape(n_steps, n))
        col0 = np.array([args[n_state] for args in blocks], np.int64)
        return self._compact(flags, starts, sizes, col0, out_col, out_off)

    def _compact(self, flags, starts, sizes, col0, out_col, out_off):
        """The spikes of the populations' concatenated (step, neuron) flags (population p's
        from ``starts[p]``, ``sizes[p]`` neurons, first column ``col0[p]``) as rank columns
        and step offsets in the CPU's order (population, step, neuron); their number."""
        xp = self.xp
        pos = xp.flatnonzero(flags)
        self.counts["syncs"] += 1  # flatnonzero reads the number of non-zeros on the host
        k = int(pos.size)
        if k:
            starts_d, sizes_d, col0_d = (self.put(a) for a in (starts, sizes, col0))
            p = xp.searchsorted(starts_d, pos, side="right") - 1
            local = pos - starts_d[p]
            out_off[:k] = local // sizes_d[p]
            out_col[:k] = col0_d[p] + local % sizes_d[p]
        return k

    def iaf_psc_delta_blocks(self, blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col,
                             out_off):
        """kernels/lif.py::iaf_psc_delta_blocks: one launch per population."""
        return self._each_population(self.iaf_psc_delta, 4, blocks, (ring_ex, ring_in, ring_cur),
                                     t0, n_steps, out_col, out_off)

    def iaf_psc_exp_blocks(self, blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col,
                           out_off):
        """kernels/lif.py::iaf_psc_exp_blocks: one launch per population."""
        return self._each_population(self.iaf_psc_exp, 5, blocks, (ring_ex, ring_in, ring_cur),
                                     t0, n_steps, out_col, out_off)

    def iaf_psc_alpha_blocks(self, blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col,
                             out_off):
        """kernels/lif.py::iaf_psc_alpha_blocks: one launch per population."""
        return self._each_population(self.iaf_psc_alpha, 7, blocks, (ring_ex, ring_in, ring_cur),
                                     t0, n_steps, out_col, out_off)

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

    def poisson_input(self, t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, guide,
                      k0, k1, c2, ring_ex, ring_in):
        """kernels/poisson.py::poisson_input on the device (one thread per synapse)."""
        n = post.shape[0]
        if n == 0:
            return
        self.launch("delivery", "poisson_input", _blocks(n), (THREADS,), (
            *_i64(n, t0, n_steps), post, post_gid, ordinal, delay, weight, cdf, np.int64(cdf.size),
            guide, np.int64(guide.size),
            np.uint32(k0), np.uint32(k1), np.uint32(c2), ring_ex, ring_in, *_i64(*ring_ex.shape)))

    # ------------------------------------------------------------------ STDP
    def deliver_stdp(self, src_gid, src_step, gid_lo, ptr, post, weight, delay, delay_all, kplus,
                     t_last, h, hf, minus_tables, minus_start, minus_length, inv_tau_minus, dt,
                     exp_plus, tau_plus, lam, alpha, mu_plus, mu_minus, w_max, mode, ring_ex,
                     ring_in, rec_row, rec_syn, out_stamp, out_syn, out_w, triplet=None):
        """kernels/stdp.py::deliver on the device (also ``deliver_triplet_stdp``, with
        ``triplet``); ``src_*`` on the host, in time order. Returns the number of
        weight-recorder events written to ``out_*``. Each thread computes K− itself (not
        remembered in ``h``) and the exponentials come from full device tables (not the
        CPU's shorter ``exp_plus``, ``minus_*`` and triplet table), so that every value is
        libm's."""
        group_row, group_ptr, stamp, pos = spike_groups(np.asarray(src_gid), np.asarray(src_step),
                                                        gid_lo, ptr.shape[0] - 1)
        if len(pos) == 0:
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
        return self._sorted_events(int(self.read(n_out)[0]), out_pos, out_stamp, out_syn, out_w)

    deliver_triplet_stdp = deliver_stdp

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

    # ------------------------------------------------------------------ cond, per-neuron
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

    def cond(self, V, g_ex, dg_ex, g_in, dg_in, w, theta, I_stim, r, ring_ex, ring_in, ring_cur,
             col0, t0, n_steps, p, rec_idx, rec_v, out_idx, out_off, flags=None):
        """kernels/cond.py::cond on the device (parameters by kernels/cuda/params.cuh);
        returns the number of spikes (with ``flags``: see :meth:`iaf_psc_delta`)."""
        n = V.shape[0]
        compact = flags is None
        flags = self.xp.zeros((n_steps, n), np.uint8) if compact else flags
        rec_idx = self.put(rec_idx)
        per = cond.PARAMS.index("refr_counts") + 1
        n_sub, h, detect_each = p[per:]
        self.launch("cond", "cond", _blocks(n), (THREADS,), (
            np.int64(n), V, *(_NULL if a is None else a for a in (g_ex, dg_ex, g_in, dg_in, w,
                                                                  theta)),
            I_stim, r, ring_ex, ring_in, ring_cur,
            *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps), *self.params(p[:per]),
            np.int64(n_sub), np.float64(h), np.int32(detect_each), np.float64(cond.DOMINANCE),
            rec_idx, *_i64(rec_idx.size, rec_v.shape[2]), rec_v, flags))
        return self._spikes(flags, out_idx, out_off) if compact else None

    def cond_blocks(self, blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col, out_off):
        """kernels/cond.py::cond_blocks: one launch per population."""
        return self._each_population(self.cond, 9, blocks, (ring_ex, ring_in, ring_cur), t0,
                                     n_steps, out_col, out_off)

    inexact_model = staticmethod(inexact_model)


for _model in cond.MODELS:  # the entry points of kernels/cond.py's models (backends.CPU_KERNELS)
    setattr(CudaKernels, _model + "_blocks", CudaKernels.cond_blocks)
