"""The reconciler's SQL against the real PostgreSQL: batched row reads and the server-side key objects."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.config import parse_config
from parity.mapping import canonical_row, key_to_json, row_key
from parity.pg import connect, fetch_rows, fetch_rows_batches, table_columns
from parity.reconciler.anti_join import key_object_sql


def _config(entities: list[dict[str, Any]]) -> Any:
    return parse_config({"dynamodb": {"table": "app"}, "entity": entities})


def _canonical(entity: Any, rows: dict[Any, Any]) -> dict[Any, Any]:
    return {key: canonical_row(entity, row) for key, row in rows.items()}


def test_fetch_rows_batches_reads_every_entity_in_one_pipeline(pg_dsn: str) -> None:
    config = _config(
        [
            {
                "name": "s",
                "table": "public.s",
                "match": {"e": "s"},
                "key": {"id": {"attribute": "id", "type": "uuid"}},
                "columns": {"price": {"attribute": "p", "type": "decimal"}},
            },
            {
                "name": "l",
                "table": "l",
                "match": {"e": "l"},
                "key": {"o": {"attribute": "o", "type": "integer"}, "sku": "sku"},
                "columns": {"n": "n"},
            },
        ]
    )
    conn = connect(pg_dsn, autocommit=True)
    conn.execute("CREATE TABLE s (id uuid PRIMARY KEY, price numeric)")
    conn.execute("CREATE TABLE l (o integer, sku text, n text, PRIMARY KEY (o, sku))")
    ids = [uuid.uuid4() for _ in range(3)]
    for i, value in enumerate(ids):
        conn.execute("INSERT INTO s VALUES (%s, %s)", (value, Decimal(i) / 4))
    conn.execute("INSERT INTO l VALUES (1, 'a', 'x'), (1, 'b', 'y'), (2, 'a', 'z')")
    s, line = config.entity
    keys = [(str(ids[0]),), (str(ids[2]),), (str(ids[2]),), (str(uuid.uuid4()),)]  # a duplicate, an absent key
    lkeys = [(Decimal(1), "b"), (Decimal(2), "a"), (Decimal(2), "b")]
    rows, lrows, nothing = fetch_rows_batches(conn, [(s, keys), (line, lkeys), (s, [])])
    assert set(rows) == {keys[0], keys[1]} and rows[keys[1]]["price"] == Decimal("0.5")
    assert rows[keys[1]]["id"] == str(ids[2])  # uuid columns come back as their text
    assert _canonical(s, rows) == _canonical(s, fetch_rows(conn, s, keys))
    assert _canonical(line, lrows) == _canonical(line, fetch_rows(conn, line, lkeys))
    assert {k: r["n"] for k, r in lrows.items()} == {(Decimal(1), "b"): "y", (Decimal(2), "a"): "z"}
    assert nothing == {}
    conn.close()


def test_server_side_key_objects_equal_the_scanned_ones(pg_dsn: str) -> None:
    """The SQL anti-join compares jsonb built by PostgreSQL with key_to_json's objects: same bytes."""
    config = _config(
        [
            {
                "name": "k",
                "table": "public.k",
                "match": {"e": "k"},
                "key": {
                    "u": {"attribute": "u", "type": "uuid"},
                    "ut": {"attribute": "ut", "type": "uuid"},
                    "s": "s",
                    "v": "v",
                    "i": {"attribute": "i", "type": "integer"},
                },
                "columns": {},
            },
            {
                "name": "no",
                "table": "public.no",
                "match": {"e": "no"},
                "key": {"c": "c", "t": {"attribute": "t", "type": "timestamp"}},
                "columns": {},
            },
        ]
    )
    conn = connect(pg_dsn, autocommit=True)
    conn.execute("CREATE TABLE k (u uuid, ut text, s text, v varchar(40), i bigint, PRIMARY KEY (u, ut, s, v, i))")
    conn.execute("CREATE TABLE no (c char(5), t timestamptz, PRIMARY KEY (c, t))")
    values = [
        (uuid.uuid4(), str(uuid.uuid4()).upper(), 'Ünïcode "quoted" \\ back', "trailing  ", 2**62),
        (uuid.uuid4(), str(uuid.uuid4()), "", "x", -7),
    ]
    for row in values:
        conn.execute("INSERT INTO k VALUES (%s, %s, %s, %s, %s)", row)
    entity, other = config.entity
    types = table_columns(conn, "public", "k") or {}
    key_object = key_object_sql(entity, types)
    assert key_object is not None
    assert key_object_sql(other, table_columns(conn, "public", "no") or {}) is None  # char(n), timestamp: Python
    rows = conn.execute(sql.SQL("SELECT {} AS key_object, t.* FROM public.k AS t").format(key_object)).fetchall()
    scanned = [key_to_json(entity, row_key(entity, row)) for row in rows]
    assert len(rows) == 2 and [r["key_object"] for r in rows] == scanned
    matching = conn.execute(
        sql.SQL("SELECT count(*) AS n FROM public.k AS t WHERE {} = ANY(%s::jsonb[])").format(key_object),
        ([Jsonb(k) for k in scanned],),
    ).fetchone()
    assert matching == {"n": 2}  # jsonb equality, as the anti-join compares
    conn.close()


def test_pending_recheck_with_an_integer_key_reads_back_with_the_same_id(pg_dsn: str) -> None:
    """jsonb numbers come back as Decimal on parity's connections; a resumed run's re-check must
    still compute the key's id and JSON (json_key_id refuses Decimals)."""
    from datetime import UTC, datetime

    from parity.mapping import json_key_id
    from parity.reconciler import runs_store
    from parity.reconciler.runs_store import Pending
    from parity.reconciler.tally import Tally
    from parity.store import Store

    store = Store("parity")
    conn = connect(pg_dsn, autocommit=True)
    store.migrate(conn)
    runs_store.create_run(conn, store, "r", 1, {})
    key = {"order": 2**40, "sku": "a"}
    pending = Pending("line", key, json_key_id(key), "mismatched", ("n",), {"pk": {"N": "7"}}, None, None,
                      datetime.now(UTC))  # fmt: skip
    runs_store.save_page(conn, runs_store.page_statement(
        store, "r", 0, keys={"line": [key]}, matched={}, pending=[pending], last_evaluated_key=None,
        tally=Tally(), seen_at=datetime.now(UTC),
    ))  # fmt: skip
    (back,) = runs_store.load_pending(conn, store, "r", 0)
    assert back.key == key and type(back.key["order"]) is int
    assert json_key_id(back.key) == pending.key_id and back.table_key == {"pk": {"N": "7"}}
    conn.close()
