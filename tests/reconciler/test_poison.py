"""Hostile items in a Scan page are those items' problem, never the run's (issue: poison records).

An item whose key cannot be decoded (a uuid key holding "" or "not-a-uuid", a key with U+0000) is a
dead letter with the reason and the raw item; an item whose other values are hostile (U+0000 in a
text column, JSON text nested 3,000 deep) is a mismatched column. The good items around them are
compared as usual, and the run finishes.
"""

from __future__ import annotations

import json
from pathlib import Path

from parity.local.example import generate, write_postgres
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import reconcile


def test_poison_items_become_dead_letters_or_discrepancies(example_env: ExampleEnv, tmp_path: Path) -> None:
    data = generate(1, 6, seed=3)
    sessions = data[0].sessions
    write_postgres(example_env.conn, [data[0], *sessions])
    items = [s.item() for s in sessions]
    items[0]["sessionId"] = {"S": ""}
    items[1]["sessionId"] = {"S": "not-a-uuid"}
    items[2]["sessionId"] = {"S": sessions[2].id + "\x00"}
    items[3]["summary"] = {"S": "a\x00b"}
    items[4]["metadata"] = {"S": "[" * 3000 + "]" * 3000}
    for item in [data[0].item(), *items]:
        example_env.dynamodb.put_item(TableName=example_env.table, Item=item)

    code, report = reconcile(example_env, tmp_path, "--segments", "2")

    assert code == 0 and report["complete"] is True
    assert report["dead_letters"] == 3
    mismatched = {(d["key"]["id"], tuple(d["columns"])) for d in report["discrepancies"] if d["kind"] == "mismatched"}
    assert mismatched == {(sessions[3].id, ("summary",)), (sessions[4].id, ("metadata",))}
    # the rows of the three dead-lettered items are re-read at their table key (the item_key
    # templates) in the final phase, which compares the mapped columns: they match there
    assert report["compared"] == 7 and report["matched"] == 5 and report["cleared"] == 3
    letters = example_env.conn.execute(
        "SELECT source, record_id, reason, raw FROM parity.dead_letters ORDER BY reason"
    ).fetchall()
    example_env.conn.commit()
    assert [r["source"] for r in letters] == ["reconcile"] * 3
    reasons = " | ".join(r["reason"] for r in letters)
    assert "'' is not a uuid" in reasons and "'not-a-uuid' is not a uuid" in reasons
    assert "\\x00' is not a uuid" in reasons
    raws = {json.loads(r["raw"]["item"])["sessionId"]["S"] for r in letters}
    assert raws == {"", "not-a-uuid", sessions[2].id + "\x00"}  # the raw item, exact
