"""Retry with exponential backoff for dependencies that come back by themselves.

Used by ``parity consume`` around every PostgreSQL transaction and every stream read: a dependency
that is down or slow is retried (0.2 s doubling to 30 s, with jitter) until it answers or the process
is asked to stop. Nothing is skipped meanwhile: the batch in hand is retried as a whole.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from parity.errors import DynamoDBError, PostgresUnavailable, Stopped
from parity.telemetry import get_logger

log = get_logger("consumer.backoff")

T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (PostgresUnavailable, DynamoDBError)


@dataclass(frozen=True)
class Backoff:
    first: float = 0.2
    ceiling: float = 30.0

    def delay(self, attempt: int) -> float:
        base: float = min(self.ceiling, self.first * (2**attempt))
        return base * (0.5 + random.random() / 2)


def retry(
    what: str,
    action: Callable[[], T],
    stop: threading.Event,
    *,
    backoff: Backoff = Backoff(),
    retryable: tuple[type[BaseException], ...] = RETRYABLE,
    on_failure: Callable[[int, BaseException], None] | None = None,
) -> T:
    """Run ``action`` until it succeeds; retryable errors wait and retry, others propagate."""
    attempt = 0
    while True:
        try:
            result = action()
        except retryable as exc:
            wait = backoff.delay(attempt)
            log.warning(f"{what} failed; retrying", error=str(exc), attempt=attempt + 1, retry_in_s=round(wait, 2))
            if on_failure is not None:
                on_failure(attempt, exc)
            attempt += 1
            if stop.wait(wait):
                raise Stopped(what) from exc
            continue
        if attempt:
            log.info(f"{what} recovered", attempts=attempt + 1)
        return result
