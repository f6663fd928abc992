"""The ``bigbrain`` command: one subcommand per task.

    bigbrain run [MODEL] [--t MS] [--out PATH] [--set KEY=VALUE] [...]
                                               run a model file or shipped model (default
                                               brunel-ai); python, mpiexec -n K or srun
    bigbrain submit MODEL --nodes N ... [--array KEY=V1,V2] [--dry-run]
                                               render a batch script (jobs/) and sbatch it
    bigbrain info ARCHIVE [--no-verify]        what an archive holds; checks every chunk
    bigbrain resume ARCHIVE --t MS [...]       continue a run to MS (under mpiexec too)
    bigbrain report ARCHIVE [--out DIR]        HTML summary (rates, CVs, rasters)
    bigbrain learn digits [--neurons N] [--epochs E] [--out ARCHIVE] [...]
                                               Diehl & Cook digit learning (bigbrain.learn)

Each subcommand is a function ``cmd_<name>(args) -> exit code`` registered in
:func:`parser`. Exit codes: 0 success, 1 a problem with the archive or model (the message
names it), 2 usage errors (argparse) and model files that cannot be read or built, 141
when the reader of the output stops (``bigbrain info A | head``). Under ``mpiexec`` every
rank meets the same error; rank 0 prints it, once. ``run`` and ``resume`` show the build's
stages (logger ``bigbrain.build``) and the progress on rank 0.
"""
import argparse
import contextlib
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from mpi4py import MPI

from .archive import ArchiveError, open_store, verify
from .errors import ModelError, RankError
from .modelfile import ModelFileError, shipped_models

DEFAULT_MODEL = "brunel-ai"


def cmd_info(args):
    """Print the run metadata, records and checkpoints of an archive."""
    from .archive import records_reach, spike_extent
    from .checkpoint import CheckpointError, checkpoint_steps, verify_checkpoint

    root = open_store(args.archive)
    meta = root.attrs["bigbrain"]
    pops = ", ".join(f"{p['name']} ({p['size']} {p['model']})" for p in meta["model"]["populations"])
    print(f"archive      {args.archive} (format {meta['format_version']})")
    print(f"model        {pops}; {len(meta['model']['projections'])} projections; "
          f"dt {meta['dt_ms']} ms, seed {meta['seed']}")
    reach = _stored(lambda: round(records_reach(root), 6))
    reached = f"reached {meta['t_end_ms']} ms" if reach in (None, meta["t_end_ms"]) else \
        f"records reach {reach} ms (the metadata was last updated at {meta['t_end_ms']} ms)"
    print(f"run          {meta['status']}, {reached}; started {meta['started']}, "
          f"finished {meta['finished']}")
    for seg in meta["segments"]:
        print(f"  segment    {seg['how']} at step {seg['from_step']} on {seg['n_ranks']} ranks "
              f"({seg['partition']}) -> step {seg.get('to_step')}")
    for name, group in _stored(lambda: sorted(root["spikes"].groups()) if "spikes" in root else [], []):
        n, first, last = _stored(lambda: spike_extent(root, f"spikes/{name}"), (0, None, None))
        print(f"spikes       {name}: {n} spikes of {group.attrs['n_recorded']} neurons"
              + (f", {round(first, 6)}–{round(last, 6)} ms" if n else ""))
    bad = 0
    for step in checkpoint_steps(root):
        try:
            m = verify_checkpoint(root, step)
            print(f"checkpoint   {step} ({m['t_ms']} ms, {m['reason']}, {m['n_ranks']} ranks): intact")
        except CheckpointError as exc:
            bad += 1
            print(f"checkpoint   {step}: BROKEN, skipped on resume: {exc}")
    problems = [] if args.no_verify else verify(args.archive)
    for problem in problems:
        print(f"damaged      {problem}")
    if args.json:
        print(json.dumps(meta, indent=1))
    return 1 if problems else 0


