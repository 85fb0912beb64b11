"""Corners found by running PostgreSQL's and Snowball's own test material against the port, each checked
against the PostgreSQL of the test fixtures: words over 1,000 bytes, operator runs that overflow
tsquery's stack, and NOT inside phrases (``!x <-> !y``)."""

from __future__ import annotations

import random
from pathlib import Path

import psycopg
import pytest

from parity.errors import InputError
from parity.search.lexize import to_tsvector
from parity.search.tsquery import Node, Not, Op, Term, format_tsquery, matches, websearch_to_tsquery
from tests.search.oracle import check_pairs


def test_words_over_1000_bytes_are_lower_cased_not_stemmed(pg_admin_dsn: str) -> None:
    texts = []
    for size in range(995, 1006):
        for base in ("connection", "Runs", "happily", "cafés", "ÄRGERLICHES"):
            word = base * (1 + 1000 // len(base))
            while len(word.encode()) > size:
                word = word[1:]
            texts.append(word if len(word.encode()) == size else word + "s")
    bad = check_pairs(pg_admin_dsn, [(t, "connection") for t in texts])
    assert not bad, bad[:3]
    long_word = "Connections" * 91  # 1,001 bytes
    assert list(to_tsvector(long_word)) == [long_word.lower()]
    assert list(to_tsvector(long_word[2:])) == [long_word[2:-4].lower()]  # 999 bytes: stemmed (-ions)


def _postgres_query(conn: psycopg.Connection[tuple[object, ...]], query: str) -> str | None:
    try:
        row = conn.execute("SELECT websearch_to_tsquery('english', %s)::text", (query,)).fetchone()
    except psycopg.errors.InternalError as exc:  # elog(ERROR) is XX000
        assert "tsquery stack too small" in str(exc)
        return None
    assert row is not None
    return str(row[0])


def _port_query(query: str) -> str | None:
    try:
        return format_tsquery(websearch_to_tsquery(query))
    except InputError as exc:
        assert "tsquery stack too small" in str(exc)
        return None


def test_operator_runs_overflow_the_stack_where_postgresql_does(pg_admin_dsn: str) -> None:
    queries = []
    for run in (30, 31, 32, 33, 34, 40):
        queries += [
            "-" * run + "cat",
            "dog " + "-" * run,
            "- " * run + "cat",
            "a or " + "-" * run + "b",
            "dog or cat fish " + "-" * run + "bird",
            '"quoted ' + "-" * run + '" fish',
        ]
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        answers = [(q, _postgres_query(conn, q), _port_query(q)) for q in queries]
    assert [a for a in answers if a[1] != a[2]] == []
    assert any(a[1] is None for a in answers) and any(a[1] is not None for a in answers)


def test_a_phrase_of_two_negations_matches_every_document() -> None:
    both = Op("<->", Not(Term("x")), Not(Term("y")), 1)
    for vector in ({}, {"x": [1]}, {"x": [1], "y": [2]}, {"z": [4]}):
        assert matches(vector, both)  # PostgreSQL: !L <-> !R is TS_YES at the top, whatever L and R hold
    assert not matches({"x": [1], "y": [2]}, Not(both))


def _random_phrase(rng: random.Random, depth: int) -> Node:
    roll = rng.random()
    if depth == 0 or roll < 0.3:
        term = Term(rng.choice("abcd"))
        return Not(term) if rng.random() < 0.4 else term
    if roll < 0.4:
        return Not(_random_phrase(rng, depth - 1))
    op = rng.choice(["<->", "<->", "&", "|"])
    return Op(op, _random_phrase(rng, depth - 1), _random_phrase(rng, depth - 1), rng.choice([0, 1, 1, 2]))


def test_not_and_or_inside_phrases_evaluate_like_postgresql(pg_admin_dsn: str) -> None:
    """What websearch never builds but the library evaluates: random trees under a phrase root."""
    rng = random.Random(7)
    cases: list[tuple[dict[str, list[int]], Node]] = []
    for _ in range(3000):
        vector: dict[str, list[int]] = {}
        for position in range(1, rng.randint(1, 8)):
            if rng.random() < 0.8:
                vector.setdefault(rng.choice("abcd"), []).append(position)
        query: Node = Op("<->", _random_phrase(rng, 2), _random_phrase(rng, 2), rng.choice([1, 1, 2]))
        if rng.random() < 0.2:
            query = Op(rng.choice("&|"), query, _random_phrase(rng, 1))
        cases.append((vector, query))
    texts = [" ".join(f"{k}:{','.join(map(str, ps))}" for k, ps in v.items()) for v, _ in cases]
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT v::tsvector @@ q::tsquery FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(v, q, n)"
            " ORDER BY n",
            (texts, [format_tsquery(q) for _, q in cases]),
        ).fetchall()
    bad = [
        (text, format_tsquery(query), pg)
        for text, (vector, query), (pg,) in zip(texts, cases, rows, strict=True)
        if pg != matches(vector, query)
    ]
    assert not bad, bad[:5]
    assert 0.2 < sum(pg for (pg,) in rows) / len(rows) < 0.8  # both answers are well represented


