"""``parity check-config``: does the config line up with both live databases?

Per entity: the PostgreSQL table exists, every mapped column exists and its type fits the mapped
type; the DynamoDB table exists, has a stream, and the stream's view type carries what the
checkers need (NEW_AND_OLD_IMAGES for delete checks). The judgement is pure
(:func:`column_findings`, :func:`stream_findings`); the command only gathers facts.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.commands.common import config_from, print_json
from parity.config import EntityConfig, ParityConfig
from parity.dynamo import client, dynamodb_errors, error_code
from parity.errors import ConfigError, DynamoDBError
from parity.pg import Connection, connect, describe_server, dsn_source, resolve_dsn, schema_tables, table_columns
from parity.pg_release import DEFAULT as DEFAULT_RELEASE
from parity.pg_release import SNOWBALL_BY_MAJOR, PostgresRelease
from parity.privileges import REPLAY_TABLE_RIGHTS, current_role, store_rights, table_rights

#: PostgreSQL types (information_schema data_type, or udt_name for arrays) each column type accepts.
COMPATIBLE: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "character varying", "character", "citext", "uuid"}),
    "integer": frozenset({"smallint", "integer", "bigint", "numeric"}),
    "decimal": frozenset({"numeric", "smallint", "integer", "bigint", "real", "double precision"}),
    "boolean": frozenset({"boolean"}),
    "json": frozenset({"jsonb", "json", "text"}),
    "timestamp": frozenset({"timestamp with time zone", "timestamp without time zone", "date", "bigint", "text"}),
    "uuid": frozenset({"uuid", "text", "character varying"}),
    "string_set": frozenset({"_text", "_varchar", "_bpchar", "_citext"}),
    "list": frozenset({"jsonb", "json", "_text", "_varchar", "_int4", "_int8", "_numeric"}),
    "binary": frozenset({"bytea"}),
}


@dataclass(frozen=True)
class Finding:
    """One line of the check: ``ok`` findings are informative, others are problems."""

    subject: str
    ok: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "ok": self.ok, "message": self.message}


def column_findings(
    entity: EntityConfig,
    pg_columns: dict[str, str] | None,
    *,
    index: int = 0,
    schema_tables: list[str] | None = None,
) -> list[Finding]:
    """Compare an entity's mapped columns with the live table's columns and types.

    ``index`` is the entity's place in the config (to name the key ``entity[N].table``);
    ``schema_tables`` the tables of its schema, to suggest one when the table does not exist.
    """
    subject = f"entity {entity.name}: postgres {entity.table}"
    if pg_columns is None:
        import difflib

        names = [f"{entity.schema_name}.{t}" for t in schema_tables or []]
        close = difflib.get_close_matches(entity.table, names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return [
            Finding(subject, False, f"table {entity.table} does not exist (config key entity[{index}].table){hint}")
        ]
    findings = [Finding(subject, True, f"table {entity.table} exists ({len(pg_columns)} columns)")]
    for column, spec in entity.all_columns.items():
        actual = pg_columns.get(column)
        where = f"entity {entity.name}: column {column}"
        if actual is None:
            import difflib

            close = difflib.get_close_matches(column, list(pg_columns), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            findings.append(Finding(where, False, f"column {column} does not exist in {entity.table}{hint}"))
        elif actual not in COMPATIBLE[spec.type]:
            findings.append(Finding(where, False, f"PostgreSQL type {actual} does not fit mapped type {spec.type}"))
        else:
            findings.append(Finding(where, True, f"{actual} <- {spec.attribute} ({spec.type})"))
    return findings


def stream_findings(table: str, description: dict[str, Any], source: str) -> list[Finding]:
    """Judge a DescribeTable answer: the stream the consumer will read and its view type."""
    subject = f"dynamodb table {table}"
    status = description.get("TableStatus", "?")
    findings = [Finding(subject, True, f"exists ({status}, ~{description.get('ItemCount', 0)} items)")]
    if source != "dynamodb-streams":
        return findings
    spec = description.get("StreamSpecification") or {}
    if not spec.get("StreamEnabled"):
        findings.append(
            Finding(
                subject, False, "has no stream: enable one with StreamViewType NEW_AND_OLD_IMAGES for `parity consume`"
            )
        )
        return findings
    view = spec.get("StreamViewType", "?")
    if view == "NEW_AND_OLD_IMAGES":
        findings.append(Finding(subject, True, f"stream {view} ({description.get('LatestStreamArn', '')})"))
    elif view == "NEW_IMAGE":
        findings.append(Finding(subject, True, "stream NEW_IMAGE: writes are checked; deletes carry no old image"))
    else:
        findings.append(
            Finding(subject, False, f"stream view type {view} carries no new image; NEW_AND_OLD_IMAGES is needed")
        )
    return findings


#: What an SSM parameter holds (deploy/cloudformation/parity.yaml hands the config to the tasks from one).
SSM_STANDARD_BYTES = 4096
SSM_ADVANCED_BYTES = 8192


def config_size_finding(path: str, size: int) -> Finding:
    """Whether the config fits the SSM parameter the deployment reads it from (docs/operations.md §3)."""
    subject = f"config {path}"
    if size <= SSM_STANDARD_BYTES:
        return Finding(subject, True, f"{size} bytes: fits a standard SSM parameter (4,096)")
    if size <= SSM_ADVANCED_BYTES:
        return Finding(
            subject,
            True,
            f"{size} bytes: over a standard SSM parameter's 4,096; put it with --tier Intelligent-Tiering"
            " (Advanced, 8,192)",
        )
    return Finding(
        subject,
        False,
        f"{size} bytes: over the 8,192 an SSM parameter holds (Advanced tier); remove comments or split it",
    )


def replay_rights_findings(conn: Connection, config: ParityConfig) -> list[Finding]:
    """What ``parity replay --apply --include-deletes`` and ``--undo`` need, had or lacked by this role."""
    role = current_role(conn)
    findings = [Finding("replay", True, f"connected as PostgreSQL role '{role}'")]
    wanted = [*REPLAY_TABLE_RIGHTS, "DELETE"]  # DELETE: --include-deletes and --undo of an insert
    for rights in [
        *(table_rights(conn, e, wanted) for e in config.entity),
        store_rights(conn, config.postgres.store_schema),
    ]:
        if not rights.exists:
            findings.append(Finding(f"replay: {rights.subject}", False, "does not exist"))
            continue
        has = f"has {', '.join(rights.has)}" if rights.has else "has none of them"
        if rights.lacks:
            target = rights.subject.removeprefix("table ")
            grant = (
                f" (GRANT {', '.join(rights.lacks)} ON {target} TO {role})"
                if rights.subject.startswith("table")
                else ""
            )
            findings.append(
                Finding(f"replay: {rights.subject}", False, f"{has}; lacks {', '.join(rights.lacks)}{grant}")
            )
        else:
            findings.append(Finding(f"replay: {rights.subject}", True, has))
    return findings


def release_finding(configured: str | None, server_version_num: int) -> Finding:
    """Whether search answers like the live server: same Snowball stemmer, same websearch parsing."""
    server = PostgresRelease.from_server_version_num(server_version_num)
    follows = PostgresRelease.parse(configured or DEFAULT_RELEASE)
    subject = "search.postgres_version"
    said = f'"{configured}"' if configured else f"unset (search answers like {DEFAULT_RELEASE})"
    if server.major not in SNOWBALL_BY_MAJOR:
        return Finding(subject, False, f"the server is PostgreSQL {server}: search is not ported for that major")
    advice = f'set postgres_version = "{server}" in [search] so search answers what it answers'
    if follows.snowball != server.snowball:  # stems differ: whole words stop matching
        return Finding(
            subject, False, f"{said}, but the server is PostgreSQL {server} (Snowball {server.snowball}); {advice}"
        )
    if follows.search_behaviour() != server.search_behaviour():  # a few rare queries or texts differ
        return Finding(
            subject,
            True,
            f"{said}; the server, PostgreSQL {server}, parses some websearch queries or texts differently"
            f" (docs/search.md, PostgreSQL versions): {advice}",
        )
    return Finding(subject, True, f"{said}: answers like the server, PostgreSQL {server} (Snowball {server.snowball})")


def gather(config: ParityConfig, *, replay: bool = False) -> list[Finding]:
    """Connect to both stores and collect findings for every entity (and the replay role's rights)."""
    findings: list[Finding] = []
    dsn = resolve_dsn(config)
    conn = connect(dsn)
    try:
        findings.append(Finding("postgres", True, f"connected to {describe_server(dsn)} ({dsn_source(config)})"))
        if config.search is not None:
            findings.append(release_finding(config.search.postgres_version, conn.info.server_version))
        for index, entity in enumerate(config.entity):
            columns = table_columns(conn, entity.schema_name, entity.table_name)
            tables = None if columns is not None else schema_tables(conn, entity.schema_name)
            findings.extend(column_findings(entity, columns, index=index, schema_tables=tables))
        if replay:
            findings.extend(replay_rights_findings(conn, config))
    finally:
        conn.close()
    dynamodb = client(config.dynamodb, max_attempts=2)
    try:
        with dynamodb_errors(f"describing table {config.dynamodb.table!r}", config.dynamodb):
            description = dynamodb.describe_table(TableName=config.dynamodb.table)["Table"]
    except DynamoDBError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            findings.append(Finding(f"dynamodb table {config.dynamodb.table}", False, "does not exist"))
            return findings
        raise
    findings.extend(stream_findings(config.dynamodb.table, description, config.consumer.source))
    return findings


EXAMPLES = """\
examples:
  parity check-config                       # ./parity.toml against both live databases
  parity --config prod.toml check-config --json
  parity check-config --replay              # the replay role's rights, before an incident
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print findings as JSON")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="also check that the connected role may do what parity replay --apply and --undo do (exit 2 if not)",
    )


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    findings = [
        config_size_finding(args.config, len(Path(args.config).read_bytes())),
        *gather(config, replay=args.replay),
    ]
    problems = [f for f in findings if not f.ok]
    if args.json:
        print_json({"ok": not problems, "findings": [f.to_json() for f in findings]})
    else:
        for finding in findings:
            print(f"{'ok ' if finding.ok else 'BAD'}  {finding.subject}: {finding.message}")
        sys.stdout.flush()
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{args.config}: {first.subject}: {first.message}{more}")
    return 0
