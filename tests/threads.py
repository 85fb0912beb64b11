"""A thread for tests whose outcome the test sees: a bare ``threading.Thread`` only prints an
exception raised in it (the test then fails later, on a missing result, with the cause lost)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class Worker(threading.Thread, Generic[T]):
    """Runs ``target`` once; :meth:`result` joins and returns its value or re-raises its exception."""

    def __init__(self, target: Callable[[], T], name: str = "test-worker") -> None:
        super().__init__(name=name, daemon=True)
        self._work = target
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to the test thread by result()
            self._error = exc

    def result(self, timeout: float) -> T:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"{self.name} still running after {timeout} s")
        if self._error is not None:
            raise self._error
        return cast(T, self._value)
