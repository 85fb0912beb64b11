"""A workload whose DynamoDB writes failed on purpose, for the repair tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from parity.local.example import Campaign, Session, generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv


@dataclass
class Broken:
    """What the workload did: items never written, items with wrong columns, items the app then
    rewrote newer (their rows still old: the app's PostgreSQL write of the newer version failed)."""

    records: list[Session | Campaign]
    missing: list[Session | Campaign]
    wrong: list[Session]
    newer: list[Session]
    unmapped: dict[str, Any]  # session id -> an attribute parity does not map, set on a wrong item


def break_dynamodb(env: ExampleEnv, *, campaigns: int = 3, sessions: int = 6, seed: int = 5) -> Broken:
    """Write both stores, then damage DynamoDB: see :class:`Broken`."""
    generated = generate(campaigns, sessions, seed=seed)
    records: list[Session | Campaign] = [*generated, *(s for c in generated for s in c.sessions)]
    all_sessions = [s for c in generated for s in c.sessions]
    missing: list[Session | Campaign] = [generated[0], *all_sessions[0:4]]
    wrong = all_sessions[4:8]
    newer = all_sessions[8:10]
    write_postgres(env.conn, records)
    write_dynamodb(env.dynamodb, env.table, [r for r in records if r not in missing])
    unmapped: dict[str, Any] = {}
    for index, session in enumerate(wrong):
        # a wrong column, a lost attribute, and an attribute the app keeps that parity does not map
        env.dynamodb.update_item(
            TableName=env.table,
            Key=session.key(),
            UpdateExpression="SET #n = :n, gsi9 = :g REMOVE sessionNumber",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":n": {"S": f"wrong {index}"}, ":g": {"S": f"keep-{index}"}},
        )
        unmapped[session.id] = {"S": f"keep-{index}"}
    for session in newer:
        later = session.touched(name="rewritten by the app")
        env.dynamodb.put_item(TableName=env.table, Item=later.item())
    return Broken(records, missing, wrong, newer, unmapped)


def move_a_session(env: ExampleEnv, broken: Broken) -> tuple[Session, Campaign]:
    """Move an undamaged session to another campaign in PostgreSQL only (its item's ``pk`` comes from
    ``campaign_id``, so its item now sits at the old key): the session as written, and the campaign."""
    sessions = [r for r in broken.records if isinstance(r, Session)]
    moved = next(s for s in sessions if s not in broken.missing + broken.wrong + broken.newer)
    other = next(c for c in broken.records if isinstance(c, Campaign) and c.id != moved.campaign_id)
    env.conn.execute("UPDATE public.sessions SET campaign_id = %s WHERE id = %s", (other.id, moved.id))
    env.conn.commit()
    return moved, other


@pytest.fixture
def broken(example_env: ExampleEnv) -> Broken:
    return break_dynamodb(example_env)
