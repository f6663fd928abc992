"""Progress of a running simulation, shown on rank 0.

Every ``check_ms`` of biological time (a step count, so all ranks take part together) the
ranks sum their spike counts (one small allreduce); rank 0 then shows biological time,
real-time factor (wall seconds per biological second), spikes per wall second and the
estimated time left: a bar redrawn in place on a terminal, or a plain line every
``log_every_s`` seconds in a batch log. A last line is written when the run ends.
"""
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
        self.live = self.stream.isatty()
        self.every_s = 0.2 if self.live else float(log_every_s)
        self.rank0 = sim.comm.rank == 0
        self.dt, self.end_step = sim.dt, int(round(t_end_ms / sim.dt))
        self.check = max(1, int(round(CHECK_MS / sim.dt)))
        self.start_step, self.start_wall, self.last_wall = sim.step, time.perf_counter(), 0.0
        self.next_step = sim.step + self.check

    def update(self, sim):
        """Called by the simulation after each interval (collective at check points)."""
        if sim.step < self.next_step and sim.step < self.end_step:
            return
        self.next_step = (sim.step // self.check + 1) * self.check
        spikes = sim.comm.mpi.allreduce(sim.n_spikes)
        now = time.perf_counter()
        done = sim.step >= self.end_step
        if self.rank0 and (done or now - self.last_wall >= self.every_s):
            self.last_wall = now
            self._show(sim.step, spikes, now - self.start_wall, done)

    def _show(self, step, spikes, wall, done):
        bio_s = (step - self.start_step) * self.dt / 1000.0
        rtf = wall / bio_s if bio_s > 0 else float("nan")
        left = (self.end_step - step) * self.dt / 1000.0 * rtf if bio_s > 0 else float("nan")
        text = (f"t {step * self.dt:.1f}/{self.end_step * self.dt:.1f} ms  RTF {rtf:.2f}  "
                f"{spikes} spikes ({spikes / wall if wall > 0 else 0:.3g}/s)  "
                f"left {_clock(left)}")
        if self.live:
            frac = min(1.0, step / max(self.end_step, 1))
            bar = "#" * int(frac * BAR) + "." * (BAR - int(frac * BAR))
            self.stream.write(f"\r[{bar}] {100 * frac:3.0f}% {text}" + ("\n" if done else ""))
        else:
            self.stream.write(f"bigbrain: {text}\n")
        self.stream.flush()


def _clock(seconds):
    """H:MM:SS of a duration in seconds ('?' when unknown)."""
    if seconds != seconds:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
