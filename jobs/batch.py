"""SLURM batch jobs for bigbrain runs: render ``templates/sbatch.sh`` and submit it.

Every value placed in a script is either matched against a strict pattern (what goes into
``#SBATCH`` lines: names, times, partitions, accounts, paths) or shell-quoted
(``shlex.quote``: model, settings, sweep values), so no name can inject shell code. A
sweep (``KEY=V1,V2,...``) becomes a job array with one task and one archive per value,
side by side: ``--out sweep.zarr --array builder.g=4,5`` writes ``sweep-builder.g=4.zarr``
and ``sweep-builder.g=5.zarr``.
"""
import math
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ModelError
from ..modelfile import read

TEMPLATES = Path(__file__).parent / "templates"
PATTERNS = {
    "job_name": (r"[A-Za-z0-9_.+-]{1,64}", "letters, digits and ._+- (at most 64)"),
    "time": (r"(\d+-)?\d{1,3}:\d{2}:\d{2}|\d+", "[D-]HH:MM:SS or minutes"),
    "partition": (r"[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*", "names of letters, digits, _ and -"),
    "account": (r"[A-Za-z0-9_.-]+", "letters, digits and ._-"),
    "path": (r"[A-Za-z0-9_./%+=-]+", "a path of letters, digits and ._/%+=- (no spaces)"),
    "key": (r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", "a dotted model-file key"),
}


class JobError(ValueError):
    """A job that cannot be rendered or submitted; the message names the option."""


def checked(option, value, kind=None):
    """``value`` if it matches the pattern of ``kind`` (default ``option``) entirely."""
    pattern, expected = PATTERNS[kind or option]
    if not re.fullmatch(pattern, str(value)):
        raise JobError(f"--{option.replace('_', '-')}: expected {expected}, got {value!r}")
    return str(value)


def _count(option, value, low):
    if not (isinstance(value, int) and value >= low):
        raise JobError(f"--{option.replace('_', '-')}: expected an integer >= {low}, got {value!r}")
    return value


class BatchJob:
    """One ``bigbrain run`` of ``model`` as a batch job (or a job array for ``sweep``).

    nodes, ntasks_per_node (MPI ranks per node), gpus_per_task, time ([D-]HH:MM:SS),
    partition, account, job_name: as sbatch's options. t: biological time (ms; default the
    model's). out: the archive (for a sweep, OUT-KEY=VALUE.zarr beside it, one per value; the
    log and script are OUT-….log and OUT.sbatch, OUT without ``.zarr``). settings: (key, value)
    overrides of the model file. sweep: ``"KEY=V1,V2,..."``. warning_s: seconds before the
    time limit at which the job checkpoints and requeues.
    """

    def __init__(self, model, nodes=1, ntasks_per_node=1, gpus_per_task=0, time="01:00:00",
                 partition=None, account=None, job_name=None, t=None, out=None, settings=(),
                 sweep=None, warning_s=60, progress_s=30):
        self.settings = [(checked("set", k, "key"), v) for k, v in settings]
        self.sweep_key, self.sweep_values = _sweep(sweep)
        try:
            models = [read(model, self.settings + ([(self.sweep_key, v)] if self.sweep_key else []))
                      for v in self.sweep_values or [None]]
            for m in models:  # describe each network now: a bad value fails here, not in the job
                m.network(backend=m.run["backend"])
        except ModelError as exc:
            raise JobError(str(exc)) from None
        self.model = str(Path(models[0].path).resolve())
        stem = Path(self.model).stem
        self.t = float(models[0].run["t"] if t is None else t)
        if not (math.isfinite(self.t) and self.t >= 0):
            raise JobError(f"--t: expected a duration >= 0 ms, got {t!r}")
        out = out or models[0].run["output"] or f"{stem}.zarr"
        self.out = checked("out", str(Path(out).resolve()), "path")
        if self.sweep_key:
            self.out = self.out.removesuffix(".zarr")       # the stem of the sweep's archives
        self.values = {
            "job_name": checked("job_name", job_name or re.sub(r"[^A-Za-z0-9_.+-]", "_", f"bb-{stem}")[:64]),
            "nodes": _count("nodes", nodes, 1), "ntasks_per_node": _count("ntasks_per_node", ntasks_per_node, 1),
            "time": checked("time", time), "warning_s": _count("signal_before", warning_s, 1),
            "progress_s": _count("progress_every", progress_s, 1)}
        self.directives = []
        if _count("gpus_per_task", gpus_per_task, 0):
            self.directives.append(f"--gpus-per-task={gpus_per_task}")
        if partition is not None:
            self.directives.append(f"--partition={checked('partition', partition)}")
        if account is not None:
            self.directives.append(f"--account={checked('account', account)}")
        if self.sweep_key:
            self.directives.append(f"--array=0-{len(self.sweep_values) - 1}")

    @property
    def log(self):
        """The job's log file (SLURM expands %j, %A, %a)."""
        return f"{self.out}-%A_%a.log" if self.sweep_key else f"{self.out}-%j.log"

    @property
    def script_path(self):
        return Path(f"{self.out}.sbatch")

    def archives(self):
        """The archive path of each run (one per sweep value)."""
        if not self.sweep_key:
            return [self.out]
        return [f"{self.out}-{self.sweep_key}={v}.zarr" for v in self.sweep_values]

    def render(self):
        """The batch script (text)."""
        if self.sweep_key:
            sweep = (f"VALUES=({' '.join(shlex.quote(v) for v in self.sweep_values)})\n"
                     'VALUE="${VALUES[$SLURM_ARRAY_TASK_ID]}"\n'
                     f'ARCHIVE={shlex.quote(self.out)}-{self.sweep_key}="$VALUE".zarr\n'
                     f'SWEEP=(--set {self.sweep_key}="$VALUE")')
        else:
            sweep = f"ARCHIVE={shlex.quote(self.out)}\nSWEEP=()"
        return render(TEMPLATES / "sbatch.sh", {
            **self.values, "log": checked("out", self.log, "path"), "sweep": sweep,
            "directives": "".join(f"#SBATCH {d}\n" for d in self.directives),
            "bigbrain": shlex.quote(bigbrain_command()), "model": shlex.quote(self.model),
            "t": shlex.quote(repr(self.t)),
            "settings": " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in self.settings)})

    def submit(self):
        """Write the script beside the archive and ``sbatch`` it; returns a summary line."""
        if shutil.which("sbatch") is None:
            raise JobError("sbatch: not found (is SLURM installed? see jobs/local-slurm/start.sh)")
        self.script_path.parent.mkdir(parents=True, exist_ok=True)
        self.script_path.write_text(self.render())
        proc = subprocess.run(["sbatch", "--parsable", str(self.script_path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise JobError(f"sbatch {self.script_path}: {proc.stderr.strip() or proc.stdout.strip()}")
        job_id = proc.stdout.strip().split(";")[0]
        return f"submitted job {job_id}: script {self.script_path}, archive {', '.join(self.archives())}"


def _sweep(text):
    """(key, [values]) of ``KEY=V1,V2,...`` (None, None without a sweep)."""
    if text is None:
        return None, None
    key, sep, values = text.partition("=")
    values = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not values:
        raise JobError(f"--array: expected KEY=V1,V2,..., got {text!r}")
    for v in values:
        checked("array", v, "job_name")          # values name archives: same safe alphabet
    return checked("array", key.strip(), "key"), values


def bigbrain_command():
    """The ``bigbrain`` executable of the running Python (absolute)."""
    here = Path(sys.executable).parent / "bigbrain"
    return str(here) if here.exists() else (shutil.which("bigbrain") or "bigbrain")


def render(template, values):
    """``template`` (a path) with each ``{{name}}`` replaced by ``values[name]``."""
    def value(match):
        if match.group(1) not in values:
            raise JobError(f"{template}: no value for {{{{{match.group(1)}}}}}")
        return str(values[match.group(1)])

    return re.sub(r"\{\{(\w+)\}\}", value, Path(template).read_text())
