"""tests/threads.Worker hands the thread's exception to the test."""

from __future__ import annotations

import pytest

from tests.threads import Worker


def test_the_value_comes_back() -> None:
    worker = Worker(lambda: 42)
    worker.start()
    assert worker.result(5) == 42


def test_the_exception_is_raised_in_the_test() -> None:
    def boom() -> int:
        raise KeyError("lost before")

    worker = Worker(boom)
    worker.start()
    with pytest.raises(KeyError, match="lost before"):
        worker.result(5)
