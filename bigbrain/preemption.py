"""Preemption signals: a batch system asks a run to checkpoint, or to checkpoint and stop.

SLURM (``--signal``) or an operator sends SIGUSR1 (checkpoint, then go on) or SIGTERM
(checkpoint, then stop: the process exits with :data:`PREEMPTED_EXIT_CODE`). Each rank
catches them from its first archived ``run`` on; the flag travels with the archive block's
telemetry (one ``allgather`` per block), so all ranks act on it at the same step
(:mod:`bigbrain.checkpoint`).
"""
import atexit
import signal
import threading

PREEMPTED_EXIT_CODE = 0
CONTINUE, STOP = 1, 2
SIGNALS = {signal.SIGUSR1: CONTINUE, signal.SIGTERM: STOP}
REASONS = {CONTINUE: "SIGUSR1", STOP: "SIGTERM"}


class SignalCatcher:
    """Remembers the most urgent preemption signal since it was last asked."""

    def __init__(self):
        self._signal = 0
        self._armed = False

    def arm(self):
        """Catch SIGUSR1 and SIGTERM from now on (main thread only). A signal that arrives
        between two ``run`` calls is acted on in the next one; one that arrives after the
        last is ignored, also while the process exits (:func:`_ignore_signals_at_exit`)."""
        if not self._armed and threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                signal.signal(sig, self._on_signal)
            self._armed = True
            atexit.unregister(_ignore_signals_at_exit)   # once, however many networks run
            atexit.register(_ignore_signals_at_exit)

    def _on_signal(self, signum, frame):
        self._signal = max(self._signal, SIGNALS[signum])

    def pending(self):
        """The signal received since the last call (0, CONTINUE or STOP); clears it."""
        sig, self._signal = self._signal, 0
        return sig


def _ignore_signals_at_exit():
    """At exit, ignore SIGUSR1 and SIGTERM where a catcher catches them. Python's shutdown
    would restore their default action, which kills the process, while it still waits in
    MPI_Finalize for the other ranks: the run is over and archived by then."""
    for sig in SIGNALS:
        if isinstance(getattr(signal.getsignal(sig), "__self__", None), SignalCatcher):
            signal.signal(sig, signal.SIG_IGN)
