"""The package's layers, enforced: read every module's imports (top-level and nested) and check them.

- the core (everything in ``parity`` but the apps, the local tooling and the CLI) imports no app,
  no local tooling and not the CLI;
- an app (``parity.consumer``, ``parity.reconciler``, ``parity.search``, ``parity.rollback``, ``parity.repair``) imports
  the core and itself, never another app;
- only the CLI (``parity.cli``) and the demo (``parity.local.demo``, which drives the CLI) wire apps
  together; the CLI names the apps' command modules in ``COMMANDS`` and imports them on demand.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import parity

ROOT = Path(parity.__file__).parent
APPS = ("consumer", "reconciler", "search", "rollback", "repair")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    # os.walk follows the links parity/consumer -> ../consumer; Path.rglob (3.11) would not
    paths = [Path(d) / f for d, _, files in os.walk(ROOT, followlinks=True) for f in files if f.endswith(".py")]
    for path in sorted(paths):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(["parity", *parts])] = path
    return found


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "parity" or name.startswith("parity.")}


def layer(module: str) -> str:
    """``app:<name>``, ``wiring`` or ``core``."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in APPS:
        return f"app:{parts[1]}"
    if module == "parity.cli" or module.startswith("parity.local.demo"):
        return "wiring"
    if module.startswith("parity.local"):
        return "local"
    return "core"


def allowed(importer: str, imported: str) -> bool:
    source, target = layer(importer), layer(imported)
    if source == "wiring" or target == "core":
        return True
    if source == "local":
        return target == "local"
    if source.startswith("app:"):
        return target == source
    return False  # the core imports nothing above it


MODULES = _modules()


def test_every_app_is_found_inside_the_one_package() -> None:
    for app in APPS:
        assert f"parity.{app}" in MODULES, f"parity/{app} (a link to ../{app}) is missing"
    assert len(MODULES) > 80


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_respect_the_layers(module: str) -> None:
    wrong = sorted(name for name in _imports(module, MODULES[module]) if not allowed(module, name))
    assert not wrong, f"{module} ({layer(module)}) imports {wrong}"


def test_the_rule_catches_what_it_claims() -> None:
    assert not allowed("parity.compare", "parity.consumer.checker")
    assert not allowed("parity.rollback.sources", "parity.consumer.judge")
    assert not allowed("parity.store", "parity.local.embedded")
    assert allowed("parity.rollback.sources", "parity.stream.grouping")
    assert allowed("parity.cli", "parity.reconciler.command")
    assert allowed("parity.local.demo.command", "parity.cli")