def _stored(read, unreadable=None):
    """``read()``, or ``unreadable`` when the records are damaged (verify names them)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - damaged records or metadata: reported by verify
        return unreadable


def cmd_resume(args):
    """Continue an archived run from its latest intact checkpoint to ``--t`` ms."""
    from .resumption import resume

    settings = {k: v for k, v in (("checkpoint_every", args.checkpoint_every),) if v is not None}
    net = resume(args.archive, partition=args.partition, t_end=_duration("--t", args.t), **settings)
    return _run_to(net, args.t, f"{args.archive}: resumed and ran to", args.progress_every)


def cmd_run(args):
    """Run a model file (or shipped model) to ``--t`` ms into an archive."""
    from .archive import Archive
    from .checkpoint import latest_checkpoint
    from .resumption import resume
    from .modelfile import read

    if args.model and args.model.endswith(".json"):  # a SONATA simulation or circuit config
        from .sonata import SonataModel
        read = SonataModel  # noqa: F811 - the same interface as a model file
    model = read(args.model or DEFAULT_MODEL, [_setting(s) for s in args.set])
    t = model.run["t"] if args.t is None else _duration("--t", args.t)
    out = args.out or model.run["output"] or f"{Path(model.path).stem}.zarr"
    every = model.run["checkpoint_every"] if args.checkpoint_every is None else args.checkpoint_every
    settings = {k: v for k, v in (("checkpoint_every", every), ("flush_every", model.run["flush_every"]))
                if v is not None}
    if args.resume and Path(out).is_dir() and latest_checkpoint(open_store(out))[0] is not None:
        described = model.network(partition=args.partition, backend=model.run["backend"])
        net = resume(out, partition=args.partition, net=described, t_end=t, **settings)
    else:
        if not (args.overwrite or args.resume) and Path(out).exists():
            raise ArchiveError(f"{out}: an archive (or file) exists there already; add --overwrite "
                               f"to replace it, or continue it: bigbrain resume {out} --t MS")
        archive = Archive(out, overwrite=args.overwrite or args.resume, **settings)
        net = model.network(archive=archive, partition=args.partition,
                            backend=model.run["backend"])
    return _run_to(net, t, f"{out}:", args.progress_every)


def _run_to(net, t, done, progress_every):
    """Run ``net`` to ``t`` ms with progress on rank 0; print ``done`` and where it got."""
    from .progress import Progress

    sim = net.build()
    logging.getLogger("bigbrain.build").info("done%s", "" if sim.archive is None else ", archive created")
    if progress_every != 0:
        sim.progress = Progress(sim, t, log_every_s=progress_every)
    net.run(max(0.0, t - net.time))
    if net.rank == 0:
        print(f"{done} {net.time} ms on {net.n_ranks} rank(s)")
    return 0


def _duration(option, t):
    """``t`` (ms) of ``option``, refused unless finite and >= 0."""
    if not (math.isfinite(t) and t >= 0):
        raise ModelError(option, f"must be a time >= 0 ms, got {t}")
    return t


@contextlib.contextmanager
def _build_log(stream):
    """Show rank 0's build stages (logger ``bigbrain.build``) with seconds since the start."""
    log = logging.getLogger("bigbrain.build")
    if MPI.COMM_WORLD.Get_rank() != 0:
        yield
        return
    start = time.perf_counter()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("bigbrain: build: %(message)s [%(elapsed).1f s]"))
    handler.addFilter(lambda record: setattr(record, "elapsed", time.perf_counter() - start) or True)
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _setting(text):
    """``KEY=VALUE`` of --set as (dotted key, TOML value text)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ModelFileError("--set", text, "expected KEY=VALUE, e.g. builder.g=4.5")
    return key.strip(), value.strip()


def cmd_submit(args):
    """Render a batch script for MODEL and submit it with sbatch (or print it: --dry-run)."""
    from .jobs.batch import BatchJob, JobError

    try:
        job = BatchJob(model=args.model, nodes=args.nodes, ntasks_per_node=args.ntasks_per_node,
                       gpus_per_task=args.gpus_per_task, time=args.time, partition=args.partition,
                       account=args.account, job_name=args.job_name, t=args.t, out=args.out,
                       settings=[_setting(s) for s in args.set],
                       sweep=args.array, warning_s=args.signal_before, progress_s=args.progress_every)
        if args.dry_run:
            print(job.render(), end="")
            return 0
        print(job.submit())
    except JobError as exc:
        print(f"bigbrain submit: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_report(args):
    """Write an HTML summary of an archive."""
    from .analysis.report import write_report

    page = write_report(args.archive, args.out or f"{args.archive.rstrip('/')}.report")
    print(page)
    return 0


def cmd_export(args):
    """Write an archive's records as a SONATA spike report and/or an NWB file."""
    from .export import export

    for path in export(args.archive, sonata=args.sonata, nwb=args.nwb):
        print(path)
    return 0


def _run_arguments(p, out_help="archive path (default: the file's run.output or MODEL.zarr)"):
    p.add_argument("--t", type=float, default=None, help="biological time to reach (ms; default: the file's)")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model-file value, e.g. builder.scale=0.2, network.seed=3 or "
                        "network.exchange=mesh")


def _progress_argument(p):
    p.add_argument("--progress-every", type=float, default=30.0, metavar="S",
                   help="seconds between progress lines in a log (0: none; a terminal gets a bar)")


