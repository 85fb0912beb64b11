"""`parity demo` where the `local` extra is not installed (a production install): one line naming the
install command, exit 2, nothing written."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main


def test_demo_without_the_local_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def without_local(name: str, *args: Any) -> Any:
        return None if name in ("moto", "pgserver") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_local)
    workdir = tmp_path / "demo"
    assert main(["demo", "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "parity demo needs the 'local' extra, which is not installed (missing: moto, pgserver)" in err
    assert "pip install 'parity[local]'; in a clone of the repository: pip install -e '.[local]'" in err
    assert not workdir.exists()
