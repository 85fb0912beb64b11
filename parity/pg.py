"""PostgreSQL adapter: DSN resolution and scrubbing, connections, batched row reads by key.

psycopg's exceptions stop here: they are re-raised as :class:`~parity.errors.PostgresError` (or
:class:`~parity.errors.PostgresUnavailable` when the server cannot be reached) with a message that
names the server but never its password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps, set_json_loads

from parity.canonical import WrongType
from parity.config import EntityConfig, ParityConfig
from parity.errors import ConfigError, PostgresError, PostgresRefusedValue, PostgresUnavailable
from parity.jsontext import dumps_exact, loads_exact
from parity.mapping import Key, Row, key_to_postgres, row_key

_LIBPQ_VARS = ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGDATABASE", "PGPORT", "PGUSER")

Connection = psycopg.Connection[dict[str, Any]]


def dsn_source(config: ParityConfig) -> str:
    """Where :func:`resolve_dsn` takes the connection from, in words (the config wins over the environment)."""
    env = os.environ.get("PARITY_POSTGRES_DSN")
    if config.postgres.dsn:
        return "from [postgres].dsn" + ("; PARITY_POSTGRES_DSN is set and ignored: the config wins" if env else "")
    if env:
        return "from PARITY_POSTGRES_DSN"
    return "from libpq's PG* variables"


def resolve_dsn(config: ParityConfig) -> str:
    """The DSN from the config, else PARITY_POSTGRES_DSN, else libpq's PG* variables (as '')."""
    if config.postgres.dsn:
        return config.postgres.dsn
    env = os.environ.get("PARITY_POSTGRES_DSN")
    if env:
        return env
    if any(os.environ.get(name) for name in _LIBPQ_VARS):
        return ""
    raise ConfigError(
        "no PostgreSQL connection configured",
        hint="set [postgres].dsn, PARITY_POSTGRES_DSN or libpq's PG* variables; `parity demo` needs none",
    )


_URL_PASSWORD = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*):(?P<pw>[^@/]*)@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def scrub_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (URL and key=value forms, query parameters)."""
    scrubbed = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@" if m["pw"] else m[0], dsn)
    scrubbed = _KV_PASSWORD.sub(r"\1***", scrubbed)
    if "://" in scrubbed and "password=" in scrubbed.lower():
        parts = urlsplit(scrubbed)
        query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
        scrubbed = urlunsplit(parts._replace(query=query))
    return scrubbed


_UNSHOWN = "the configured DSN"
_ENCODING_HINT = (
    "in a URL, percent-encode '/', '@', ':', '?', '#', '%' and spaces in the password (or use the"
    " key=value form with password='...')"
)


def _trusted_conninfo(dsn: str) -> dict[str, Any] | None:
    """libpq's parse of a DSN, or None when it failed or may have put a password elsewhere.

    A URL password holding '/', '@' or ':' without percent-encoding is parsed by libpq as part of
    the host, port or database (``postgresql://u:Ab9/Xy@Zk:Qw@host/db`` reads host ``u``, port
    ``Ab9``); such a parse "succeeds", so a message built from it would print the password. A URL
    whose authority holds more than one '@', with an '@' after its authority, or with a port that
    is not a number, is not trusted: nothing parsed from it is shown.
    """
    try:
        info: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return None
    scheme = re.match(r"(?i)^postgres(ql)?://", dsn)
    if scheme:
        rest = dsn[scheme.end() :]
        authority = re.split(r"[/?]", rest, maxsplit=1)[0]
        if authority.count("@") > 1 or "@" in rest[len(authority) :]:
            return None
    if not all(p.strip().isdigit() for p in str(info.get("port") or "5432").split(",")):
        return None
    if "@" in str(info.get("host") or ""):
        return None
    return info


def describe_server(dsn: str) -> str:
    """Where a DSN points, for messages: ``host:port/dbname``, the socket directory, or "the
    configured DSN" when the DSN does not parse cleanly (no part of it is shown then)."""
    info = _trusted_conninfo(dsn)
    if info is None:
        return _UNSHOWN
    host = str(info.get("host") or os.environ.get("PGHOST") or "local socket")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(info.get("dbname") or os.environ.get("PGDATABASE") or "")
    where = host if host.startswith("/") else f"{host}:{port}"
    return f"{where}/{dbname}" if dbname else where


def _scrub_text(text: str, dsn: str) -> str:
    info = _trusted_conninfo(dsn)
    password = None if info is None else info.get("password")
    text = " ".join(text.split())
    if password:
        text = text.replace(str(password), "***")
    return scrub_dsn(text)


