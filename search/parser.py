"""A port of PostgreSQL's default text-search parser (``wparser_def.c``) for to_tsvector.

It yields ``(token_type, text)`` pairs in document order, the way ``ts_debug`` lists them:
words (``asciiword``, ``word``, ``numword``), hyphenated words whole and in parts, emails,
URLs (``protocol`` then ``url``, ``host``, ``url_path``), hosts, file paths, versions and
numbers (``int``, ``uint``, ``float``, ``sfloat``). Tags and entities are recognised and
dropped; blanks are never yielded. Apostrophes and underscores split words.

This is a scanner with the same token classes and priorities as the C state machine, checked
against a real PostgreSQL in tests/search; docs/search.md lists the known differences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_L = r"[^\W\d_]"  # a letter (any script)
_AN = r"[^\W_]"  # a letter or a digit

_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->|<[?!][^<>]*>", re.S)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
_HOSTPART = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_HOST = rf"(?:{_HOSTPART}\.)+[A-Za-z0-9_-]*[A-Za-z_][A-Za-z0-9_-]*"
_PATHCH = r"[A-Za-z0-9_.\-/~%+?=&;:@!$'()*,]"
_PROTOCOL = re.compile(r"(?:https?|ftp)://", re.I)
_URLREST = re.compile(rf"(?P<host>{_HOST})(?::[0-9]+)?(?P<path>/[A-Za-z0-9_.\-/~%+?=&]*)?")
_EMAIL = re.compile(rf"[A-Za-z0-9](?:[A-Za-z0-9_.+-]*[A-Za-z0-9])?@(?:{_HOST})")
_HOSTPATH = re.compile(rf"(?P<host>{_HOST})(?P<path>/[A-Za-z0-9_.\-/~%+?=&]*)?")
_FILE = re.compile(r"(?:\.{0,2}/[A-Za-z0-9_.\-~]+)+/?|(?:[A-Za-z0-9_.\-~]+/)+[A-Za-z0-9_.\-~]+")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")
_SFLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")
_INT = re.compile(r"-[0-9]+")
_WORD = re.compile(rf"{_AN}+")
_HWORD = re.compile(rf"{_L}{_AN}*(?:-{_L}{_AN}*)+")
_NUMONLY = re.compile(r"[0-9]+")


def _word_type(text: str) -> str:
    if _NUMONLY.fullmatch(text):
        return "uint"
    if any(c.isdigit() for c in text):
        return "numword"
    return "asciiword" if text.isascii() else "word"


def _hword_tokens(text: str) -> list[tuple[str, str]]:
    parts = text.split("-")
    if any(any(c.isdigit() for c in p) for p in parts):
        whole = "numhword"
    elif text.isascii():
        whole = "asciihword"
    else:
        whole = "hword"
    out = [(whole, text)]
    for part in parts:
        if any(c.isdigit() for c in part):
            out.append(("hword_numpart", part))
        elif part.isascii():
            out.append(("hword_asciipart", part))
        else:
            out.append(("hword_part", part))
    return out


def tokenize(text: str) -> Iterator[tuple[str, str]]:
    """Yield (token_type, token) for every non-blank token of ``text``, as ts_debug lists them."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "<":
            m = _TAG.match(text, i)
            if m:
                i = m.end()
                continue
        elif c == "&":
            m = _ENTITY.match(text, i)
            if m:
                i = m.end()
                continue
        if not (c.isalnum() or c in "-/.") or c == "_":
            i += 1
            continue
        prev_ok = i == 0 or not (text[i - 1].isalnum())
        m = _PROTOCOL.match(text, i) if prev_ok else None
        if m:
            rest = _URLREST.match(text, m.end())
            if rest:
                if rest.group("path"):
                    yield ("url", rest.group(0))
                    yield ("host", rest.group("host"))
                    yield ("url_path", rest.group("path"))
                else:
                    yield ("host", rest.group(0))
                i = rest.end()
                continue
        m = _EMAIL.match(text, i)
        if m and prev_ok:
            yield ("email", m.group(0))
            i = m.end()
            continue
        m = _HOSTPATH.match(text, i)
        if m and prev_ok and not _VERSION.fullmatch(m.group("host")) and not _FLOAT.fullmatch(m.group("host")):
            if m.group("path") and len(m.group("path")) > 1:
                yield ("url", m.group(0))
                yield ("host", m.group("host"))
                yield ("url_path", m.group("path"))
            else:
                yield ("host", m.group("host"))
                i = m.start("host") + len(m.group("host"))
                continue
            i = m.end()
            continue
        m = _FILE.match(text, i)
        if m and prev_ok and ("/" in m.group(0)) and m.group(0) != "/":
            yield ("file", m.group(0))
            i = m.end()
            continue
        for pattern, kind in ((_VERSION, "version"), (_SFLOAT, "sfloat"), (_FLOAT, "float")):
            m = pattern.match(text, i)
            if m and prev_ok and not (m.end() < n and text[m.end()].isalpha()):
                yield (kind, m.group(0))
                i = m.end()
                break
        else:
            m = _INT.match(text, i)
            if m and not (m.end() < n and text[m.end()].isalpha()):
                yield ("int", m.group(0))
                i = m.end()
                continue
            m = _HWORD.match(text, i)
            if m and c.isalnum():
                yield from _hword_tokens(m.group(0))
                i = m.end()
                continue
            m = _WORD.match(text, i)
            if m:
                yield (_word_type(m.group(0)), m.group(0))
                i = m.end()
                continue
            i += 1
