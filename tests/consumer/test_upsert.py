"""The consumer's upsert statement builder (pure: the SQL text), and its use on a real table."""

from __future__ import annotations

from psycopg import sql

from parity.consumer.upsert import upsert_sql
from parity.pg import connect


def test_every_non_conflict_column_takes_the_incoming_value() -> None:
    query = upsert_sql(sql.Identifier("s", "t"), ["k", "a", "b"], ["k"], alias="p", where="p.a < EXCLUDED.a")
    assert query.as_string(None) == (
        'INSERT INTO "s"."t" AS "p" ("k", "a", "b") VALUES (%s, %s, %s) ON CONFLICT ("k") DO UPDATE SET'
        ' "a" = EXCLUDED."a", "b" = EXCLUDED."b" WHERE p.a < EXCLUDED.a'
    )


def test_guarded_upsert_keeps_the_newer_stored_row(pg_dsn: str) -> None:
    query = upsert_sql(
        sql.Identifier("t"), ["k", "version", "v"], ["k"], alias="p", where="EXCLUDED.version >= p.version"
    )
    with connect(pg_dsn) as conn:
        conn.execute("CREATE TABLE t (k text PRIMARY KEY, version int NOT NULL, v text)")
        with conn.cursor() as cur:
            cur.executemany(query, [("x", 2, "two"), ("x", 1, "one (late, older)"), ("y", 1, "y1"), ("y", 3, "y3")])
        rows = conn.execute("SELECT k, version, v FROM t ORDER BY k").fetchall()
    assert rows == [{"k": "x", "version": 2, "v": "two"}, {"k": "y", "version": 3, "v": "y3"}]
