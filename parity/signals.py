"""SIGTERM as a request to stop at the next safe point, for commands that write in batches.

ECS stops a task with SIGTERM, then SIGKILL after the stop timeout. A command that writes in
batches (replay, repair) asks the event between batches, finishes the one in hand (its journal
committed), and ends with :class:`~parity.errors.Interrupted` (exit 143).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from parity.telemetry import get_logger

log = get_logger("signals")


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGTERM (ECS stopping the task) sets the event instead of killing: apply finishes its batch first.

    Python as PID 1 of a container would otherwise ignore SIGTERM and be killed mid-batch after the
    stop timeout. SIGINT keeps raising KeyboardInterrupt (a person at a terminal wants it now; the
    batch in hand is rolled back, the run marked failed).
    """
    stopped = threading.Event()

    def on_term(signum: int, _: FrameType | None) -> None:
        log.warning("stop requested; finishing the batch in hand", signal=signal.Signals(signum).name)
        stopped.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGTERM, previous)
