"""A read-capacity budget shared by the Scan workers (``--max-rcu``): a token bucket per second.

Each Scan page reports its ConsumedCapacity; a worker waits before its next page while the
bucket is in debt, so the run as a whole stays near ``max_rcu`` read units per second and a nightly
run cannot starve the application.
"""

from __future__ import annotations

import threading
import time


class RcuBudget:
    def __init__(self, per_second: float | None) -> None:
        self.per_second = per_second
        self._tokens = per_second or 0.0
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        assert self.per_second is not None
        self._tokens = min(self.per_second, self._tokens + (now - self._stamp) * self.per_second)
        self._stamp = now

    def acquire(self) -> float:
        """Wait until the bucket is not in debt; returns the seconds waited."""
        if self.per_second is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens > 0:
                    return waited
                pause = -self._tokens / self.per_second + 0.001
            time.sleep(pause)
            waited += pause

    def spend(self, units: float) -> None:
        if self.per_second is None:
            return
        with self._lock:
            self._refill()
            self._tokens -= units
