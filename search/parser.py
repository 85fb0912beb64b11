"""A port of PostgreSQL's default text-search parser (src/backend/tsearch/wparser_def.c).

The C parser is a table-driven state machine with a stack of saved positions: each state has an
ordered list of (character test, flags, next state, token type, special handler) rows, and the
first row whose test accepts the current character decides. This module keeps the same tables,
row order and flag semantics (NEXT, BINGO, POP, PUSH, RERUN, CLEAR, MERGE, CLRALL), including the
recursive host and URL-path look-aheads, so ``tokenize`` yields what ``ts_debug`` lists.

Character classes follow a UTF-8 database with a non-C locale (``C.UTF-8``, ``en_US.UTF-8``):
``isw*`` classification for non-ASCII characters, ASCII-only digits, and "special" characters
(zero display width, or spacing combining marks) that continue but never start a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from parity.search.wparser_tables import ACTION_TABLES, STATE_NAMES_TEXT, STRANGE_LETTERS_HEX

# token types (ids as in wparser_def.c)
ASCIIWORD, WORD_T, NUMWORD, EMAIL, URL_T, HOST, SCIENTIFIC, VERSIONNUMBER = 1, 2, 3, 4, 5, 6, 7, 8
NUMPARTHWORD, PARTHWORD, ASCIIPARTHWORD, SPACE, TAG_T, PROTOCOL, NUMHWORD = 9, 10, 11, 12, 13, 14, 15
ASCIIHWORD, HWORD, URLPATH, FILEPATH, DECIMAL_T, SIGNEDINT, UNSIGNEDINT, XMLENTITY = 16, 17, 18, 19, 20, 21, 22, 23

TOKEN_ALIAS: Final = (
    "", "asciiword", "word", "numword", "email", "url", "host", "sfloat", "version", "hword_numpart",
    "hword_part", "hword_asciipart", "blank", "tag", "protocol", "numhword", "asciihword", "hword",
    "url_path", "file", "float", "int", "uint", "entity",
)  # fmt: skip

A_NEXT, A_BINGO, A_POP, A_PUSH, A_RERUN, A_CLEAR, A_MERGE, A_CLRALL = 0, 1, 2, 4, 8, 0x10, 0x20, 0x40

_STRANGE_LETTERS: Final = frozenset(int(h, 16) for h in STRANGE_LETTERS_HEX.split())
_C_SPACE: Final = frozenset(" \t\n\v\f\r")
_URL_REJECT: Final = frozenset('"<>\\^`{|}')


def _alpha(c: str) -> bool:
    if c < "\x80":
        return c.isalpha()
    if c.isalpha():
        return True
    return unicodedata.category(c) == "Nd"  # glibc files other scripts' digits under alpha


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


#: iswspace's non-ASCII members in glibc's UTF-8 locales (no-break spaces excluded)
WIDE_SPACE: Final = frozenset(
    "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u2028\u2029\u205f\u3000"
)


def _space(c: str) -> bool:
    """p_isspace (iswspace on the parser's wide-character copy of the text)."""
    if c < "\x80":
        return c in _C_SPACE
    return c in WIDE_SPACE


def _zero_width(c: str) -> bool:
    return unicodedata.category(c) in ("Mn", "Me", "Cf") and c != "\u00ad"


class _Pos:
    """One saved parser position (TParserPosition): where, the token length so far, which state."""

    __slots__ = ("charlen", "lentoken", "pos", "prev", "pushed_at", "state")

    pos: int
    charlen: int
    lentoken: int
    state: int

    def __init__(self, prev: _Pos | None) -> None:
        if prev is not None:
            self.pos = prev.pos
            self.charlen = prev.charlen
            self.lentoken = prev.lentoken
            self.state = prev.state
        else:
            self.pos = 0
            self.charlen = 0
            self.lentoken = 0
            self.state = 0
        self.prev = prev
        self.pushed_at: int | None = None


class _Parser:
    __slots__ = ("c", "ignore", "lentoken", "n", "state", "text", "token_start", "type", "wanthost")

    def __init__(self, text: str, start: int = 0) -> None:
        self.text = text
        self.n = len(text)
        self.state = _Pos(None)
        self.state.pos = start
        self.state.state = S_Base
        self.ignore = False
        self.wanthost = False
        self.c = ""
        self.token_start = start
        self.lentoken = 0
        self.type = 0

    # -- character tests -------------------------------------------------------------------
    def cur(self) -> str:
        p = self.state.pos
        return self.text[p] if p < self.n else "\0"

    def is_eof(self) -> bool:
        return self.state.pos == self.n or self.state.charlen == 0

    def iseq_c(self) -> bool:
        return self.state.charlen == 1 and self.cur() == self.c

    def isalpha(self) -> bool:
        return self.state.charlen == 1 and _alpha(self.cur())

    def isalnum(self) -> bool:
        c = self.cur()
        return self.state.charlen == 1 and (_alpha(c) or _digit(c))

    def isnotalnum(self) -> bool:
        return not self.isalnum()

    def isdigit(self) -> bool:
        return self.state.charlen == 1 and _digit(self.cur())

    def isxdigit(self) -> bool:
        c = self.cur()
        return self.state.charlen == 1 and (_digit(c) or "a" <= c <= "f" or "A" <= c <= "F")

    def isspace(self) -> bool:
        return self.state.charlen == 1 and _space(self.cur())

    def isasclet(self) -> bool:
        c = self.cur()
        return self.state.charlen == 1 and c < "\x80" and c.isalpha()

    def isurlchar(self) -> bool:
        c = self.cur()
        if self.state.charlen != 1 or c >= "\x7f" or c <= " ":
            return False
        return c not in _URL_REJECT

    def isspecial(self) -> bool:
        if self.state.charlen == 0:
            return True  # pg_dsplen of the terminating NUL is 0
        c = self.cur()
        return bool(c >= "\x80" and (_zero_width(c) or ord(c) in _STRANGE_LETTERS))

    def isignore(self) -> bool:
        return bool(self.ignore)

    def isstophost(self) -> bool:
        if self.wanthost:
            self.wanthost = False
            return True
        return False

    def ishost(self) -> bool:
        tmp = _Parser(self.text, self.state.pos)
        tmp.wanthost = True
        return self._absorb(tmp, HOST)

    def isurlpath(self) -> bool:
        tmp = _Parser(self.text, self.state.pos)
        tmp.state = _Pos(tmp.state)
        tmp.state.state = S_InURLPathFirst
        return self._absorb(tmp, URLPATH)

    def _absorb(self, tmp: _Parser, wanted: int) -> bool:
        """Let the sub-parser ``tmp`` (started here) read one token; when it is a ``wanted`` one, this
        token takes it in (p_ishost's and p_isURLPath's common tail in wparser_def.c)."""
        if tmp.get() and tmp.type == wanted:
            self.state.pos += tmp.lentoken
            self.state.lentoken += tmp.lentoken
            self.state.charlen = tmp.state.charlen
            return True
        return False

    # -- special handlers ------------------------------------------------------------------
    def special_tags(self) -> None:
        length = self.state.lentoken
        token = self.text[self.token_start : self.token_start + length].lower()
        if (length == 8 and token == "</script") or (length == 7 and token == "</style"):
            self.ignore = False
        elif (length == 7 and token == "<script") or (length == 6 and token == "<style"):
            self.ignore = True

    def special_furl(self) -> None:
        self.wanthost = True
        self.state.pos -= self.state.lentoken

    def special_hyphen(self) -> None:
        self.state.pos -= self.state.lentoken

    def special_ver_version(self) -> None:
        self.state.pos -= self.state.lentoken
        self.state.lentoken = 0

    # -- the driver (TParserGet) -----------------------------------------------------------
    def get(self) -> bool:
        st = self.state
        if st.pos >= self.n:
            return False
        self.token_start = st.pos
        st.pushed_at = None
        item: _Item | None = None
        text = self.text
        n = self.n
        while self.state.pos <= n:
            st = self.state
            if st.pushed_at is not None:
                st.charlen = 0 if st.pos == n else 1
                idx = st.pushed_at + 1
                st.pushed_at = None
            else:
                run = _RUNS.get(st.state)
                if run is not None and st.pos < n:
                    # A run of characters that the state's row "stay and move on" takes one by one
                    # in C: take the whole run at once (same rows, same result, fewer steps).
                    start = st.pos
                    end = start
                    if st.state == S_InSpace and self.ignore:
                        while end < n and text[end] != "<":
                            end += 1
                    else:
                        while end < n and run(text[end]):
                            end += 1
                    if end > start:
                        st.pos = end
                        st.lentoken += end - start
                st.charlen = 0 if st.pos == n else 1
                idx = 0
            actions = ACTIONS[st.state]
            if st.charlen:
                # The first matching row depends only on the character while every row tried
                # tests the character alone: remember it per (state, first row, character).
                memo = _MEMO[st.state][idx]
                c = text[st.pos]
                hit = memo.get(c)
                if hit is not None:
                    idx = hit
                    item = actions[idx]
                else:
                    pure = True
                    while True:
                        item = actions[idx]
                        if item.test is None:
                            break
                        pure = pure and item.pure
                        self.c = item.c
                        if item.test(self):
                            break
                        idx += 1
                    if pure and len(memo) < _MEMO_LIMIT:
                        memo[c] = idx
            else:
                while True:
                    item = actions[idx]
                    if item.test is None:
                        break
                    self.c = item.c
                    if item.test(self):
                        break
                    idx += 1
            if item.special is not None:
                item.special(self)
            st = self.state
            flags = item.flags
            if flags & A_BINGO:
                self.lentoken = st.lentoken
                st.lentoken = 0
                self.type = item.type
            if flags & A_POP:
                assert st.prev is not None
                self.state = st.prev
            elif flags & A_PUSH:
                st.pushed_at = idx
                self.state = _Pos(st)
            elif flags & A_CLEAR:
                assert st.prev is not None
                st.prev = st.prev.prev
            elif flags & A_CLRALL:
                st.prev = None
            elif flags & A_MERGE:
                assert st.prev is not None
                top = st
                self.state = st.prev
                self.state.pos = top.pos
                self.state.charlen = top.charlen
                self.state.lentoken = top.lentoken
            st = self.state
            if item.tostate != S_Null:
                st.state = item.tostate
            if (flags & A_BINGO) or (st.pos >= self.n and not (flags & A_RERUN)):
                break
            if flags & (A_RERUN | A_POP):
                continue
            if st.charlen:
                st.pos += 1
                st.lentoken += 1
        return item is not None and bool(item.flags & A_BINGO)


@dataclass(frozen=True, slots=True)
class _Item:
    test: Callable[[_Parser], bool] | None
    c: str
    flags: int
    tostate: int
    type: int
    special: Callable[[_Parser], None] | None
    pure: bool  # the test looks at the current character only (no parser flags, no look-ahead)


_STATE_NAMES = STATE_NAMES_TEXT.split()
_S = {name: i for i, name in enumerate(_STATE_NAMES)}
S_Base = _S["Base"]
S_Null = _S["Null"]
S_InURLPathFirst = _S["InURLPathFirst"]

_TESTS: dict[str, Callable[[_Parser], bool] | None] = {
    "EOF": _Parser.is_eof, "eq": _Parser.iseq_c, "alpha": _Parser.isalpha, "alnum": _Parser.isalnum,
    "notalnum": _Parser.isnotalnum, "digit": _Parser.isdigit, "xdigit": _Parser.isxdigit,
    "space": _Parser.isspace, "asclet": _Parser.isasclet, "urlchar": _Parser.isurlchar,
    "special": _Parser.isspecial, "ignore": _Parser.isignore, "stophost": _Parser.isstophost,
    "host": _Parser.ishost, "URLPath": _Parser.isurlpath, "-": None,
}  # fmt: skip
_SPECIALS: dict[str, Callable[[_Parser], None] | None] = {
    "": None, "Tags": _Parser.special_tags, "FURL": _Parser.special_furl,
    "Hyphen": _Parser.special_hyphen, "VerVersion": _Parser.special_ver_version,
}  # fmt: skip
_FLAGS = {"NEXT": A_NEXT, "BINGO": A_BINGO, "POP": A_POP, "PUSH": A_PUSH, "RERUN": A_RERUN,
          "CLEAR": A_CLEAR, "MERGE": A_MERGE, "CLRALL": A_CLRALL}  # fmt: skip
_TYPES = {"0": 0, "ASCIIWORD": ASCIIWORD, "WORD": WORD_T, "NUMWORD": NUMWORD, "EMAIL": EMAIL,
          "URL": URL_T, "HOST": HOST, "SCIENTIFIC": SCIENTIFIC, "VERSION": VERSIONNUMBER,
          "NUMPARTHWORD": NUMPARTHWORD, "PARTHWORD": PARTHWORD, "ASCIIPARTHWORD": ASCIIPARTHWORD,
          "SPACE": SPACE, "TAG": TAG_T, "PROTOCOL": PROTOCOL, "NUMHWORD": NUMHWORD,
          "ASCIIHWORD": ASCIIHWORD, "HWORD": HWORD, "URLPATH": URLPATH, "FILEPATH": FILEPATH,
          "DECIMAL": DECIMAL_T, "SIGNEDINT": SIGNEDINT, "UNSIGNEDINT": UNSIGNEDINT, "XMLENTITY": XMLENTITY}  # fmt: skip


def _build_tables() -> list[tuple[_Item, ...]]:
    tables: dict[str, list[_Item]] = {}
    for block in ACTION_TABLES.strip().split("\n\n"):
        name, *rows = block.strip().split("\n")
        items = []
        for row in rows:
            parts = row.split(" ")
            test_name, _, char = parts[0].partition("=")
            flags = 0
            for flag in parts[1].split("|"):
                flags |= _FLAGS[flag]
            special = _SPECIALS[parts[4] if len(parts) > 4 else ""]
            pure = test_name not in _IMPURE_TESTS
            items.append(_Item(_TESTS[test_name], char, flags, _S[parts[2]], _TYPES[parts[3]], special, pure))
        tables[name] = items
    missing = set(_STATE_NAMES[:-1]) - set(tables)
    assert not missing, missing
    return [tuple(tables[name]) for name in _STATE_NAMES[:-1]]


_IMPURE_TESTS: Final = frozenset({"ignore", "stophost", "host", "URLPath"})
ACTIONS: Final = _build_tables()
_MEMO_LIMIT: Final = 4096
_MEMO: Final[list[list[dict[str, int]]]] = [[{} for _ in rows] for rows in ACTIONS]
S_InSpace = _S["InSpace"]


def _ascii_letter(c: str) -> bool:
    return c < "\x80" and c.isalpha()


def _space_run(c: str) -> bool:
    # InSpace stays on a character that is not alnum and not one of < - + & / (ignore mode aside)
    return c not in "<-+&/" and not (_alpha(c) or _digit(c))


#: states whose row after EOF is "this class: NEXT, same state", and that class
_RUNS: Final[dict[int, Callable[[str], bool]]] = {
    _S["InAsciiWord"]: _ascii_letter,
    _S["InWord"]: _alpha,
    _S["InUnsignedInt"]: _digit,
    S_InSpace: _space_run,
}


# -- a shortcut for plain prose ------------------------------------------------------------------
# Text made only of letters, ASCII digits, white space and , ; : ! ? ' " ( ) -- with a period only
# before white space or the end, and no digit-e-digit -- can only produce the simplest tokens: the
# state machine then yields each maximal run of letters/digits as asciiword, word, numword or uint
# (every other character is a blank). tests/search checks the shortcut against the machine.
# A text qualifies when nothing in it is outside that alphabet: one C-speed search for a character
# that is not a letter, digit, white space or one of , ; : ! ? ' " ( ) . -- or an underscore, or a
# period followed by something other than white space or the end.
_NOT_PLAIN = re.compile(r"[^\w \t\n\r\f\v,;:!?'\"().]|_|\.(?![ \t\n\r\f\v]|\Z)")
_SCIENTIFIC = re.compile(r"[0-9][eE][0-9]")
_RUN = re.compile(r"[^\W_]+")
_ASCII_DIGITS = re.compile(r"[0-9]+\Z")


def plain_runs(text: str) -> list[str] | None:
    """The alphanumeric runs of ``text`` when it qualifies for the shortcut (each one token), else None."""
    if _NOT_PLAIN.search(text) or _SCIENTIFIC.search(text):
        return None
    if not text.isascii():
        for c in set(text):
            if c >= "\x80" and not c.isalpha():
                return None  # non-ASCII digits, numerics and marks take the state machine
    return _RUN.findall(text)


def plain_type(run: str) -> int:
    """The token type of one run of :func:`plain_runs`."""
    if run.isascii():
        if run.isalpha():
            return ASCIIWORD
        return UNSIGNEDINT if _ASCII_DIGITS.match(run) else NUMWORD
    return NUMWORD if any("0" <= c <= "9" for c in run) else WORD_T


def tokenize_typed(text: str, *, shortcut: bool = True) -> Iterator[tuple[int, str]]:
    """Every token of ``text`` as (type id, token text); blanks are yielded only by the machine."""
    runs = plain_runs(text) if shortcut else None
    if runs is not None:
        for run in runs:
            yield plain_type(run), run
        return
    parser = _Parser(text)
    while parser.get():
        yield parser.type, text[parser.token_start : parser.token_start + parser.lentoken]


def tokenize(text: str, *, shortcut: bool = True) -> Iterator[tuple[str, str]]:
    """(alias, token) for every token that is not a blank, as ``ts_debug`` lists them."""
    for type_id, token in tokenize_typed(text, shortcut=shortcut):
        if type_id != SPACE:
            yield TOKEN_ALIAS[type_id], token
