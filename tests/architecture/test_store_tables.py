"""Each store table's SQL lives in one place: the core's tables in ``parity.store``, an app's own
tables in the app module that owns them. A call given a store table's name (``store.table("name")``,
the only way SQL names one, or an alias of it) and any SQL text naming one by hand count as a use."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.architecture.test_layers import _modules

CORE = (
    "discrepancies",
    "discrepancy_events",
    "stream_checkpoints",
    "stream_gaps",
    "reconcile_runs",
    "dynamodb_only_archive",
    "dead_letters",
    "journal_runs",
    "journal_entries",
)
OWNERS: dict[str, tuple[str, ...]] = {
    **{table: ("parity.store.",) for table in CORE},
    "consumer_pending": ("parity.consumer.pending",),
    "consumer_heartbeats": ("parity.consumer.heartbeat",),
    "kcl_high_water": ("parity.consumer.high_water",),
    # the anti-join reads the run's scanned keys in the same query as the user's table
    **{
        f"reconcile_{name}": ("parity.reconciler.runs_store", "parity.reconciler.anti_join", "parity.reconciler.final")
        for name in ("segments", "keys", "findings", "pending")
    },
}
# read-only uses of apps' tables by the core: the report shows the consumer's positions, the
# cutover gate counts overdue re-checks and the latest reconcile run's findings still open
READERS = {
    ("parity.store.workflow", "reconcile_findings"),
    ("parity.report.data", "consumer_heartbeats"),
    ("parity.report.data", "consumer_pending"),
    ("parity.store.workflow", "consumer_pending"),
}
BY_HAND = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+[\w\"{}]*\.?(" + "|".join(OWNERS) + r")\b", re.IGNORECASE)


def _uses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    namers = {"table", "has_table", "rows_if_present"}
    for node in ast.walk(tree):  # aliases: t = store.table
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and node.value.attr in namers:
            namers.update(target.id for target in node.targets if isinstance(target, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in namers:
            found.update(a.value for a in node.args if isinstance(a, ast.Constant) and a.value in OWNERS)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(m.lower() for m in BY_HAND.findall(node.value))
    return found


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def test_the_table_list_is_complete() -> None:
    migrations = Path(__file__).parents[2]
    created = set()
    for sql_file in migrations.glob("**/migrations/*.sql"):
        if ".venv" not in sql_file.parts:
            created.update(re.findall(r"CREATE TABLE (\w+)", sql_file.read_text(encoding="utf-8")))
    assert created == set(OWNERS)


@pytest.mark.parametrize(("module", "path"), sorted(_modules().items()))
def test_store_tables_are_written_by_their_owner_only(module: str, path: Path) -> None:
    strangers = {
        table for table in _uses(path) if not module.startswith(OWNERS[table]) and (module, table) not in READERS
    }
    assert not strangers, f"{module} names store tables it does not own: {sorted(strangers)}"
