"""The english_stem dictionary word by word: ``ts_lexize('english_stem', w)`` on the test server vs the
port's stemmer for that server's release (Snowball 2.2.0 on 15-17, the 2025 snapshot on 18).

Sentences compare stems only through whole documents; this compares several thousand words at once,
so a server whose Snowball differs from the port's release (a new major, a patched stem) shows up
as the words that differ, whatever server ``PARITY_TEST_POSTGRES_DSN`` points at.
"""

from __future__ import annotations

import re

import psycopg

from parity.search.lexize import lexize
from tests.search.oracle import Release

#: stems chosen to reach each Snowball English step (1a-5, the exceptions, the R1 prefixes, y as a
#: consonant, double consonants after a word-initial vowel where PostgreSQL 18's snapshot differs)
_STEMS = (
    "connect generat relat condition rational valen hesit digit conform radical different analog predic "
    "sensitiv electric formal communi general arsen univers emerg organ past later hop hope run plan ban "
    "bed get dim tan sit trap hug fil fizz fall control feed agree proceed cry happy sky die lie tie add "
    "egg odd ebb err inn off all ill ass eff app irr ann abb ebbs say toy boy lay yell youth motor nation "
    "sens operat commit adopt excess effect accept attach assign arriv"
)
_SUFFIXES = (
    "- s es ed ing ly edly ingly eed eedly ies ied y er ers ful ness fulness less lessly al ally ation "
    "ational ations ize izer ization ise ism ist ity ive iveness ivity able ably ible ibility ability ment "
    "ments ement ent ently ence ance ency ancy ic ical icate icity ous ously ousness ant ate iti ion ions "
    "ogy ogies li bli alli entli eli ousli fulli tional enci anci alism aliti ator ative alize e ll ss us"
)
#: Snowball's exceptional forms, invariants and words of other scripts (stemmed byte-wise as UTF-8)
_SPECIAL = (
    "skis skies dying lying tying idly gently ugly early only singly sky news howe atlas cosmos bias andes "
    "inning innings outing outings canning cannings herring herrings earring earrings proceed exceed "
    "succeed generate generously communism arsenal universe emergency organize pasta later laterally "
    "café cafés naïve naïvety résumé résumés façade über straße москва ελληνικά"
)


def stem_words() -> list[str]:
    """A fixed word list: stems x suffixes (each stem also with its last letter doubled), the special
    words above and every distinct lower-cased word of Python's pydoc_data.topics."""
    from pydoc_data.topics import topics

    words = set(_SPECIAL.split())
    for stem in _STEMS.split():
        for base in (stem, stem + stem[-1]):
            words.update(base + ("" if suffix == "-" else suffix) for suffix in _SUFFIXES.split())
    for text in topics.values():
        words.update(w.lower() for w in re.findall(r"[^\W\d_]+", text))
    return sorted(words)


def test_every_word_stems_like_the_servers_english_stem(pg_admin_dsn: str) -> None:
    words = stem_words()
    assert len(words) > 10_000
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT ts_lexize('english_stem', w) FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, n) ORDER BY n",
            (words,),
        ).fetchall()
        release = Release.of(conn)  # the port now stems as the server's release does
    differ = [(w, pg, lexize("word", w)) for w, (pg,) in zip(words, rows, strict=True) if pg != lexize("word", w)]
    assert not differ, (release.server_version, len(differ), differ[:10])


def test_the_word_list_tells_the_snowball_releases_apart() -> None:
    """Without a server: the list reaches the rule where 18's snapshot differs from 2.2.0 (added, egging),
    so a server of the other release fails the comparison above instead of passing it."""
    from parity.search.lexize import use_snowball

    words = stem_words()
    try:
        use_snowball("2.2.0")
        old = [lexize("word", w) for w in words]
        use_snowball("2025-snapshot")
        new = [lexize("word", w) for w in words]
    finally:
        use_snowball("2.2.0")
    differ = {w: (a, b) for w, a, b in zip(words, old, new, strict=True) if a != b}
    assert differ["added"] == (["ad"], ["add"]) and differ["egging"] == (["eg"], ["egg"])
    assert len(differ) >= 20, differ