def parser():
    p = argparse.ArgumentParser(prog="bigbrain", description="Simulate large spiking networks.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe and check a run archive")
    info.add_argument("archive")
    info.add_argument("--no-verify", action="store_true", help="do not read every chunk")
    info.add_argument("--json", action="store_true", help="also print the metadata as JSON")
    info.set_defaults(func=cmd_info)
    res = sub.add_parser("resume", help="continue a run from its latest checkpoint")
    res.add_argument("archive")
    res.add_argument("--t", type=float, required=True, help="end time (ms) of the continued run")
    res.add_argument("--partition", default=None, help="a different partition (default: the run's)")
    res.add_argument("--checkpoint-every", type=float, default=None, help="ms between checkpoints")
    _progress_argument(res)
    res.set_defaults(func=cmd_resume)
    shipped = ", ".join(shipped_models())
    run = sub.add_parser("run", help="run a model file or a shipped model")
    run.add_argument("model", nargs="?", default=None,
                     help=f"a .toml model file (see examples/model.toml), a shipped model: {shipped} "
                          f"(default {DEFAULT_MODEL}), or a SONATA simulation/circuit config (.json)")
    _run_arguments(run)
    run.add_argument("--partition", default=None,
                     help="round_robin, blocks, population or graph (default: the file's)")
    run.add_argument("--checkpoint-every", type=float, default=None, help="ms between checkpoints")
    run.add_argument("--overwrite", action="store_true", help="replace an existing archive")
    run.add_argument("--resume", action="store_true", help="continue the archive from its latest "
                     "checkpoint if it has one, else start it afresh (batch jobs that requeue)")
    _progress_argument(run)
    run.set_defaults(func=cmd_run)
    sb = sub.add_parser("submit", help="render a SLURM batch script from jobs/ and sbatch it",
                        description="Render jobs/templates/sbatch.sh for `bigbrain run MODEL` on N "
                        "nodes and submit it with sbatch. The job checkpoints before its time limit "
                        "and requeues itself; the script is written beside the archive (OUT.sbatch), "
                        "the log too (OUT-JOBID.log).")
    sb.add_argument("model", help=f"a .toml model file or a shipped model: {shipped}")
    _run_arguments(sb, out_help="archive path (default: the file's run.output or MODEL.zarr); with "
                   "--array, one archive per value beside it: OUT-KEY=VALUE.zarr (OUT without .zarr)")
    sb.add_argument("--nodes", type=int, default=1, help="nodes to run on (sbatch --nodes; default 1)")
    sb.add_argument("--ntasks-per-node", type=int, default=1,
                    help="MPI ranks per node (default 1; with GPUs, one rank per GPU)")
    sb.add_argument("--gpus-per-task", type=int, default=0,
                    help="GPUs per rank (0: CPU only; 1 with run.backend = \"gpu\")")
    sb.add_argument("--time", default="01:00:00", help="time limit [D-]HH:MM:SS (default 01:00:00)")
    sb.add_argument("--partition", default=None, help="SLURM partition (default: the cluster's)")
    sb.add_argument("--account", default=None, help="account charged (default: yours)")
    sb.add_argument("--job-name", default=None, help="job name (default bb-MODEL)")
    sb.add_argument("--array", default=None, metavar="KEY=V1,V2,...",
                    help="sweep one model-file value, e.g. builder.g=4,5,6: one array task and one "
                         "archive per value")
    sb.add_argument("--signal-before", type=int, default=60, metavar="S",
                    help="seconds before the time limit at which the job checkpoints and requeues")
    sb.add_argument("--progress-every", type=int, default=30, metavar="S",
                    help="seconds between progress lines in the job's log")
    sb.add_argument("--dry-run", action="store_true", help="print the script, submit nothing")
    sb.set_defaults(func=cmd_submit)
    rep = sub.add_parser("report", help="write an HTML report of an archive")
    rep.add_argument("archive")
    rep.add_argument("--out", default=None, help="folder (default ARCHIVE.report)")
    rep.set_defaults(func=cmd_report)
    exp = sub.add_parser("export", help="write an archive's records as SONATA and/or NWB")
    exp.add_argument("archive")
    exp.add_argument("--sonata", default=None, metavar="OUT.h5", help="SONATA spike report")
    exp.add_argument("--nwb", default=None, metavar="OUT.nwb", help="NWB file (pynwb)")
    exp.set_defaults(func=cmd_export)
    from .learn import add_parser as add_learn
    add_learn(sub)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        with _build_log(sys.stderr):
            code = args.func(args)
        sys.stdout.flush()                   # a closed pipe shows here, not at exit
        return code
    except ModelFileError as exc:
        return _fail(args.command, exc, 2)
    except (ArchiveError, ModelError, RankError) as exc:
        return _fail(args.command, exc, 1)
    except BrokenPipeError:
        # The reader stopped (| head): end quietly, with the exit status of SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _fail(command, exc, code):
    """Print the error once (on rank 0: under mpiexec every rank raises it); return ``code``."""
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(f"bigbrain {command}: {exc}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
