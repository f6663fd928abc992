"""bigbrain's conductance-based models beside NEST, and NEST beside itself.

NEST integrates iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha and
hh_cond_exp_traub with GSL's adaptive RKF45; bigbrain with exact conductances and fixed RK4
substeps (kernels/cond.py, kernels/hh.py). This script
measures how far bigbrain is from NEST and how far NEST is from itself when its
integration tolerance changes, under identical input (tests/cond_reference.py):

* single neurons (8 per model, explicit excitatory and inhibitory spike trains and I_e,
  1 s): total spikes, the largest shift of a spike (steps) and the largest / mean |ΔV_m|
  (mV) outside 0.5 ms around any spike, each against a reference: NEST's aeif model at
  gsl_error_tol = 1e-10 (iaf_cond_exp and iaf_cond_alpha have a fixed tolerance of 1e-3 in
  NEST; aeif_cond_exp / aeif_cond_alpha with Delta_T = 0, a = b = 0, V_peak = V_th are the
  same equations with a settable one); hh_cond_exp_traub, whose tolerance NEST fixes and
  which has no twin, against bigbrain with 0.001 ms substeps (converged) and NEST, |ΔV_m|
  also outside 3 ms around spikes (an action potential's length);
* the COBA network (Brette et al. 2007, benchmark 1; 4,000 iaf_cond_exp neurons, one
  explicit connectivity per seed shared by both simulators): mean rate and CV of the ISIs
  after the first 100 ms, per seed, for NEST's iaf_cond_exp, NEST's aeif_cond_exp as
  iaf_cond_exp at several tolerances, and bigbrain; and the share of NEST's spikes that
  each run has at the same step;
* the receptor-port models (tests/multisynapse_reference.py: two neurons, three ports each
  with its own Poisson train, 1 s): bigbrain against NEST (default gsl_error_tol for
  aeif_cond_alpha_multisynapse; iaf_psc_exp_multisynapse is exact in both).

Usage::

    python benchmarks/cond_accuracy.py single [--t 1000] [--models aeif_cond_alpha ...]
    python benchmarks/cond_accuracy.py coba [--seeds 1 2 3] [--t 1000] [--tols 1e-3 1e-6 1e-9]
    python benchmarks/cond_accuracy.py multisynapse [--t 1000]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import cond_reference as cr  # noqa: E402
from bigbrain.neurons import MODELS  # noqa: E402

#: NEST's twin of a model with a settable gsl_error_tol and the parameters that make it so.
AS_IAF = {"Delta_T": 0.0, "a": 0.0, "b": 0.0}
TWIN = {"iaf_cond_exp": "aeif_cond_exp", "iaf_cond_alpha": "aeif_cond_alpha"}
#: NEST's iaf_cond_exp / iaf_cond_alpha defaults, given explicitly (the twin's differ).
IAF = {k: v[0] for k, v in MODELS["iaf_cond_exp"].params.items() if k not in ("V_m", "tau_minus")}
SINGLE = {  # model: (parameters, I_e range pA, more of single_case's arguments)
    "iaf_cond_exp": (IAF, (300.0, 600.0), {}),
    "iaf_cond_alpha": (IAF, (300.0, 600.0), {}),
    "aeif_cond_exp": ({}, (600.0, 1200.0), {}),
    "aeif_cond_alpha": ({}, (800.0, 1400.0), {}),
    "hh_cond_exp_traub": ({"E_L": -60.0}, (0.0, 300.0), {"weight": (6.0, -20.0)}),
}
#: Models whose tolerance NEST fixes in its code, without a twin: compared with NEST only.
FIXED_TOLERANCE = {"hh_cond_exp_traub"}


def twin(model, params):
    """(NEST model with gsl_error_tol, its parameters) equal in equations to ``model``."""
    if model not in TWIN:
        return model, {}
    return TWIN[model], {**AS_IAF, "V_peak": params.get("V_th", -55.0)}


#: The substep (ms) of the converged reference of a model in FIXED_TOLERANCE.
CONVERGED_H = 0.001


def _converged(case):
    """:func:`cond_reference.run_bigbrain_single` with substeps of CONVERGED_H ms."""
    from bigbrain.neurons import hh_cond
    h_max, hh_cond.H_MAX = hh_cond.H_MAX, CONVERGED_H
    try:
        return cr.run_bigbrain_single(case)
    finally:
        hh_cond.H_MAX = h_max


def _row(label, c):
    print(f"    {label:38s} {c['spikes'][1]:5d} {c['max_shift']!s:>5} "
          f"{c['max_dV']:10.2e} {c['mean_dV']:10.2e}")


def single(t_sim, tols, models):
    print(f"single neurons, {t_sim:g} ms: spikes, largest shift (steps), max / mean |dV_m| (mV)")
    for model in models:
        params, I_e, more = SINGLE[model]
        case = cr.single_case(model, params, I_e=I_e, t_sim=t_sim, **more)
        if model in FIXED_TOLERANCE:
            nest, ours = cr.run_nest_single(case), cr.run_bigbrain_single(case)
            ref = _converged(case)
            print(f"  {model} (reference: bigbrain with substeps of {CONVERGED_H} ms; "
                  "|dV_m| 0.5 ms / 3 ms from spikes)")
            for label, run in ((f"NEST {model}", nest), (f"bigbrain {model}", ours)):
                for window in (5, 30):
                    _row(f"{label}, {window / 10:g} ms", cr.compare(ref, run, window=window))
            for window in (5, 30):
                _row(f"bigbrain vs NEST, {window / 10:g} ms", cr.compare(nest, ours, window=window))
            continue
        name, extra = twin(model, params)
        ref_case = {**case, "model": name}
        ref = cr.run_nest_single(ref_case, **extra, gsl_error_tol=1e-10)
        rows = [(f"NEST {model}", cr.run_nest_single(case))]
        rows += [(f"NEST {name} tol {tol:g}",
                  cr.run_nest_single(ref_case, **extra, gsl_error_tol=tol)) for tol in tols]
        rows.append((f"bigbrain {model}", cr.run_bigbrain_single(case)))
        print(f"  {model} (reference: NEST {name}, gsl_error_tol 1e-10)")
        for label, run in rows:
            _row(label, cr.compare(ref, run, window=5))
        _row("bigbrain vs NEST " + model, cr.compare(rows[0][1], rows[-1][1], window=5))


def multisynapse(t_sim):
    import multisynapse_reference as mr
    print(f"receptor ports, {t_sim:g} ms: spikes, largest shift (steps), max / mean |dV_m| (mV)")
    for model in mr.CASES:
        case = mr.case(model, t_sim=t_sim)
        (nest_spikes, nest), (our_spikes, ours) = mr.run_nest(case), mr.run_bigbrain(case)
        _row(f"bigbrain vs NEST {model}", cr.compare((nest_spikes, nest["V_m"]),
                                                     (our_spikes, ours["V_m"]), window=5))


def same_spikes(a, b):
    """The share of the spikes (neuron, step) of ``a`` that ``b`` has too."""
    both = sum(len(np.intersect1d(x, y)) for x, y in zip(a, b))
    return both / max(1, sum(len(x) for x in a))


def coba(seeds, t_sim, tols):
    skip = 100.0
    print(f"COBA, {t_sim:g} ms (statistics after {skip:g} ms): rate (spikes/s), CV of ISIs, "
          "wall s, share of NEST iaf_cond_exp's spikes (neuron, step) in the run")
    runs = {"NEST iaf_cond_exp": lambda c: cr.run_nest_coba(c, t_sim)}
    for tol in tols:
        runs[f"NEST aeif_cond_exp as iaf, tol {tol:g}"] = (
            lambda c, tol=tol: cr.run_nest_coba({**c, "model": "aeif_cond_exp"}, t_sim, **AS_IAF,
                                                V_peak=cr.COBA["V_th"], gsl_error_tol=tol))
    runs["bigbrain iaf_cond_exp"] = lambda c: cr.run_bigbrain_coba(c, t_sim)
    table = {label: [] for label in runs}
    for seed in seeds:
        case = cr.coba_case(seed)
        nest = None
        for label, run in runs.items():
            t0 = time.perf_counter()
            spikes = run(case)
            wall = time.perf_counter() - t0
            nest = spikes if nest is None else nest
            rate, cv = cr.rate_and_cv(spikes, t_sim, skip)
            table[label].append((rate, cv))
            print(f"  seed {seed} {label:38s} {rate:7.3f} {cv:6.3f} {wall:7.1f}   "
                  f"{same_spikes(nest, spikes):7.2%}", flush=True)
    print("  mean over seeds; relative to NEST iaf_cond_exp")
    base = np.mean(table["NEST iaf_cond_exp"], axis=0)
    for label, values in table.items():
        m = np.mean(values, axis=0)
        print(f"    {label:38s} {m[0]:7.3f} {m[1]:6.3f}   {m[0] / base[0] - 1:+7.2%} "
              f"{m[1] / base[1] - 1:+7.2%}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["single", "coba", "multisynapse"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--t", type=float, default=1000.0, help="ms")
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-3, 1e-6, 1e-9])
    ap.add_argument("--models", nargs="+", default=list(SINGLE), choices=list(SINGLE))
    args = ap.parse_args()
    if args.what == "single":
        single(args.t, args.tols, args.models)
    elif args.what == "multisynapse":
        multisynapse(args.t)
    else:
        coba(args.seeds, args.t, args.tols)


if __name__ == "__main__":
    main()
