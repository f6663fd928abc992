"""The ``bigbrain`` command: one subcommand per task.

    bigbrain info ARCHIVE [--no-verify]        what an archive holds; checks every chunk
    bigbrain resume ARCHIVE --t MS [...]       continue a run to MS (under mpiexec too)

Each subcommand is a function ``cmd_<name>(args) -> exit code`` registered in
:func:`parser`. Exit codes: 0 success, 1 a problem with the archive or model (the message
names it), 2 usage errors (argparse).
"""
import argparse
import json
import sys

from .archive import ArchiveError, open_store, verify
from .errors import ModelError


def cmd_info(args):
    """Print the run metadata, records and checkpoints of an archive."""
    from .checkpoint import CheckpointError, checkpoint_steps, verify_checkpoint

    root = open_store(args.archive)
    meta = root.attrs["bigbrain"]
    pops = ", ".join(f"{p['name']} ({p['size']} {p['model']})" for p in meta["model"]["populations"])
    print(f"archive      {args.archive} (format {meta['format_version']})")
    print(f"model        {pops}; {len(meta['model']['projections'])} projections; "
          f"dt {meta['dt_ms']} ms, seed {meta['seed']}")
    print(f"run          {meta['status']}, reached {meta['t_end_ms']} ms; started {meta['started']}, "
          f"finished {meta['finished']}")
    for seg in meta["segments"]:
        print(f"  segment    {seg['how']} at step {seg['from_step']} on {seg['n_ranks']} ranks "
              f"({seg['partition']}) -> step {seg.get('to_step')}")
    for name, group in sorted(root["spikes"].groups()) if "spikes" in root else []:
        print(f"spikes       {name}: {group['node_ids'].shape[0]} spikes of {group.attrs['n_recorded']} "
              f"neurons, {group.attrs['t_start_ms']}–{group.attrs['t_stop_ms']} ms")
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


def cmd_resume(args):
    """Continue an archived run from its latest intact checkpoint to ``--t`` ms."""
    from .checkpoint import resume

    settings = {k: v for k, v in (("checkpoint_every", args.checkpoint_every),) if v is not None}
    net = resume(args.archive, partition=args.partition, t_end=args.t, **settings)
    net.run(args.t - net.time)
    if net.rank == 0:
        print(f"{args.archive}: resumed and ran to {net.time} ms")
    return 0


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
    res.set_defaults(func=cmd_resume)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ArchiveError, ModelError) as exc:
        print(f"bigbrain {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
