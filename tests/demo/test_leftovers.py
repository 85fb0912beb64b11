"""The demo test's "nothing left running" check counts a stack's own servers and no one else's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from parity.local.embedded import EmbeddedStack
from tests.demo.leftovers import processes_using


@pytest.mark.slow
def test_a_running_stack_is_seen_by_its_folder_and_only_by_it(tmp_path: Path) -> None:
    stack = EmbeddedStack().start()
    try:
        assert stack.moto is not None and stack.postgres is not None
        ours = processes_using(stack.root)
        postmaster = int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        assert stack.moto.process.pid in ours and postmaster in ours, ours
        # PostgreSQL's background processes too (their command line names no folder; they work in it)
        assert any(command.startswith("postgres: ") for command in ours.values()), ours
        # to another demo's check, this stack (another checkout's servers) is not a leftover
        assert processes_using(tmp_path) == {}
    finally:
        stack.close()
    deadline = time.monotonic() + 10
    while processes_using(stack.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_using(stack.root) == {}
