"""CuPy launchers for the CUDA kernels in ``kernels/cuda``: the GPU form of the Numba kernels.

:class:`CudaKernels` has one method per CPU kernel, with the CPU kernel's name and arguments
(:mod:`.lif`, :mod:`.delivery`, :mod:`.stdp`), taking CuPy arrays for the arrays (host arrays
are copied to the device). The sources are compiled at first use by NVRTC with
``--fmad=false``, so every double operation rounds as on the CPU, and the results are the
CPU kernels' bit for bit:

* neuron updates write a spike flag per (step, neuron); ``xp.nonzero`` lists the spikes in
  the CPU's order (step, then neuron);
* ring-buffer additions are int64 atomics (order-independent, exact);
* exponentials of step differences come from tables filled by the CPU's libm
  (:mod:`.exp_tables`);
* STDP groups the interval's spikes by source row: each thread applies its synapse's spikes
  in time order, as the CPU does; weight-recorder events are sorted into the CPU's order.

:class:`CudaKernels` works on an array module ``xp`` with a ``launch`` function; the
default is CuPy with :func:`launch` (NVRTC-compiled modules on the current device). The
tests pass NumPy and a launcher that runs the same CUDA sources compiled for the CPU
(tests/cuda_host.py), so everything here except the device itself is checked without a GPU.
"""
import functools
from pathlib import Path

import numpy as np

from .exp_tables import exp_div, per_column

SOURCES = Path(__file__).resolve().parent / "cuda"
OPTIONS = ("--fmad=false", "--std=c++17", f"-I{SOURCES}")
THREADS = 256
MAX_BLOCKS = 2**31 - 1
_NULL = np.uint64(0)
_INDEX_TYPES = {np.dtype(np.uint16): "unsigned short", np.dtype(np.uint32): "unsigned int",
                np.dtype(np.uint8): "unsigned char"}
_TEMPLATE_ARGS = [("unsigned short", "unsigned char"), ("unsigned short", "unsigned short"),
                  ("unsigned int", "unsigned char"), ("unsigned int", "unsigned short")]


@functools.lru_cache(maxsize=None)
def module(name):
    """The compiled ``kernels/cuda/<name>.cu``, with its template kernels instantiated."""
    import cupy
    templates = {"delivery": "deliver", "stdp": "stdp_synapses"}.get(name)
    names = [f"{templates}<{p}, {d}>" for p, d in _TEMPLATE_ARGS] if templates else None
    return cupy.RawModule(code=(SOURCES / f"{name}.cu").read_text(), options=OPTIONS,
                          name_expressions=names)


def launch(source, kernel, grid, block, args):
    """Run ``kernel`` of ``kernels/cuda/<source>.cu`` on the current device."""
    module(source).get_function(kernel)(grid, block, args)


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


