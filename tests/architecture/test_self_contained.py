"""The repository stands alone: no tracked file points at documents a clone does not have.

The project's reference is docs/reference.md and its KCL notes are docs/kcl.md. A pointer to a
folder beside the checkout or to a spec file kept outside it would send a reader
to a page they cannot open, so any such reference in a tracked file fails here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# built from parts so this file does not match itself
OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./" + "shared",
            "/work/" + "shared",
            "shared/" + "CONTRACT",
            "shared/" + "KCL\\.md",
            # sections of a spec the repository does not hold ("contract §6", "the contract's report")
            r"\b[Cc]ontract( §|'s\b|: )",
        ]
    )
)


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist): nothing tracked to check")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _tracked_files():
        if path.is_symlink() or not path.is_file() or path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "point these at docs/ instead:\n" + "\n".join(offenders)


def test_the_check_catches_a_pointer() -> None:
    assert OUTSIDE.search("see ../" + "shared/KCL.md") and OUTSIDE.search("(shared/" + "CONTRACT.md §2)")
    assert OUTSIDE.search("in the " + "contract's shape") and OUTSIDE.search("exit codes (" + "contract §9)")
    assert not OUTSIDE.search("docs/reference.md §2")
