"""The workload the rollback runbook is tested on: the example app dual-writing, with faults.

Phase A runs while the migration's stream checker is running (the test drains it after this phase,
so these writes are checked and the DynamoDB-only ones archived):

- ``inserted``: sessions whose PostgreSQL write failed (DynamoDB-only inserts);
- ``updated``: sessions whose update reached DynamoDB only (summary and version changed);
- ``deleted``: sessions deleted in DynamoDB only;
- ``campaign``: a campaign renamed in DynamoDB only (another entity, epoch-millisecond version);
- ``stale``: keys with a DynamoDB-only write (an update, an insert, a delete) that phase B later
  overwrites with a newer dual write. Their archived image is stale, their PostgreSQL row is newer
  than it, and the item equals the row: a rollback must not touch these rows at all.

Phase B runs after that checker stopped, just before the flip: the stale keys' newer dual writes,
and one more DynamoDB-only insert, update and delete that only the runbook's drain will check.
Nothing writes PostgreSQL alone afterwards, so after the replay the stores must agree fully.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from parity.local.example import Campaign, Session, generate, write_dynamodb, write_postgres


@dataclass
class Workload:
    """What was injected, by the value DynamoDB holds at the end."""

    campaign: Campaign  # its final DynamoDB value (renamed in DynamoDB only)
    inserted: list[Session]
    updated: list[Session]  # the DynamoDB-only versions
    deleted: list[Session]
    stale: list[Session]  # the newer dual-written versions (= the current item and row)
    all_sessions: list[Session]

    def replayed_keys(self) -> set[tuple[str, str]]:
        """(entity, id) of every key the replay must change."""
        keys = {("session", s.id) for s in [*self.inserted, *self.updated, *self.deleted]}
        return keys | {("campaign", self.campaign.id)}

    def expected_plan(self) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
        """(entity, id) -> (action, changed columns) of the dry run's plan."""
        plan: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        for s in self.inserted:
            plan[("session", s.id)] = ("insert", ())
        for s in self.updated:
            plan[("session", s.id)] = ("update", ("summary", "updated_at"))
        for s in self.deleted:
            plan[("session", s.id)] = ("delete", ())
        plan[("campaign", self.campaign.id)] = ("update", ("name", "updated_at"))
        return plan

    def expected_open(self) -> set[tuple[str, str, str]]:
        """(entity, id, kind) of the open discrepancies once the stream is drained."""
        found = {("session", s.id, "missing_in_postgres") for s in self.inserted}
        found |= {("session", s.id, "mismatched") for s in self.updated}
        found |= {("session", s.id, "missing_in_dynamodb") for s in self.deleted}
        return found | {("campaign", self.campaign.id, "mismatched")}

    def compared_after(self) -> int:
        """Distinct keys once PostgreSQL holds what DynamoDB holds (the campaign included)."""
        return len(self.all_sessions) - len(self.deleted) + 1


@dataclass
class _Phases:
    workload: Workload
    phase_b: list[tuple[str, list[Session]]]


def _later(session: Session, **changes: Any) -> Session:
    return session.touched(**changes)


def phase_a(dynamodb: Any, table: str, conn: Any) -> _Phases:
    """Write phase A (see the module docstring); returns the workload and phase B's writes."""
    campaign = generate(1, 31, seed=23)[0]
    sessions = campaign.sessions
    plain = sessions[:20]
    ins_a = sessions[20:22]
    upd_a = sessions[22:24]
    del_a = sessions[24:26]
    stale_upd = sessions[26:28]
    stale_ins = sessions[28]
    stale_del = sessions[29]
    ins_b = sessions[30]
    upd_b, del_b = plain[0], plain[1]

    # consistent dual writes
    both: list[Session | Campaign] = [campaign, *plain, *upd_a, *del_a, *stale_upd, stale_del]
    write_dynamodb(dynamodb, table, both)
    write_postgres(conn, both)

    # writes whose PostgreSQL half failed
    write_dynamodb(dynamodb, table, [*ins_a, stale_ins])
    updated_a = [_later(s, summary=f"changed in DynamoDB only: {s.summary}") for s in upd_a]
    stale_images = [_later(s, summary="a DynamoDB-only update, later overwritten") for s in stale_upd]
    renamed = replace(
        campaign,
        name=f"{campaign.name} (renamed in DynamoDB only)",
        updated_at=campaign.updated_at + timedelta(seconds=1),
    )
    write_dynamodb(dynamodb, table, [*updated_a, *stale_images, renamed])
    for gone in [*del_a, stale_del]:
        dynamodb.delete_item(TableName=table, Key=gone.key())

    # phase B: the stale keys' newer dual writes, and DynamoDB-only writes nobody checked yet
    newer = [_later(s, summary="the app's newer dual write", name=f"{s.name} v3") for s in stale_images]
    retried = _later(stale_ins, name=f"{stale_ins.name} (saved again)")
    recreated = _later(stale_del, summary="re-created after a DynamoDB-only delete")
    updated_b = _later(upd_b, summary="changed in DynamoDB only, after the last check")
    phase_b = [
        ("both", [*newer, retried, recreated]),
        ("dynamodb", [ins_b, updated_b]),
        ("delete", [del_b]),
    ]
    workload = Workload(
        campaign=renamed,
        inserted=[*ins_a, ins_b],
        updated=[*updated_a, updated_b],
        deleted=[*del_a, del_b],
        stale=[*newer, retried, recreated],
        all_sessions=sessions,
    )
    return _Phases(workload, phase_b)


def phase_b(dynamodb: Any, table: str, conn: Any, phases: _Phases) -> Workload:
    """Write phase B; after it the app writes nothing to DynamoDB (the flip)."""
    for kind, records in phases.phase_b:
        if kind == "both":
            write_postgres(conn, list(records))
            write_dynamodb(dynamodb, table, list(records))
        elif kind == "dynamodb":
            write_dynamodb(dynamodb, table, list(records))
        else:
            for gone in records:
                dynamodb.delete_item(TableName=table, Key=gone.key())
    return phases.workload
