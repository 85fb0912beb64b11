"""The example app of ``parity demo``, the tests and the benchmarks: campaigns and their sessions.

The app dual-writes: ElectroDB items into one DynamoDB table (service ``campaignapp``; sessions
under their campaign's partition, ``pk = $campaignapp#campaignid_<id>``, ``sk =
$session_1#sessionid_<id>``) and rows into ``public.campaigns`` / ``public.sessions``. The
functions here build both shapes from one set of values, so a test can write them consistently or
inject a fault on purpose. ``examples/parity.toml`` is the config that maps them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from parity.dynamo_json import serialize
from parity.jsontext import dumps_exact

SERVICE = "campaignapp"

POSTGRES_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.campaigns (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    budget      numeric(14, 2),
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.sessions (
    id              uuid PRIMARY KEY,
    campaign_id     uuid NOT NULL,
    name            text NOT NULL,
    summary         text,
    metadata        jsonb,
    session_number  integer,
    tags            text[],
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_campaign ON {schema}.sessions (campaign_id);
"""


@dataclass(frozen=True)
class Session:
    id: str
    campaign_id: str
    name: str
    summary: str | None
    metadata: dict[str, Any] | None
    session_number: int
    tags: frozenset[str]
    created_at: datetime
    updated_at: datetime

    def item(self) -> dict[str, Any]:
        """The ElectroDB item (typed DynamoDB JSON) the app writes."""
        item: dict[str, Any] = {
            "pk": {"S": f"${SERVICE}#campaignid_{self.campaign_id}"},
            "sk": {"S": f"$session_1#sessionid_{self.id}"},
            "__edb_e__": {"S": "session"},
            "__edb_v__": {"S": "1"},
            "sessionId": {"S": self.id},
            "campaignId": {"S": self.campaign_id},
            "name": {"S": self.name},
            "sessionNumber": {"N": str(self.session_number)},
            "createdAt": {"S": _iso(self.created_at)},
            "updatedAt": {"S": _iso(self.updated_at)},
        }
        if self.summary is not None:
            item["summary"] = {"S": self.summary}
        if self.metadata is not None:
            item["metadata"] = serialize(self.metadata)
        if self.tags:
            item["tags"] = {"SS": sorted(self.tags)}
        return item

    def key(self) -> dict[str, Any]:
        return {
            "pk": {"S": f"${SERVICE}#campaignid_{self.campaign_id}"},
            "sk": {"S": f"$session_1#sessionid_{self.id}"},
        }

    def row(self) -> dict[str, Any]:
        """The PostgreSQL row the app writes (``SESSION_COLUMNS``: each column is the field of its name)."""
        return {
            **{column: getattr(self, column) for column in SESSION_COLUMNS},
            "metadata": None if self.metadata is None else Jsonb(self.metadata, dumps=dumps_exact),
            "tags": sorted(self.tags),
        }

    def touched(self, **changes: Any) -> Session:
        """A later version of this session (updated_at moves forward by a millisecond at least)."""
        updated = changes.pop("updated_at", self.updated_at + timedelta(milliseconds=1))
        return replace(self, updated_at=updated, **changes)


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    budget: Decimal
    active: bool
    updated_at: datetime
    sessions: list[Session] = field(default_factory=list, compare=False)

    def item(self) -> dict[str, Any]:
        millis = int(self.updated_at.timestamp() * 1000)
        return {
            "pk": {"S": f"${SERVICE}#campaignid_{self.id}"},
            "sk": {"S": "$campaign_1"},
            "__edb_e__": {"S": "campaign"},
            "__edb_v__": {"S": "1"},
            "campaignId": {"S": self.id},
            "name": {"S": self.name},
            "budget": {"N": str(self.budget)},
            "active": {"BOOL": self.active},
            "updatedAt": {"N": str(millis)},
        }

    def row(self) -> dict[str, Any]:
        """The PostgreSQL row the app writes (``CAMPAIGN_COLUMNS``)."""
        return {column: getattr(self, column) for column in CAMPAIGN_COLUMNS}


_WORDS = (
    "launch",
    "review",
    "planning",
    "retrospective",
    "budget",
    "forecast",
    "customer",
    "onboarding",
    "pricing",
    "roadmap",
    "quarterly",
    "marketing",
    "campaign",
    "analytics",
    "dashboard",
    "churn",
    "retention",
    "growth",
    "experiment",
    "funnel",
    "newsletter",
    "webinar",
    "partner",
    "outreach",
    "conversion",
    "landing",
    "page",
    "design",
    "research",
    "interviews",
    "survey",
    "feedback",
    "sprint",
    "release",
    "migration",
    "database",
    "dynamodb",
    "postgres",
    "search",
    "cutover",
    "rollback",
)


