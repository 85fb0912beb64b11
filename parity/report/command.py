"""``parity report --html FILE``: the parity report as one self-contained HTML page, from the store."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from parity.commands.common import config_from, store_connection
from parity.errors import InputError
from parity.report.data import load
from parity.report.page import render

EXAMPLES = """\
examples:
  parity report                             # writes ./parity-report.html
  parity report --html /tmp/parity.html
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--html", default="parity-report.html", metavar="FILE", help="where to write the HTML page")


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a failure never leaves half a page."""
    if not path.parent.is_dir():
        raise InputError(f"--html {path}: folder {path.parent} does not exist; create it or choose another path")
    fd, tmp = tempfile.mkstemp(prefix=".parity-report-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    target = Path(args.html)
    if not target.parent.is_dir():  # before reading the store: a typo in the path fails at once
        raise InputError(f"--html {target}: folder {target.parent} does not exist; create it or choose another path")
    with store_connection(config) as (conn, store):
        data = load(conn, store)
    from parity.compare import rules_text

    write_atomically(target, render(data, rules=rules_text(config.entity)))
    print(
        f"wrote {target}: {len(data.runs)} reconcile runs, {len(data.open_discrepancies)} open discrepancies",
        file=sys.stdout,
    )
    return 0
