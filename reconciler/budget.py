"""A read-capacity budget shared by the Scan workers (``--max-rcu``): a token bucket per second.

Each Scan page reports its ConsumedCapacity; a worker waits before its next page while the
bucket is in debt, so the run as a whole stays near ``max_rcu`` read units per second and a nightly
run cannot starve the application. The bucket's two numbers (tokens, last refill) live in shared
memory when the workers are processes (:meth:`RcuBudget.shared`), so one budget covers them all;
``time.monotonic`` is one system-wide clock on Linux.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class RcuBudget:
    def __init__(self, per_second: float | None, *, state: Any = None, lock: Any = None) -> None:
        self.per_second = per_second
        self._state: Any = state if state is not None else [per_second or 0.0, time.monotonic()]
        self._lock: Any = lock if lock is not None else threading.Lock()

    @classmethod
    def shared(cls, per_second: float | None, context: Any) -> RcuBudget:
        """A budget whose bucket lives in shared memory of a multiprocessing ``context`` (before forking)."""
        state = context.RawArray("d", [per_second or 0.0, time.monotonic()])
        return cls(per_second, state=state, lock=context.Lock())

    def _refill(self) -> None:
        now = time.monotonic()
        assert self.per_second is not None
        tokens, stamp = self._state[0], self._state[1]
        self._state[0] = min(self.per_second, tokens + (now - stamp) * self.per_second)
        self._state[1] = now

    def acquire(self) -> float:
        """Wait until the bucket is not in debt; returns the seconds waited."""
        if self.per_second is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._state[0] > 0:
                    return waited
                pause = -self._state[0] / self.per_second + 0.001
            time.sleep(pause)
            waited += pause

    def spend(self, units: float) -> None:
        if self.per_second is None:
            return
        with self._lock:
            self._refill()
            self._state[0] -= units
