"""Progress of a running simulation, shown on rank 0.

Every ``check_ms`` of biological time (a step count, so all ranks take part together) the
ranks sum their spike counts (one small allreduce); rank 0 then shows biological time,
real-time factor (wall seconds per biological second), spikes per wall second and the
estimated time left: a bar redrawn in place on a terminal (also under ``mpiexec`` started
from one), or a plain line every ``log_every_s`` seconds in a batch log. A last line is
written when the run ends.

The first check interval holds the start-up (compiling the kernels, first touches of
memory): the real-time factor, the spike rate and the time left are measured from the
first check on, and the start-up is shown apart. The run report
(:mod:`bigbrain.analysis.report`) leaves the start-up out of its real-time factor alike.
"""
import os
import sys
import time

CHECK_MS = 10.0
BAR = 24


class Progress:
    """Attach to a simulation (``sim.progress = Progress(...)``) before ``run``.

    t_end_ms: the biological time (ms) the run goes to. stream: where rank 0 writes
    (default stderr). log_every_s: seconds between plain lines when ``stream`` is not a
    terminal (on a terminal the bar is redrawn at most 5 times a second).
    """

    def __init__(self, sim, t_end_ms, stream=None, log_every_s=30.0):
        self.stream = sys.stderr if stream is None else stream
        self.live = reaches_terminal(self.stream, sim.comm.size)
        self.every_s = 0.2 if self.live else float(log_every_s)
        self.rank0 = sim.comm.rank == 0
        self.dt, self.end_step = sim.dt, int(round(t_end_ms / sim.dt))
        self.check = max(1, int(round(CHECK_MS / sim.dt)))
        self.start = (sim.step, time.perf_counter(), 0)  # (step, wall s, spikes)
        self.steady = None                               # the same at the first check
        self.last_wall = 0.0
        self.next_step = sim.step + self.check

    def update(self, sim):
        """Called by the simulation after each interval (collective at check points)."""
        if sim.step < self.next_step and sim.step < self.end_step:
            return
        self.next_step = (sim.step // self.check + 1) * self.check
        spikes = sim.comm.mpi.allreduce(sim.n_spikes)
        now = time.perf_counter()
        done = sim.step >= self.end_step
        if self.steady is None and not done:
            self.steady = (sim.step, now, spikes)
        if self.rank0 and (done or now - self.last_wall >= self.every_s):
            self.last_wall = now
            self._show(self._text(sim.step, spikes, now), sim.step, done)

    def _text(self, step, spikes, now):
        """The line's text at ``step`` with ``spikes`` so far, at wall-clock ``now``."""
        since = self.steady if self.steady is not None and step > self.steady[0] else self.start
        bio_s = (step - since[0]) * self.dt / 1000.0
        wall = now - since[1]
        measured = bio_s > 0 and (since is self.steady or step >= self.end_step)   # not start-up alone
        rtf = wall / bio_s if measured else float("nan")
        left = (self.end_step - step) * self.dt / 1000.0 * rtf
        rate = (spikes - since[2]) / wall if measured and wall > 0 else float("nan")
        text = (f"t {step * self.dt:.1f}/{self.end_step * self.dt:.1f} ms  RTF {_number(rtf)}  "
                f"{spikes} spikes ({_number(rate)}/s)  left {_clock(left)}")
        if self.steady is not None:
            text += f"  (start-up {self.steady[1] - self.start[1]:.1f} s)"
        return text

    def _show(self, text, step, done):
        if self.live:
            frac = min(1.0, step / max(self.end_step, 1))
            bar = "#" * int(frac * BAR) + "." * (BAR - int(frac * BAR))
            self.stream.write(f"\r[{bar}] {100 * frac:3.0f}% {text}\033[K" + ("\n" if done else ""))
        else:
            self.stream.write(f"bigbrain: {text}\n")
        self.stream.flush()


def reaches_terminal(stream, n_ranks):
    """Whether what ``stream`` gets shows on a terminal: the stream is one, or (with more
    than one rank) the launcher (``mpiexec``) that forwards the ranks' output writes to one
    (Linux: its stderr, found through /proc)."""
    if stream.isatty():
        return True
    if n_ranks == 1 or not sys.platform.startswith("linux"):
        return False
    pid = os.getpid()
    for _ in range(4):                         # rank -> hydra_pmi_proxy -> mpiexec
        try:
            target = os.readlink(f"/proc/{pid}/fd/2")
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            return False
        if not target.startswith(("pipe:", "socket:")):
            return target.startswith(("/dev/pts/", "/dev/tty"))
        pid = int(stat[stat.rindex(")") + 2:].split()[1])       # the parent
    return False


def _number(x):
    return "?" if x != x else f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _clock(seconds):
    """H:MM:SS of a duration in seconds ('?' when unknown)."""
    if seconds != seconds:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