def _sentence(rng: random.Random, words: int) -> str:
    picked = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(picked).capitalize() + "."


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(campaigns: int, sessions_per_campaign: int, *, seed: int = 7) -> list[Campaign]:
    """Deterministic example data: ``campaigns`` campaigns with their sessions."""
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Campaign] = []
    for c in range(campaigns):
        cid = _uuid(rng)
        moment = base + timedelta(minutes=c, milliseconds=rng.randrange(1000))
        campaign = Campaign(
            cid,
            f"Campaign {c + 1}: {_sentence(rng, 3)}",
            Decimal(rng.randrange(10_000, 10_000_000)) / 100,
            rng.random() < 0.8,
            moment,
        )
        for s in range(sessions_per_campaign):
            created = moment + timedelta(seconds=s, microseconds=rng.randrange(1_000_000))
            created = created.replace(microsecond=created.microsecond // 1000 * 1000)
            metadata = {
                "channel": rng.choice(["email", "web", "social", "partner"]),
                "score": Decimal(rng.randrange(0, 1000)) / 10,
                "owner": {"team": rng.choice(["growth", "brand", "sales"]), "notes": _sentence(rng, 4)},
            }
            campaign.sessions.append(
                Session(
                    id=_uuid(rng),
                    campaign_id=cid,
                    name=_sentence(rng, 3).rstrip("."),
                    summary=_sentence(rng, rng.randrange(6, 20)) if rng.random() < 0.95 else None,
                    metadata=metadata,
                    session_number=s + 1,
                    tags=frozenset(rng.sample(_WORDS, rng.randrange(0, 4))),
                    created_at=created,
                    updated_at=created,
                )
            )
        out.append(campaign)
    return out


def sessions(count: int, per_campaign: int, *, seed: int) -> list[Session]:
    """The first ``count`` sessions of as many campaigns of ``per_campaign`` as they fill (deterministic)."""
    return [s for c in generate(-(-count // per_campaign), per_campaign, seed=seed) for s in c.sessions][:count]


def records(campaigns: list[Campaign]) -> list[Session | Campaign]:
    """The campaigns, then all their sessions: every record the app writes to each store."""
    return [*campaigns, *(s for c in campaigns for s in c.sessions)]


def create_postgres_tables(conn: Any, schema: str = "public") -> None:
    """Create the example app's tables (idempotent) and commit."""
    from psycopg import sql

    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(POSTGRES_DDL.format(schema=schema).encode())
    conn.commit()


def create_dynamodb_table(dynamodb: Any, table: str, *, stream: bool = True) -> dict[str, Any]:
    """Create the single ElectroDB table (pk/sk strings, on-demand, stream NEW_AND_OLD_IMAGES)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    description: dict[str, Any] = dynamodb.create_table(**kwargs)["TableDescription"]
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    return description


SESSION_COLUMNS = (
    "id",
    "campaign_id",
    "name",
    "summary",
    "metadata",
    "session_number",
    "tags",
    "created_at",
    "updated_at",
)
CAMPAIGN_COLUMNS = ("id", "name", "budget", "active", "updated_at")


def upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """The app's PostgreSQL write: an upsert by id."""
    cols = ", ".join(columns)
    values = ", ".join(f"%({c})s" for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
    return f"INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}"


def write_postgres(conn: Any, records: list[Session | Campaign], schema: str = "public") -> None:
    """Upsert rows in one transaction (the PostgreSQL half of the dual write)."""
    with conn.cursor() as cur:
        sessions = [r.row() for r in records if isinstance(r, Session)]
        campaigns = [r.row() for r in records if isinstance(r, Campaign)]
        if campaigns:
            cur.executemany(upsert_sql(f"{schema}.campaigns", CAMPAIGN_COLUMNS), campaigns)
        if sessions:
            cur.executemany(upsert_sql(f"{schema}.sessions", SESSION_COLUMNS), sessions)
    conn.commit()


def write_dynamodb(dynamodb: Any, table: str, records: list[Session | Campaign]) -> None:
    """Put the records' items (the DynamoDB half of the dual write)."""
    put_items(dynamodb, table, [r.item() for r in records])


def put_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    """Put typed-JSON items in batches of 25 (BatchWriteItem), retrying unprocessed ones."""
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def config_toml(
    *,
    table: str,
    dsn: str | None = None,
    endpoint_url: str | None = None,
    store_schema: str = "parity",
    app_schema: str = "public",
    consumer: str = "grace_seconds = 30",
    extra: str = "",
) -> str:
    """The example config with the given table, DSN and endpoint filled in; ``consumer`` is the lines of
    the ``[consumer]`` section after its source (the demo's shorter grace period, a bench's poll interval)."""
    from importlib import resources

    text = resources.files("parity.local").joinpath("example.toml").read_text(encoding="utf-8")
    lines = [f'table = "{table}"' if line.startswith('table = "app"') else line for line in text.splitlines()]
    text = "\n".join(lines) + "\n"
    text = text.replace('table = "public.', f'table = "{app_schema}.')
    text = text.replace('store_schema = "parity"', f'store_schema = "{store_schema}"')
    text = text.replace("grace_seconds = 30\n", consumer.rstrip("\n") + "\n", 1)
    if dsn is not None:
        text = text.replace("[postgres]\n", f"[postgres]\ndsn = {_toml_string(dsn)}\n", 1)
    if endpoint_url is not None:
        text = text.replace("[dynamodb]\n", f"[dynamodb]\nendpoint_url = {_toml_string(endpoint_url)}\n", 1)
    return text + extra


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