def _row_json(data: str | bytes) -> Any:
    """A json/jsonb value with exact numbers (:func:`~parity.jsontext.loads_exact`); one nested deeper
    than Python's parser goes is the wrong-type marker (that column mismatched: one row's problem)."""
    try:
        return loads_exact(data)
    except RecursionError:
        return WrongType("PostgreSQL JSON nested too deeply to compare")


def connect(dsn: str, *, autocommit: bool = False, application_name: str = "parity") -> Connection:
    """Open a connection whose JSON numbers decode as Decimal and whose json/jsonb parameters are written
    by :func:`~parity.jsontext.dumps_exact` (Decimals exact); PostgresError on failure."""
    try:
        conn: Connection = psycopg.connect(
            dsn, autocommit=autocommit, row_factory=dict_row, connect_timeout=10, application_name=application_name
        )
    except psycopg.OperationalError as exc:
        if _trusted_conninfo(dsn) is None:
            # libpq's message names the host, port or database it parsed: here, parts of a password
            raise PostgresUnavailable(
                f"cannot connect to PostgreSQL with {_UNSHOWN}: its host, port or database may hold part of"
                f" its password, so libpq's message is not shown; {_ENCODING_HINT}"
            ) from None
        message = _scrub_text(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, dsn)
        if "password authentication failed" in message or "authentication" in message:
            raise PostgresError(f"PostgreSQL at {describe_server(dsn)} refused the login: {message}") from None
        raise PostgresUnavailable(f"cannot connect to PostgreSQL at {describe_server(dsn)}: {message}") from None
    except psycopg.ProgrammingError:
        # libpq's parse error quotes the DSN's text (a password with a space: 'missing "=" after "b"')
        raise ConfigError(
            f"{_UNSHOWN} is not a valid PostgreSQL DSN (libpq cannot parse it); {_ENCODING_HINT}"
        ) from None
    set_json_loads(_row_json, conn)
    set_json_dumps(dumps_exact, conn)
    return conn


@contextmanager
def postgres_errors(what: str, dsn: str = "") -> Iterator[None]:
    """Map psycopg errors raised inside the block to PostgresError / PostgresUnavailable."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise PostgresUnavailable(f"{what}: PostgreSQL unavailable: {_scrub_text(str(exc), dsn)}") from exc
    except (psycopg.DataError, psycopg.errors.ProgramLimitExceeded) as exc:
        raise PostgresRefusedValue(f"{what}: {_scrub_text(str(exc), dsn)}") from exc
    except psycopg.Error as exc:
        raise PostgresError(f"{what}: {_scrub_text(str(exc), dsn)}") from exc


def execute_many(conn: Connection, query: sql.Composed, rows: Sequence[Sequence[Any]], what: str) -> None:
    """Run ``query`` once per row of ``rows`` (psycopg pipelines them), nothing when there are
    none; errors mapped as in :func:`postgres_errors` with ``what``. The caller owns the transaction."""
    if not rows:
        return
    with postgres_errors(what), conn.cursor() as cur:
        cur.executemany(query, rows)


def table_identifier(entity: EntityConfig) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(entity.schema_name), sql.Identifier(entity.table_name))


_ARRAY_CAST = {
    "string": "text[]",
    "uuid": "uuid[]",
    "integer": "bigint[]",
    "decimal": "numeric[]",
    "timestamp": "timestamptz[]",
}


def key_params(entity: EntityConfig, keys: Sequence[Key]) -> list[Any]:
    """Bind parameters for :func:`select_rows_sql`: one array per key column."""
    converted = [key_to_postgres(entity, key) for key in keys]
    return [[parts[i] for parts in converted] for i in range(len(entity.key))]


_BIGINT = (-(2**63), 2**63 - 1)


def storable_key(entity: EntityConfig, key: Key) -> bool:
    """Could a PostgreSQL row have this key? False for text holding U+0000 and integers beyond bigint.

    Binding such a key fails the whole statement, so :func:`fetch_rows` leaves it out: no row has
    it, and the checker reports the item as missing in PostgreSQL instead of failing the batch.
    """
    for spec, part in zip(entity.key.values(), key, strict=True):
        if type(part) is str:
            if "\x00" in part:
                return False
        elif spec.type == "integer" and not _BIGINT[0] <= part <= _BIGINT[1]:
            return False
    return True


def fetch_rows(conn: Connection, entity: EntityConfig, keys: Sequence[Key]) -> dict[Key, Row]:
    """The rows of ``keys`` in one round trip, by canonical key (absent keys have no entry).

    The statement and decoding of :func:`fetch_rows_batches`, without its pipeline: a caller already
    in one (the checker's batch transaction) keeps its own round trips and commit point."""
    keys = [k for k in keys if storable_key(entity, k)]
    if not keys:
        return {}
    with postgres_errors(f"reading {entity.table}"), conn.cursor(binary=True) as cur:
        cur.execute(select_rows_sql(entity), key_params(entity, keys))
        return {row_key(entity, row): row for row in cur.fetchall()}


def table_columns(conn: Connection, schema: str, table: str) -> dict[str, str] | None:
    """Column name -> data type of a table, or None when the table does not exist."""
    with postgres_errors(f"describing {schema}.{table}"), conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, udt_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        )
        rows = cur.fetchall()
        if not rows:
            cur.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (schema, table),
            )
            if cur.fetchone() is None:
                return None
    return {
        r["column_name"]: (r["udt_name"] if r["data_type"] in ("ARRAY", "USER-DEFINED") else r["data_type"])
        for r in rows
    }


