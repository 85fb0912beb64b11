"""Batched PostgreSQL oracle queries and the deterministic generators of (text, query) cases."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from parity.pg_release import PostgresRelease
from parity.search.lexize import format_tsvector, to_tsvector, use_snowball
from parity.search.rank import f4, ts_rank
from parity.search.tsquery import Node, format_tsquery, matches, server_has_or_fix, websearch_to_tsquery

_WORDS = [
    "the",
    "a",
    "an",
    "of",
    "and",
    "or",
    "not",
    "is",
    "was",
    "be",
    "to",
    "in",
    "on",
    "at",
    "it",
    "its",
    "it's",
    "don't",
    "can't",
    "o'neil",
    "rock'n'roll",
    "run",
    "running",
    "runs",
    "ran",
    "runner",
    "generously",
    "happily",
    "skies",
    "sky",
    "dying",
    "lying",
    "studies",
    "studying",
    "communication",
    "national",
    "nationalize",
    "connection",
    "hopeful",
    "hopefulness",
    "relational",
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "Ärger",
    "façade",
    "coöperate",
    "señor",
    "Ångström",
    "well-known",
    "state-of-the-art",
    "e-mail",
    "co-op",
    "x-ray",
    "t-shirt",
    "re-run",
    "mid-2020s",
    "3-d",
    "B-52",
    "covid-19",
    "abc123",
    "123abc",
    "3rd",
    "42nd",
    "v2",
    "h2o",
    "mp3",
    "1",
    "42",
    "007",
    "-5",
    "+7",
    "3.14",
    "-2.5",
    "1e10",
    "2.5e-3",
    "1.2.3",
    "10.0.0.1",
    "0.9.1-beta",
    "user@example.com",
    "first.last@mail.co.uk",
    "a_b@x.org",
    "http://example.com",
    "https://www.example.org/path/to/page.html?q=1&r=2",
    "ftp://files.example.net/pub",
    "example.com",
    "www.postgresql.org",
    "sub.domain.co",
    "/usr/local/bin",
    "./relative/path",
    "../up/one",
    "c:/windows",
    "file.txt",
    "archive.tar.gz",
    "snake_case",
    "__dunder__",
    "_private",
    "CamelCase",
    "UPPER",
    "MiXeD",
    "<b>bold</b>",
    "<a",
    "href='x'>link</a>",
    "&amp;",
    "&lt;",
    "&#39;",
    "search",
    "searches",
    "searched",
    "searching",
    "session",
    "sessions",
    "campaign",
    "campaigns",
    "data",
    "database",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
]
_PUNCT = [
    " ",
    " ",
    " ",
    " ",
    ", ",
    ". ",
    "; ",
    ": ",
    "! ",
    "? ",
    " - ",
    " -- ",
    " (",
    ") ",
    ' "',
    '" ',
    " '",
    "' ",
    "/",
    "-",
    "_",
    "'",
    "...",
    " & ",
    " | ",
]


def generate_text(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 14)):
        word = rng.choice(_WORDS)
        if rng.random() < 0.1:
            word = word.upper()
        parts.append(word)
        parts.append(rng.choice(_PUNCT))
    return "".join(parts).strip()


def generate_query(rng: random.Random, text: str) -> str:
    pool = [w for w in text.replace('"', " ").split() if w] or ["x"]
    terms: list[str] = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        word = rng.choice(pool) if rng.random() < 0.7 else rng.choice(_WORDS)
        if roll < 0.15:
            terms.append('"' + " ".join(rng.choice(pool) for _ in range(rng.randint(2, 3))) + '"')
        elif roll < 0.25:
            terms.append("-" + word)
        elif roll < 0.35:
            terms.append("or")
            terms.append(word)
        elif roll < 0.38:
            terms.append(rng.choice(["(", ")", "!", "&", "|", "<->", ":*", '"', "-", "or"]))
        else:
            terms.append(word)
    return " ".join(terms)


#: PostgreSQL 16 counts Unicode format characters (category Cf: U+200B, U+200D, U+FEFF, ...) as zero width,
#: so its parser keeps them inside words, as the port does; 15 and older treat them like U+00A0, a separator.
FORMAT_CHARS_IN_WORDS_SINCE = 160000


#: PostgreSQL 18 (checked on 18.6, libc C.UTF-8) reads only ASCII white space as space in websearch queries:
#: ``cat\u2003dog`` is one operand there (``'cat' <-> 'dog'``), two on 15 and 16 (``'cat' & 'dog'``)
ASCII_QUERY_SPACES_SINCE = 180000


@dataclass(frozen=True)
class Release:
    """How the port is run to be compared with one server's release (``server_version_num``).

    Servers before 16 split words at format characters: the port reads those as U+00A0, which both
    treat as a separator. Servers before the 2024-08-08 minors read ``x) or y`` as AND: the port parses
    with ``before_or_fix``. Anything else is compared as is.
    """

    server_version: int

    @classmethod
    def of(cls, conn: psycopg.Connection[tuple[object, ...]]) -> Release:
        """The server's release; from now on the port stems as that release's Snowball does."""
        release = cls(conn.info.server_version)
        use_snowball(PostgresRelease.from_server_version_num(release.server_version).snowball)
        return release

    def text(self, value: str) -> str:
        if self.server_version >= FORMAT_CHARS_IN_WORDS_SINCE or value.isascii():
            return value
        return "".join("\u00a0" if unicodedata.category(c) == "Cf" else c for c in value)

    def query(self, value: str) -> Node | None:
        return websearch_to_tsquery(
            self.text(value),
            before_or_fix=not server_has_or_fix(self.server_version),
            ascii_spaces=self.server_version >= ASCII_QUERY_SPACES_SINCE,
        )


@dataclass(frozen=True)
class Disagreement:
    text: str
    query: str
    what: str
    postgres: object
    port: object


def check_pairs(dsn: str, pairs: Sequence[tuple[str, str]]) -> list[Disagreement]:
    """One round trip: PostgreSQL's tsvector, tsquery, match and rank for every pair vs the port's."""
    texts = [t for t, _ in pairs]
    queries = [q for _, q in pairs]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        rows = conn.execute(
            "SELECT to_tsvector('english', t)::text, websearch_to_tsquery('english', q)::text,"
            " to_tsvector('english', t) @@ websearch_to_tsquery('english', q),"
            " ts_rank(to_tsvector('english', t), websearch_to_tsquery('english', q))::float8"
            " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(t, q, n) ORDER BY n",
            (texts, queries),
        ).fetchall()
        release = Release.of(conn)
    out: list[Disagreement] = []
    for (text, query), (pg_vector, pg_query, pg_match, pg_rank) in zip(pairs, rows, strict=True):
        vector = to_tsvector(release.text(text))
        tree = release.query(query)
        checks = (
            ("tsvector", pg_vector, format_tsvector(vector)),
            ("tsquery", pg_query, format_tsquery(tree)),
            ("match", pg_match, matches(vector, tree)),
            ("rank", f4(pg_rank), ts_rank(vector, tree)),
        )
        for what, expected, got in checks:
            if expected != got:
                out.append(Disagreement(text, query, what, expected, got))
                break
    return out


def check_rank_order(
    dsn: str, documents: Sequence[str], queries: Sequence[str]
) -> list[tuple[str, list[int], list[int]]]:
    """For each query, the order (rank desc, index asc) of matching documents, PostgreSQL vs the port."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        rows = conn.execute(
            "SELECT qn, array_agg(dn ORDER BY r DESC, dn) FILTER (WHERE m) FROM ("
            " SELECT qn, dn, to_tsvector('english', d) @@ websearch_to_tsquery('english', q) AS m,"
            " ts_rank(to_tsvector('english', d), websearch_to_tsquery('english', q)) AS r"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS a(q, qn), unnest(%s::text[]) WITH ORDINALITY AS b(d, dn)"
            ") s GROUP BY qn ORDER BY qn",
            (list(queries), list(documents)),
        ).fetchall()
        release = Release.of(conn)
    trees = [release.query(q) for q in queries]
    vectors = [to_tsvector(release.text(d)) for d in documents]
    out = []
    for (_qn, pg_order), query, tree in zip(rows, queries, trees, strict=True):
        scored = [(-ts_rank(v, tree), i + 1) for i, v in enumerate(vectors) if matches(v, tree)]
        mine = [i for _, i in sorted(scored)]
        expected = [int(i) for i in (pg_order or [])]
        if mine != expected:
            out.append((query, expected, mine))
    return out