@pytest.mark.parametrize("run", [32, 33])
def test_the_stack_limit_without_a_server(run: int) -> None:
    if run <= 32:
        assert format_tsquery(websearch_to_tsquery("-" * run + "cat")) == "!" * run + "'cat'"
    else:
        with pytest.raises(InputError, match="tsquery stack too small"):
            websearch_to_tsquery("-" * run + "cat")


def test_postgresql_18_keeps_a_double_consonant_after_a_word_initial_vowel() -> None:
    """PostgreSQL 18's Snowball snapshot (word by word against a server: tests/search/test_stems.py)."""
    from parity.search.lexize import stem, use_snowball

    cases = {"added": ("ad", "add"), "egging": ("eg", "egg"), "odds": ("odd", "odd"), "padded": ("pad", "pad")}
    try:
        for release, index in (("2.2.0", 0), ("2025-snapshot", 1)):
            use_snowball(release)
            assert {w: stem(w) for w in cases} == {w: pair[index] for w, pair in cases.items()}
    finally:
        use_snowball("2.2.0")


def test_the_configured_release_decides_the_stems(tmp_path: Path) -> None:
    from parity.config import load_config
    from parity.local.example import config_toml
    from parity.search.engine import session_lexemes, with_release

    path = tmp_path / "parity.toml"
    path.write_text(config_toml(table="app"))
    config = load_config(path)
    session = {"name": "Added budget", "summary": None, "metadata": None}
    try:
        assert session_lexemes(with_release(config, "18"), session) == ["add", "budget"]
        assert session_lexemes(with_release(config, "17"), session) == ["ad", "budget"]
        assert session_lexemes(config, session) == ["ad", "budget"]  # the default, 16.4
        with pytest.raises(InputError, match="ported for PostgreSQL 15, 16, 17, 18"):
            with_release(config, "19")
    finally:
        with_release(config, "16")


@pytest.mark.parametrize(
    ("server", "behaviour"),
    [
        (150020, ("2.2.0", True, False, True)),
        (160002, ("2.2.0", False, False, False)),
        (160014, ("2.2.0", True, False, False)),
        (170010, ("2.2.0", True, False, False)),
        (180004, ("2025-snapshot", True, True, False)),
        (180006, ("2025-snapshot", True, True, False)),
    ],
)
def test_each_server_of_the_verified_table_runs_as_it_answered(server: int, behaviour: tuple[object, ...]) -> None:
    """docs/search.md's servers (tests/search passed on each, tests.search.run_against): what the port
    does for that release (Snowball, websearch fix, ASCII-only query spaces, format characters split
    words), as each answered. 17.10 answered as 16.4+ does, so the default (16.4) and "17" are one."""
    from parity.pg_release import DEFAULT, PostgresRelease

    assert PostgresRelease.from_server_version_num(server).search_behaviour() == behaviour
    assert PostgresRelease.parse("17").search_behaviour() == PostgresRelease.parse(DEFAULT).search_behaviour()


@pytest.mark.parametrize(
    ("configured", "server", "ok", "says"),
    [
        (None, 160004, True, "answers like the server"),
        (None, 160002, True, "parses some websearch queries"),
        (None, 180006, False, 'set postgres_version = "18.6"'),
        ("18", 180006, True, "answers like the server"),
        ("17", 180001, False, "Snowball 2025-snapshot"),
        ("16", 170002, True, "answers like the server"),
        ("18", 190000, False, "not ported"),
    ],
)
def test_check_config_says_when_search_would_not_follow_the_server(
    configured: str | None, server: int, ok: bool, says: str
) -> None:
    from parity.commands.check_config import release_finding

    finding = release_finding(configured, server)
    assert finding.ok is ok and says in finding.message, finding
