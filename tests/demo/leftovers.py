"""Which processes belong to one demo: those that use its stack folder or its workdir.

The demo's embedded PostgreSQL runs from its stack folder (``postgres -D <root>/pgdata``, every
PostgreSQL process works in that directory) and moto writes its log there; ``parity serve`` is
started with the workdir's config. Matching on those paths counts what this demo started and
nothing of the servers other checkouts on the machine run at the same time.
"""

from __future__ import annotations

import os
from pathlib import Path


def processes_using(*folders: Path) -> dict[int, str]:
    """pid -> command line of every live process (zombies excluded) whose command line, working
    directory or an open file lies inside one of ``folders``; this process is left out."""
    roots = [str(folder.resolve()) for folder in folders]

    def inside(path: str) -> bool:
        path = path.removesuffix(" (deleted)")  # a file removed with its folder, still open
        return any(path == root or path.startswith(root + "/") for root in roots)

    found: dict[int, str] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid() or _state(proc) in ("", "Z"):
            continue
        command = _read(proc / "cmdline").replace("\0", " ").strip()
        paths = [_link(proc / "cwd"), *(_link(fd) for fd in _entries(proc / "fd"))]
        if any(root in command for root in roots) or any(inside(p) for p in paths if p):
            found[pid] = command
    return found


def _state(proc: Path) -> str:
    stat = _read(proc / "stat")
    return stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else ""


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the process ended meanwhile, or is not ours to read
        return ""


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