def check_documents(
    dsn: str, rows: Sequence[tuple[str | None, str | None, str | None]], queries: Sequence[str]
) -> list[str]:
    """Documents built like the baseline (text || text || jsonb, NULLs contributing nothing): PostgreSQL's
    tsvector, match and rank for each (row, query) vs the port's, in one round trip."""
    import json

    from parity.search.lexize import json_words, parse_words, vector_of

    names = [r[0] for r in rows]
    summaries = [r[1] for r in rows]
    metas = [r[2] for r in rows]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        result = conn.execute(
            "WITH d AS (SELECT n, to_tsvector('english', coalesce(a, '')) || to_tsvector('english', coalesce(b, ''))"
            " || coalesce(to_tsvector('english'::regconfig, c::jsonb), ''::tsvector) AS v"
            " FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS u(a, b, c, n))"
            " SELECT d.n, q.n, d.v::text, d.v @@ websearch_to_tsquery('english', q.t),"
            " ts_rank(d.v, websearch_to_tsquery('english', q.t))::float8"
            " FROM d, unnest(%s::text[]) WITH ORDINALITY AS q(t, n) ORDER BY d.n, q.n",
            (names, summaries, metas, list(queries)),
        ).fetchall()
        release = Release.of(conn)
    trees = [release.query(q) for q in queries]
    vectors = []
    for name, summary, meta in rows:  # the columns' words joined as the engine joins them
        columns = [parse_words(release.text(name or ""))[0], parse_words(release.text(summary or ""))[0]]
        if meta is not None:
            columns.append(json_words(json.loads(release.text(meta))))
        vectors.append(vector_of(*columns))
    bad = []
    for dn, qn, pg_vector, pg_match, pg_rank in result:
        vector = vectors[dn - 1]
        tree = trees[qn - 1]
        got = (format_tsvector(vector), matches(vector, tree), ts_rank(vector, tree))
        if got != (pg_vector, pg_match, f4(pg_rank)):
            bad.append(
                f"row={rows[dn - 1]!r} query={queries[qn - 1]!r} pg={(pg_vector, pg_match, pg_rank)!r} port={got!r}"
            )
    return bad


