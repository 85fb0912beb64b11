"""to_tsvector for the ``english`` configuration: parser tokens -> dictionaries -> positioned lexemes.

The english configuration maps word token types (``asciiword``, ``word``, ``asciihword``,
``hword``, ``hword_asciipart``, ``hword_part``) to ``english_stem`` (stop list first, then the
Snowball english stemmer) and every other kept type (numbers, emails, URLs, hosts, paths, files,
versions, ``numword`` and the numeric hyphen parts) to ``simple`` (lower-cased, no stop list).
``protocol``, ``tag``, ``entity`` and ``blank`` reach no dictionary and take no position.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from parity.search.english_pg18 import EnglishStemmer as EnglishStemmerPG18
from parity.search.parser import TOKEN_ALIAS, plain_runs, plain_type, tokenize
from parity.search.stopwords import ENGLISH_STOP_WORDS
from parity.search.vendor.snowball import EnglishStemmer  # Snowball 2.2, as PostgreSQL 15, 16 and 17 ship

STEM_TYPES = frozenset({"asciiword", "word", "asciihword", "hword", "hword_asciipart", "hword_part"})
SIMPLE_TYPES = frozenset(
    {
        "numword", "numhword", "hword_numpart", "email", "url", "host", "url_path", "file",
        "version", "int", "uint", "float", "sfloat",
    }
)  # fmt: skip
MAXSTRLEN = 2047  # bytes; longer words are skipped with a NOTICE and take no position
SNOWBALL_MAX_BYTES = 1000  # dsnowball_lexize returns longer words (bytes as parsed) lower-cased, unstemmed
MAXENTRYPOS = 1 << 14  # positions are clamped to MAXENTRYPOS - 1
MAXNUMPOS = 256  # a lexeme keeps at most MAXNUMPOS - 1 positions (MAXNUMPOS across a ||)

_STEMMERS: dict[str, Any] = {
    "2.2.0": EnglishStemmer(),  # type: ignore[no-untyped-call]
    "2025-snapshot": EnglishStemmerPG18(),  # type: ignore[no-untyped-call]
}
_STEMMER: Any = _STEMMERS["2.2.0"]
_snowball = "2.2.0"
# A Snowball stemmer keeps the word and its cursors on itself: two threads stemming at once (parity
# serve's worker threads parsing documents and queries) corrupt each other's word, and the wrong stem
# would stay in both caches. One word at a time; only memo misses take the lock.
_STEM_LOCK = threading.Lock()

#: plain-prose run -> its lexeme, "" for a stop word (a position, no lexeme): the whole english
#: configuration's answer for one token of :func:`parser.plain_runs`, so a word seen before in this
#: process costs one dict look-up instead of typing, lower-casing, the stop list and the stem memo.
#: Short runs only (never near MAXSTRLEN or SNOWBALL_MAX_BYTES); emptied when full and when the
#: stemmer changes. Plain dict operations, safe between threads.
_RUN_LEXEMES: dict[str, str] = {}
_RUN_LEXEMES_SIZE = 65536
_RUN_LEXEMES_MAX_LENGTH = 100


def use_snowball(release: str) -> bool:
    """Stem as the given Snowball release does (``parity.pg_release.SNOWBALL_BY_MAJOR``); True if it changed.

    One release per process (the one its config names); switching forgets every memoised stem.
    """
    global _STEMMER, _snowball
    if release == _snowball:
        return False
    _STEMMER = _STEMMERS[release]
    _snowball = release
    stem.cache_clear()
    _RUN_LEXEMES.clear()
    return True


#: lexeme -> sorted positions (1-based, as PostgreSQL prints them)
TsVector = dict[str, list[int]]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The english_stem dictionary's answer for a lower-cased word that is not a stop word."""
    with _STEM_LOCK:
        return str(_STEMMER.stemWord(word))


def lower(text: str) -> str:
    """PostgreSQL's lowerstr: towlower per character (simple case mapping, never lengthening)."""
    if text.isascii():
        return text.lower()
    out = []
    for c in text:
        lc = c.lower()  # per character, so no final-sigma context rule
        if len(lc) != 1:  # full mapping lengthens only U+0130; towlower uses the simple one
            lc = "i" if c == "\u0130" else c
        out.append(lc)
    return "".join(out)


def lexize(token_type: str, token: str) -> list[str] | None:
    """Lexemes for one token: None when no dictionary takes it (no position), [] for a stop word."""
    if token_type in STEM_TYPES:
        lowered = lower(token)
        if len(token) > SNOWBALL_MAX_BYTES // 4 and len(token.encode()) > SNOWBALL_MAX_BYTES:
            return [lowered]  # dict_snowball.c: "surely not words in any human language", lower-cased only
        if lowered in ENGLISH_STOP_WORDS:
            return []
        return [stem(lowered)]
    if token_type in SIMPLE_TYPES:
        return [lower(token)]
    return None