def schema_tables(conn: Connection, schema: str) -> list[str]:
    """Names of the tables and views in ``schema`` (to suggest one for a misspelt name)."""
    with postgres_errors(f"listing the tables of schema {schema}"), conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
        return [str(r["table_name"]) for r in cur.fetchall()]


def select_rows_sql(entity: EntityConfig) -> sql.Composed:
    """The mapped columns of a batch of keys: a join against ``unnest`` of the key arrays (one array
    per key column, :func:`key_params`), the one way parity reads rows by key.

    ``key = ANY(array)`` is not used: for a 1,000-key batch PostgreSQL plans it as a sequential scan
    with a hashed filter (2% of a 50,000-row table), so each batch costs a pass over the whole table
    and a full reconcile grows with the square of the table. ``unnest`` is estimated at a few rows, so
    the join probes the primary key index once per key, whatever the table size. Columns mapped as ``uuid``
    come back as text (``str``): their canonical form is that text, lower-cased, and building
    ``uuid.UUID`` objects only to print them again cost more than the rest of the row.
    """
    table = table_identifier(entity)
    casts = [sql.SQL(_ARRAY_CAST[spec.type]) for spec in entity.key.values()]
    placeholders = sql.SQL(", ").join(sql.SQL("%s::{}").format(cast) for cast in casts)
    names = sql.SQL(", ").join(sql.Identifier(c) for c in entity.key)
    columns = [
        sql.SQL("t.{0}::text AS {0}" if spec.type == "uuid" else "t.{0}").format(sql.Identifier(c))
        for c, spec in entity.all_columns.items()
    ]
    return sql.SQL("SELECT {cols} FROM unnest({ph}) AS k({names}) JOIN {table} AS t USING ({names})").format(
        cols=sql.SQL(", ").join(columns),
        table=table,
        ph=placeholders,
        names=names,
    )


def fetch_rows_batches(
    conn: Connection,
    batches: Sequence[tuple[EntityConfig, Sequence[Key]]],
    *,
    before: Sequence[tuple[sql.Composed, Mapping[str, Any]]] = (),
) -> list[dict[Key, Row]]:
    """:func:`fetch_rows` for several entities in ONE round trip (a pipeline), in ``batches`` order.

    A Scan page holds items of several entities; reading their rows entity by entity would cost one
    round trip each. Empty key lists give empty dicts without a query; keys no row can have
    (:func:`storable_key`) are left out. ``before``: statements sent
    first in the same pipeline (a reconcile worker's previous page commit); on an autocommit
    connection the pipeline is one implicit transaction, so they commit with it or not at all.
    """
    cursors: list[psycopg.Cursor[dict[str, Any]] | None] = []
    with postgres_errors("reading rows"):
        with conn.pipeline():
            for statement, params in before:
                conn.execute(statement, params)
            for entity, wanted in batches:
                keys = [k for k in wanted if storable_key(entity, k)]
                if not keys:
                    cursors.append(None)
                    continue
                cur = conn.cursor(binary=True)  # binary results: less formatting and parsing on both ends
                cur.execute(select_rows_sql(entity), key_params(entity, keys))
                cursors.append(cur)
        out: list[dict[Key, Row]] = []
        for (entity, _), done in zip(batches, cursors, strict=True):
            if done is None:
                out.append({})
                continue
            out.append({row_key(entity, row): row for row in done.fetchall()})
            done.close()
    return out