_FUZZ_CHARS = list("abcdefxyzABC0123456789") + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n")
_FUZZ_CHARS += list("éüßİΣ東\u0301\u200b\u00a0\u2003٣")
_FUZZ_PIECES = [
    "http://", "https://", "ftp://", "www.", ".com", "@", "<b>", "</b>", "&amp;", "&#39;", "or", "OR", "the",
    "-", '"', "1.2", "e5", "~/", "../", "/x", "<!--", "-->", "<script>", "</script>", "<?xml", "a_b", "x-y-z",
]  # fmt: skip


def fuzz_string(rng: random.Random, longest: int, char_share: float) -> str:
    """Random characters and syntax fragments (tags, URLs, entities, operators, non-ASCII spaces)."""
    return "".join(
        rng.choice(_FUZZ_CHARS) if rng.random() < char_share else rng.choice(_FUZZ_PIECES)
        for _ in range(rng.randint(1, longest))
    )


# Queries whose parse the 2024-08-08 fix ("Fix parsing of ignored operators in websearch_to_tsquery()")
# changed, with PostgreSQL 15.20's answer (fixed) and 16.2's (before the fix), both read from real servers.
OR_FIX_CASES = [
    ("10.0.0.1) or 42", "'10.0.0.1' | '42'", "'10.0.0.1' & '42'"),
    ("&AMP; & or Ärger or can't", "'amp' | 'ärger'", "'amp' & 'ärger'"),
    ("cat |or dog", "'cat' | 'dog'", "'cat' & 'dog'"),
    ("cat | or dog", "'cat' | 'dog'", "'cat' & 'dog'"),
    ("relational! or data", "'relat' | 'data'", "'relat' & 'data'"),
    ("brown; (or/Ärger", "'brown' | 'ärger'", "'brown' & 'ärger'"),
    ('"2.5e-3 |" ( or ran', "'2.5e-3' | 'ran'", "'2.5e-3' & 'ran'"),
    ("-1 -B-52! or WAS_studies", "!'1' & !( 'b' <-> '-52' ) | 'studi'", "!'1' & !( 'b' <-> '-52' ) & 'studi'"),
    ("or +7) or lying -a_b@x.org was.", "'+7' | 'lie' & !'a_b@x.org'", "'+7' & 'lie' & !'a_b@x.org'"),
    ("campaigns 'Ångström! or '_private?", "'campaign' & 'ångström' | 'privat'", "'campaign' & 'ångström' & 'privat'"),
    ("é-->@C291.2İ&or<!--東ü-", "'é' <-> 'c291.2' | !!'東ü'", "'é' <-> 'c291.2' & !!'東ü'"),
]  # fmt: skip
