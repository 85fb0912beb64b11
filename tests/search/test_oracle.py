"""The port against a real PostgreSQL (the oracle): lexemes with positions, the parsed query,
matches and ranks (as float4) for thousands of generated pairs and for real English prose.

Every batch is one SQL round trip (unnest of arrays). Seeds are fixed, so a failure names a
reproducible case; when one disagrees, the port is fixed, never the expectation.
"""

from __future__ import annotations

import random

import psycopg
import pytest

from parity.search.tsquery import format_tsquery, server_has_or_fix, websearch_to_tsquery
from tests.search.oracle import (
    OR_FIX_CASES,
    check_pairs,
    check_rank_order,
    fuzz_string,
    generate_query,
    generate_text,
)


def _report(bad: list) -> str:  # type: ignore[type-arg]
    return "\n".join(f"{d.what}: text={d.text!r} query={d.query!r} pg={d.postgres!r} port={d.port!r}" for d in bad[:15])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_pairs_agree_with_postgres(pg_admin_dsn: str, seed: int) -> None:
    rng = random.Random(seed)
    pairs = []
    for _ in range(1500):
        text = generate_text(rng)
        pairs.append((text, generate_query(rng, text)))
    bad = check_pairs(pg_admin_dsn, pairs)
    assert not bad, f"{len(bad)} of {len(pairs)} disagree:\n{_report(bad)}"


def test_or_after_operator_characters_matches_the_servers_release(pg_admin_dsn: str) -> None:
    """The one websearch difference between releases, asserted both ways: a server with the 2024-08-08 fix
    (15.8+, 16.4+, 17+) gives the port's default parse, an older one (e.g. 16.2) the ``before_or_fix`` parse,
    and every case differs between the two. The other oracle tests compare against the matching parse."""
    queries = [q for q, _, _ in OR_FIX_CASES]
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        version = conn.info.server_version
        rows = conn.execute(
            "SELECT websearch_to_tsquery('english', q)::text"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS u(q, n) ORDER BY n",
            (queries,),
        ).fetchall()
    fixed = server_has_or_fix(version)
    for query, (postgres,) in zip(queries, rows, strict=True):
        current = format_tsquery(websearch_to_tsquery(query))
        before = format_tsquery(websearch_to_tsquery(query, before_or_fix=True))
        assert current != before, query
        assert postgres == (current if fixed else before), (version, query, postgres, current, before)


def _prose() -> list[str]:
    from pydoc_data.topics import topics

    paragraphs = []
    for name in sorted(topics):
        for para in topics[name].split("\n\n"):
            if para.strip():
                paragraphs.append(para.strip())
    return paragraphs


def test_real_prose_agrees_with_postgres(pg_admin_dsn: str) -> None:
    """Python's own documentation (pydoc_data.topics), text the project did not write."""
    paragraphs = _prose()
    rng = random.Random(11)
    words = " ".join(paragraphs).split()
    pairs = []
    for text in paragraphs:
        query = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
        pairs.append((text, query))
    assert len(pairs) > 2000
    bad = check_pairs(pg_admin_dsn, pairs)
    assert not bad, f"{len(bad)} of {len(pairs)} disagree:\n{_report(bad)}"


def campaign_corpus() -> tuple[list[str], list[str]]:
    """The campaign-sized corpus: 50 paragraphs of Python's documentation (cut at 600 characters) and
    the 400 queries asked of them (200 of their words, 200 generated from them). ``parity serve``'s
    test asks the same queries of the same documents over HTTP."""
    rng = random.Random(5)
    paragraphs = _prose()
    documents = [rng.choice(paragraphs)[:600] for _ in range(50)]
    words = " ".join(documents).split()
    queries = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(200)]
    queries += [generate_query(rng, rng.choice(documents)) for _ in range(200)]
    return documents, queries


def test_rank_order_over_a_campaign_sized_corpus(pg_admin_dsn: str) -> None:
    documents, queries = campaign_corpus()
    bad = check_rank_order(pg_admin_dsn, documents, queries)
    assert not bad, f"{len(bad)} of {len(queries)} orders differ: {bad[:5]}"


def test_fuzzed_strings_agree_with_postgres(pg_admin_dsn: str) -> None:
    """Random characters and fragments: tags, scripts, comments, entities, URLs, non-ASCII spaces."""
    rng = random.Random(40)
    pairs = [(fuzz_string(rng, 40, 0.7), fuzz_string(rng, 15, 0.6)) for _ in range(3000)]
    bad = check_pairs(pg_admin_dsn, pairs)
    assert not bad, f"{len(bad)} of {len(pairs)} disagree:\n{_report(bad)}"