class CudaKernels:
    """The kernels on a device: array module ``xp`` (CuPy), ``launch(source, kernel, grid,
    block, args)``. Caches the exp tables it uploads."""

    def __init__(self, xp=None, launch=launch):
        if xp is None:
            import cupy as xp
        self.xp, self.launch = xp, launch
        self._tables = {}

    def _host(self, arr):
        return arr.get() if hasattr(arr, "get") else np.asarray(arr)

    def _pointer(self, arr):
        """A device array, or a null pointer for an empty one (homogeneous values)."""
        return self.xp.asarray(arr) if arr.size else _NULL

    def _exp_div(self, dt, tau):
        key = ("div", float(dt), float(tau))
        if key not in self._tables:
            self._tables[key] = self.xp.asarray(exp_div(dt, tau))
        return self._tables[key]

    def _exp_minus(self, dt, inv_tau_minus):
        """Concatenated tables exp(−m·dt·inv_tau) of each column's inv_tau_minus, with each
        column's start and length (device arrays), cached per array."""
        key = ("mul", float(dt), id(inv_tau_minus))
        if key not in self._tables:
            arrays = per_column(dt, self._host(inv_tau_minus))
            self._tables[key] = (inv_tau_minus, *(self.xp.asarray(a) for a in arrays))
        return self._tables[key][1:]

    # ------------------------------------------------------------------ neurons
    def _spikes(self, flags, out_idx, out_off):
        """Write the spikes of a (step, neuron) flag array in the CPU's order; their number."""
        off, idx = self.xp.nonzero(flags)
        k = int(idx.size)
        out_idx[:k] = idx
        out_off[:k] = off
        return k

    def iaf_psc_delta(self, y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                      P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input, h,
                      tau_m, E_L, rec_idx, rec_v, out_idx, out_off):
        """kernels/lif.py::iaf_psc_delta on the device; returns the number of spikes."""
        n = y3.shape[0]
        flags = self.xp.zeros((n_steps, n), np.uint8)
        decay = self._exp_div(h, tau_m)
        rec_idx = self.xp.asarray(rec_idx)
        self.launch("lif", "iaf_psc_delta", _blocks(n), (THREADS,), (
            np.int64(n), y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur,
            *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps),
            *_f64(P30, P33, I_e, theta, V_reset, V_min), np.int64(refr_counts),
            np.int32(refractory_input), decay, np.float64(E_L), rec_idx, np.int64(rec_idx.size),
            rec_v, flags))
        return self._spikes(flags, out_idx, out_off)

    def iaf_psc_exp(self, V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                    P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts, E_L,
                    rec_idx, rec_v, out_idx, out_off):
        """kernels/lif.py::iaf_psc_exp on the device; returns the number of spikes."""
        n = V.shape[0]
        flags = self.xp.zeros((n_steps, n), np.uint8)
        rec_idx = self.xp.asarray(rec_idx)
        self.launch("lif", "iaf_psc_exp", _blocks(n), (THREADS,), (
            np.int64(n), V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur,
            *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps),
            *_f64(P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset),
            np.int64(refr_counts), np.float64(E_L), rec_idx, np.int64(rec_idx.size), rec_v, flags))
        return self._spikes(flags, out_idx, out_off)

    def iaf_psc_alpha(self, y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur,
                      col0, t0, n_steps, P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in,
                      P21in, P31in, P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts, E_L,
                      rec_idx, rec_v, out_idx, out_off):
        """kernels/lif.py::iaf_psc_alpha on the device (one number per parameter); returns
        the number of spikes."""
        n = y3.shape[0]
        flags = self.xp.zeros((n_steps, n), np.uint8)
        rec_idx = self.xp.asarray(rec_idx)
        self.launch("lif", "iaf_psc_alpha", _blocks(n), (THREADS,), (
            np.int64(n), y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur,
            *_i64(*ring_ex.shape, ring_cur.shape[0], col0, t0, n_steps),
            *_f64(P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in, P21in, P31in, P32in,
                  IPSC, I_e, theta, V_reset, V_min),
            np.int64(refr_counts), np.float64(E_L), rec_idx, np.int64(rec_idx.size), rec_v, flags))
        return self._spikes(flags, out_idx, out_off)

    @staticmethod
    def block_table(blocks):
        """kernels/lif.py::block_table: here the argument tuples themselves."""
        return list(blocks)

    def _each_population(self, kernel, n_state, blocks, rings, t0, n_steps, out_col, out_off):
        """``kernel`` (its first ``n_state`` arguments the state arrays) for each population,
        one launch each, with the spike output of kernels/lif.py::iaf_psc_delta_blocks;
        ``rings``: (ring_ex, ring_in, ring_cur)."""
        k = 0
        for args in blocks:
            col0, *rest = args[n_state:]
            n = kernel(*args[:n_state], *rings, col0, t0, n_steps, *rest, out_col[k:], out_off[k:])
            out_col[k:k + n] += col0
            k += n
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
            self.xp.asarray(src_gid), self.xp.asarray(src_step), *_i64(n, gid_lo), ptr,
            np.int64(ptr.shape[0] - 1), post, self._pointer(weight), *_i64(shift, weight_all),
            self._pointer(delay), np.int64(delay_all), ring_ex, ring_in, *_i64(*ring_ex.shape)))

    @staticmethod
    def table(projections):
        """kernels/delivery.py::table: here the argument tuples themselves."""
        return list(projections)

    def deliver_table(self, src_gid, src_step, projections, ring_ex, ring_in):
        """kernels/delivery.py::deliver_table: one launch per projection."""
        for args in projections:
            self.deliver(src_gid, src_step, *args, ring_ex, ring_in)

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
        groups = (np.int64(len(group_row)), *(xp.asarray(a) for a in (group_row, group_ptr, stamp)))
        exp_plus = self._exp_div(dt, tau_plus)
        rule = (*_f64(dt, tau_plus, lam, alpha, mu_plus, mu_minus, w_max), exp_plus,
                np.int64(exp_plus.size), *self._exp_minus(dt, inv_tau_minus), inv_tau_minus,
                *self._triplet_rule(dt, triplet))
        n_out, out_pos = xp.zeros(1, np.int64), xp.zeros(len(out_stamp), np.int64)
        rec_syn = xp.asarray(rec_syn)
        self.launch("stdp", template_name("stdp_synapses", post, delay),
                    _blocks(len(group_row), 1), (128,), (
            *groups, xp.asarray(pos), ptr, post, weight, self._pointer(delay), np.int64(delay_all),
            kplus, t_last, h, hf, np.int64(h.shape[1]), *rule,
            np.int32(mode), ring_ex,
            ring_in, *_i64(*ring_ex.shape), xp.asarray(rec_row, np.uint8), rec_syn,
            np.int64(rec_syn.size), n_out, out_pos, out_stamp, out_syn, out_w))
        self.launch("stdp", "stdp_rows", _blocks(len(group_row)), (THREADS,), (
            *groups, kplus, t_last, *rule))
        return self._sorted_events(int(n_out[0]), out_pos, out_stamp, out_syn, out_w)

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
