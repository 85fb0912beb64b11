"""Pure tests of replay candidates: merging sources, item keys, and the stream window (a recorded
TTL delete, which moto cannot produce, fed through a reader that answers like StreamReader)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.config import load_config
from parity.rollback.candidates import Removal, SourceName, candidate, gather, merge, render_from, table_key_of
from parity.rollback.sources import from_stream
from parity.stream.shards import ShardBatch

CONFIG = load_config(Path(__file__).parents[2] / "parity" / "local" / "example.toml")
SESSION = next(e for e in CONFIG.entity if e.name == "session")
CAMPAIGN = next(e for e in CONFIG.entity if e.name == "campaign")
RECORDS = Path(__file__).parents[1] / "data" / "stream_records"
KEY = ("4f1c2d3e-0000-4000-8000-000000000001",)


def test_merge_keeps_every_source_the_first_item_key_and_the_newest_delete() -> None:
    early = Removal(datetime(2026, 1, 1, tzinfo=UTC), ttl=False)
    late = Removal(datetime(2026, 1, 2, tzinfo=UTC), ttl=True)
    a = candidate(SESSION, KEY, SourceName.DISCREPANCY)
    b = candidate(SESSION, KEY, SourceName.ARCHIVE, item_key={"pk": {"S": "p"}, "sk": {"S": "s"}}, removal=early)
    c = candidate(SESSION, KEY, SourceName.STREAM, removal=late)
    merged = merge(merge(a, b), c)
    assert merged.sources == {"discrepancy", "archive", "stream"}
    assert merged.item_key == {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert merged.removal == late


def test_a_ttl_delete_wins_a_tie() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    user = candidate(SESSION, KEY, SourceName.ARCHIVE, removal=Removal(moment, ttl=False))
    ttl = candidate(SESSION, KEY, SourceName.STREAM, removal=Removal(moment, ttl=True))
    assert merge(user, ttl).removal == Removal(moment, ttl=True)
    assert merge(ttl, user).removal == Removal(moment, ttl=True)


def test_gather_merges_by_entity_and_key() -> None:
    merged = gather(
        [
            [candidate(SESSION, KEY, SourceName.DISCREPANCY), candidate(CAMPAIGN, KEY, SourceName.DISCREPANCY)],
            [candidate(SESSION, KEY, SourceName.ARCHIVE)],
        ]
    )
    assert set(merged) == {("session", KEY), ("campaign", KEY)}
    assert merged[("session", KEY)].sources == {"discrepancy", "archive"}


def test_table_key_of_needs_every_key_attribute() -> None:
    image = {"pk": {"S": "p"}, "sk": {"S": "s"}, "name": {"S": "n"}}
    assert table_key_of(image, ["pk", "sk"]) == {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert table_key_of({"pk": {"S": "p"}}, ["pk", "sk"]) is None
    assert table_key_of(None, ["pk"]) is None


def test_templates_render_only_when_every_column_they_name_is_known() -> None:
    # a campaign's key needs only its id; a session's also needs campaign_id, which a bare key lacks
    assert render_from(CAMPAIGN, {"id": KEY[0]}) == {
        "pk": {"S": f"$campaignapp#campaignid_{KEY[0]}"},
        "sk": {"S": "$campaign_1"},
    }
    assert render_from(SESSION, {"id": KEY[0]}) is None
    rendered = render_from(SESSION, {"id": KEY[0], "campaign_id": "c1"})
    assert rendered == {"pk": {"S": "$campaignapp#campaignid_c1"}, "sk": {"S": f"$session_1#sessionid_{KEY[0]}"}}


class _OpenShard:
    finished = False


class _Reader:
    """Answers poll() like StreamReader: one shard, these pages, then nothing."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.states: dict[str, Any] = {"shard-1": _OpenShard()}
        self.polls = 0

    def poll(self) -> list[ShardBatch]:
        self.polls += 1
        records = self.pages.pop(0) if self.pages else []
        return [ShardBatch("shard-1", None, records, None, ended=False)]


def _record(name: str) -> dict[str, Any]:
    return dict(json.loads((RECORDS / name).read_text()))


def test_stream_window_marks_a_ttl_delete_and_stops_after_idle_polls() -> None:
    ttl_remove = _record("streams_ttl_remove.json")
    insert = _record("streams_insert.json")
    reader = _Reader([[insert], [ttl_remove]])
    window = from_stream(reader, CONFIG.entity, ["pk", "sk"], idle_polls=2)  # type: ignore[arg-type]
    assert window.records == 2
    assert reader.polls == 4  # two pages, then two empty polls in a row
    by_key = {c.key_json["id"]: c for c in window.candidates}
    removed = by_key["4f1c2d3e-0000-4000-8000-000000000001"]
    assert removed.removal is not None and removed.removal.ttl is True
    assert removed.item_key == {
        "pk": {"S": "$campaignapp#campaignid_9b2c4e1a-1111-4000-8000-000000000001"},
        "sk": {"S": "$session_1#sessionid_4f1c2d3e-0000-4000-8000-000000000001"},
    }


def test_stream_window_counts_undecodable_records_and_goes_on() -> None:
    reader = _Reader([[{"eventName": "INSERT"}, _record("streams_insert.json")]])
    window = from_stream(reader, CONFIG.entity, ["pk", "sk"], idle_polls=1)  # type: ignore[arg-type]
    assert (window.records, window.undecodable, len(window.candidates)) == (2, 1, 1)
