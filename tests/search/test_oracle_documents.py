"""Multi-column documents against PostgreSQL: ``||`` position shifting, jsonb string values in
jsonb's key order, NULL columns, repeated words (rank sums) and very long texts (positions
clamped at 16383, at most 255 positions per lexeme)."""

from __future__ import annotations

import json
import random

import psycopg

from parity.search.lexize import format_tsvector, to_tsvector
from parity.search.stopwords import ENGLISH_STOP_WORDS
from tests.search.oracle import (
    FORMAT_CHARS_IN_WORDS_SINCE,
    Release,
    check_documents,
    check_pairs,
    generate_query,
    generate_text,
)


def _json_value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 2 and roll < 0.3:
        keys = ["b", "a", "cc", "notes", "Z", "é", "owner", "aa"]
        return {rng.choice(keys): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 2 and roll < 0.45:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.55:
        return rng.choice([1, 2.5, True, None, -3])
    return generate_text(rng) if rng.random() < 0.8 else rng.choice(["the", "", "a of", "and"])


def test_documents_of_text_and_jsonb_columns_agree(pg_admin_dsn: str) -> None:
    rng = random.Random(21)
    rows = []
    for _ in range(120):
        name = generate_text(rng) if rng.random() < 0.9 else None
        summary = generate_text(rng) if rng.random() < 0.8 else None
        meta = json.dumps(_json_value(rng)) if rng.random() < 0.85 else None
        rows.append((name, summary, meta))
    queries = [generate_query(rng, generate_text(rng)) for _ in range(25)]
    bad = check_documents(pg_admin_dsn, rows, queries)
    assert not bad, f"{len(bad)} disagree:\n" + "\n".join(bad[:10])


def test_repeated_words_and_long_texts_agree(pg_admin_dsn: str) -> None:
    rng = random.Random(8)
    words = ["search", "session", "the", "quick", "fox", "data", "run", "running"]
    pairs = []
    for size in (3, 20, 300, 5000, 17000):
        text = " ".join(rng.choice(words) for _ in range(size))
        for query in ("search", "search session", '"quick fox"', "fox or data -run", '"the search"', "running"):
            pairs.append((text, query))
    bad = check_pairs(pg_admin_dsn, pairs)
    assert not bad, [(len(d.text), d.query, d.what) for d in bad[:5]]


def test_long_columns_clamp_and_cap_across_the_join(pg_admin_dsn: str) -> None:
    """A document's columns are joined in one pass over their words: positions shifted by the highest
    position kept so far (not the last one used: stop words at a column's end), clamped at 16383 across
    the join, a lexeme's positions capped at 255 in a column but filled to 256 across a join, as ``||`` does."""
    rng = random.Random(13)
    words = ["search", "session", "the", "quick", "fox", "data", "run", "running", "of"]

    def text(size: int) -> str:
        return " ".join(rng.choice(words) for _ in range(size))

    rows = [
        ("budget review the of", "search the", json.dumps({"b": "run the", "a": "fox of", "cc": ["the", "data"]})),
        (text(200), text(200), json.dumps({"a": text(100), "b": [text(50), "the", text(30)]})),
        (text(9000), text(9000), json.dumps({"notes": text(500)})),
        (text(17000), "search data", json.dumps({"x": "fox"})),
        ("the of and", text(300), None),
        (None, text(16380), json.dumps(["search", "run", "the"])),
        (text(16383), None, json.dumps({"owner": {"notes": text(40)}})),
    ]
    queries = ["search", "search session", '"quick fox"', "fox or data -run", "running", '"run fox"']
    bad = check_documents(pg_admin_dsn, rows, queries)
    assert not bad, f"{len(bad)} disagree: " + "; ".join(b[-300:] for b in bad[:3])


def test_stop_list_is_postgresqls(pg_admin_dsn: str) -> None:
    """Every word of the port's list is a stop word for english_stem, and the list has 127 words."""
    assert len(ENGLISH_STOP_WORDS) == 127
    with psycopg.connect(pg_admin_dsn) as conn:
        rows = conn.execute(
            "SELECT w, ts_lexize('english_stem', w) FROM unnest(%s::text[]) w", (sorted(ENGLISH_STOP_WORDS),)
        ).fetchall()
    assert all(lexemes == [] for _, lexemes in rows), [w for w, lexemes in rows if lexemes != []]


def test_every_unicode_letter_class_we_meet_tokenises_like_postgresql(pg_admin_dsn: str) -> None:
    samples = [
        "naïve café Zürich ÅNGSTRÖM İstanbul straße ΣΊΣΥΦΟΣ Москва 東京 नमस्ते résumé",
        "e\u0301cole co\u0308operate a\u200db zero\u200bwidth non\u00a0breaking x\u2003y",
        "٣٤ digits ２０２６ full-width ｆｕｌｌ x²y ½",
        "<script>var x = 1;</script> after <style>p{}</style> <!-- comment --> &#x41; &nbsp; <br/>",
        "mail: Ünïcode@example.com http://ünïcode.example.com/päth?q=ü ~/file ../a/b",
    ]
    with psycopg.connect(pg_admin_dsn) as conn:
        rows = conn.execute("SELECT to_tsvector('english', t)::text FROM unnest(%s::text[]) t", (samples,)).fetchall()
        release = Release.of(conn)
    for text, (expected,) in zip(samples, rows, strict=True):
        assert format_tsvector(to_tsvector(release.text(text))) == expected, text


def test_format_characters_inside_words_follow_the_servers_major(pg_admin_dsn: str) -> None:
    """PostgreSQL 16+ keeps Unicode format characters (Cf) inside a word, as the port does; 15 splits there.
    Asserted both ways, so the oracle's U+00A0 stand-in on old servers is checked, not assumed."""
    samples = ["zero\u200bwidth", "xy\u200dzw", "xy\u2060zw", "bom\ufeffmark", "rtl\u200emark", "ara\u061cbic"]
    with psycopg.connect(pg_admin_dsn) as conn:
        rows = conn.execute("SELECT to_tsvector('english', t)::text FROM unnest(%s::text[]) t", (samples,)).fetchall()
        release = Release.of(conn)
    for text, (expected,) in zip(samples, rows, strict=True):
        port = format_tsvector(to_tsvector(text))
        split = format_tsvector(to_tsvector(text.translate({ord(c): "\u00a0" for c in text if not c.isascii()})))
        assert port != split and port.count(":") == 1 and split.count(":") == 2, text
        in_words = release.server_version >= FORMAT_CHARS_IN_WORDS_SINCE
        assert expected == (port if in_words else split), (release.server_version, text, expected)