def parse_words(text: str, start: int = 0) -> tuple[list[tuple[str, int]], int]:
    """(lexeme, position) pairs for ``text`` with positions after ``start``, and the last position used."""
    runs = plain_runs(text)
    if runs is not None:
        return _plain_words(runs, start)
    pos = start
    words: list[tuple[str, int]] = []
    for token_type, token in tokenize(text, shortcut=False):
        if len(token) > MAXSTRLEN // 4 and len(token.encode()) >= MAXSTRLEN:
            continue
        lexemes = lexize(token_type, token)
        if lexemes is None:
            continue
        pos += 1
        for lexeme in lexemes:
            words.append((lexeme, pos))
    return words, pos


def _plain_words(runs: list[str], start: int) -> tuple[list[tuple[str, int]], int]:
    """:func:`parse_words` for the runs of plain prose (each one token of a stemmed or simple type)."""
    memo = _RUN_LEXEMES
    pos = start
    words: list[tuple[str, int]] = []
    for run in runs:
        lexeme = memo.get(run)
        if lexeme is None:
            if len(run) > MAXSTRLEN // 4 and len(run.encode()) >= MAXSTRLEN:
                continue
            lexemes = lexize(TOKEN_ALIAS[plain_type(run)], run)
            assert lexemes is not None  # every plain-prose type has a dictionary
            lexeme = lexemes[0] if lexemes else ""
            if len(run) <= _RUN_LEXEMES_MAX_LENGTH:
                if len(memo) >= _RUN_LEXEMES_SIZE:
                    memo.clear()
                memo[run] = lexeme
        pos += 1
        if lexeme:
            words.append((lexeme, pos))
    return words, pos


def vector_of(*columns: list[tuple[str, int]]) -> TsVector:
    """``to_tsvector(c1) || to_tsvector(c2) || ...`` from each column's (lexeme, position) pairs, in one pass.

    tsvector_concat shifts the right operand's positions by the left one's highest position; as each
    column's pairs come in ascending position order, so does the whole stream once shifted, and the
    highest position kept so far is the last one kept. Positions are clamped at MAXENTRYPOS - 1 (an
    equal one is kept once). A lexeme keeps its first MAXNUMPOS - 1 positions of one column
    (to_tsvector's cap), but a join fills it up to MAXNUMPOS (add_pos in tsvector_op.c): one more
    for a lexeme that is in an earlier column, whose first position is at most the column's shift.
    """
    vector: TsVector = {}
    limit = MAXENTRYPOS - 1
    top = 0
    for words in columns:
        shift = top
        for lexeme, pos in words:
            pos += shift
            clamped = pos if pos < limit else limit
            positions = vector.get(lexeme)
            if positions is None:
                vector[lexeme] = [clamped]
                top = clamped
            elif positions[-1] != clamped and (
                len(positions) < MAXNUMPOS - 1 or (len(positions) == MAXNUMPOS - 1 and positions[0] <= shift)
            ):
                positions.append(clamped)
                top = clamped
    return vector


def to_tsvector(text: str) -> TsVector:
    """``to_tsvector('english', text)``."""
    words, _ = parse_words(text)
    return vector_of(words)


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    return len(key.encode()), key.encode()


def _json_strings(value: Any, out: list[str]) -> list[str]:
    """String values of a JSON document in jsonb's storage order (keys by length, then bytes), onto ``out``.

    Exact dicts and lists are tested first: deserialised items and loaded JSON are made of them.
    """
    if isinstance(value, str):
        out.append(value)
    elif type(value) is dict or isinstance(value, Mapping):
        for key in sorted(value, key=_jsonb_key_order):
            _json_strings(value[key], out)
    elif type(value) is list or (isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))):
        for item in value:
            _json_strings(item, out)
    return out


def json_words(value: Any) -> list[tuple[str, int]]:
    """(lexeme, position) pairs of a JSON document: string values only, each parsed on its own, a
    position skipped between two that gave words (to_tsvector('english', jsonb))."""
    words: list[tuple[str, int]] = []
    pos = 0
    for text in _json_strings(value, []):
        before = len(words)
        found, pos = parse_words(text, pos)
        words.extend(found)
        if len(words) > before:
            pos += 1
    return words


def json_to_tsvector(value: Any) -> TsVector:
    """``to_tsvector('english', jsonb)``."""
    return vector_of(json_words(value))


def format_tsvector(vector: TsVector) -> str:
    """The text form PostgreSQL prints: lexemes in byte order, quoted, with positions."""
    parts = []
    for lexeme in sorted(vector, key=lambda s: s.encode()):
        quoted = "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'"
        positions = vector[lexeme]
        parts.append(quoted + (":" + ",".join(map(str, positions)) if positions else ""))
    return " ".join(parts)
